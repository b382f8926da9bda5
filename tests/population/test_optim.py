import pytest
import torch

from hyperrep.population._optim import SMALLEST_NORMAL, PopulationOptimizer, flush_subnormal_
from hyperrep.population._reference import _flush
from hyperrep.zoo import ZooConfig, create_zoo_config


def test_flush_zeroes_exactly_the_subnormal_entries():
    t = torch.tensor([1e-39, -1e-40, 1.2e-38, -2e-38, 0.0, 1.0, -3.5, 1e-45])
    flush_subnormal_(t)
    assert t.tolist() == pytest.approx(
        [0.0, 0.0, 1.2e-38, -2e-38, 0.0, 1.0, -3.5, 0.0], rel=1e-6, abs=0
    )
    assert pytest.approx(1.1754944e-38) == SMALLEST_NORMAL


@pytest.mark.parametrize("name", ["adam", "sgd"])
@pytest.mark.parametrize("flush", [True, False])
def test_population_optimizer_flushes_as_torch_optim_plus_flush(name, flush):
    """Weights and moments of units without gradient decay into subnormals; both
    trainers zero them after each step (or, with flush off, both keep them)."""
    gen = torch.Generator().manual_seed(0)
    start = torch.randn(3, 50, generator=gen)
    start[:, :20] = 1e-39  # subnormal weights of units without gradient
    grads = [torch.randn(3, 50, generator=gen) for _ in range(30)]
    for g in grads:
        g[:, :20] = 0.0
    lr, wd = torch.tensor([1e-3, 3e-3, 1e-2]), torch.tensor([0.1, 0.1, 0.5])
    stacked = start.clone()
    population = PopulationOptimizer(name, [stacked], lr, wd, flush_subnormals=flush)
    for g in grads:
        population.step([g])
    for m in range(3):
        p = torch.nn.Parameter(start[m].clone())
        if name == "adam":
            opt = torch.optim.Adam([p], lr=float(lr[m]), weight_decay=float(wd[m]))
        else:
            opt = torch.optim.SGD([p], lr=float(lr[m]), momentum=0.9, weight_decay=float(wd[m]))
        for g in grads:
            p.grad = g[m].clone()
            opt.step()
            if flush:
                _flush(opt)
        torch.testing.assert_close(stacked[m], p.detach(), rtol=1e-5, atol=0)
    assert bool((stacked[:, 20:] != 0).all())
    if name == "sgd":  # flushed, a weight without gradient stays at 0; kept, subnormal
        assert bool((stacked[:, :20] == 0).all()) is flush
    # (Adam with v = 0 amplifies a tiny weight, lr * m / eps: it leaves the subnormal
    # range in one step either way; both trainers agree, which is what is checked above)


def test_zoos_of_format_4_and_earlier_read_as_trained_without_the_flush():
    new = create_zoo_config("mnist-hyp-1-fix-seed")
    assert new.flush_subnormals
    old = new.to_dict()
    del old["flush_subnormals"]
    assert ZooConfig.from_dict(old).flush_subnormals is False
