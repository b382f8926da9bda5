"""The behavioural term: KL from the originals' outputs to the decoded networks' on probe
inputs, checked against a plain module forward, with its gradient."""

import numpy as np
import pytest
import torch
from torch.func import functional_call

from hyperrep._errors import HyperrepError
from hyperrep.arch import create_architecture, to_module, vector_to_state_dict
from hyperrep.population import init_params
from hyperrep.representation import TrainConfig
from hyperrep.representation._behaviour import Behaviour, probe_inputs
from hyperrep.weights import random_permutations


def _vectors(arch, n, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.stack(
        [
            torch.cat([t.reshape(-1) for t in init_params(arch, "kaiming_uniform", g)])
            for _ in range(n)
        ]
    )


def _plain_kl(arch, activations, original, decoded, inputs):
    """Mean over models of mean over inputs of KL(original || decoded), one nn.Module per
    model (differentiable in `decoded`)."""
    total = 0.0
    for act, w0, w1 in zip(activations, original, decoded, strict=True):
        module = to_module(arch, act).eval()
        p = torch.log_softmax(
            functional_call(module, vector_to_state_dict(arch, w0), (inputs,)), -1
        )
        q = torch.log_softmax(
            functional_call(module, vector_to_state_dict(arch, w1), (inputs,)), -1
        )
        total = total + torch.nn.functional.kl_div(q, p, log_target=True, reduction="batchmean")
    return total / len(activations)


@pytest.mark.parametrize("name", ["tetris-mlp", "mnist-cnn"])
def test_behaviour_loss_and_gradient_match_a_plain_module(name):
    arch = create_architecture(name)
    torch.manual_seed(0)
    inputs = torch.randn(12, *arch.input_shape)
    original = _vectors(arch, 5, seed=1)
    activations = np.array(["tanh", "relu", "tanh", "gelu", "sigmoid"])
    behaviour = Behaviour.of(arch, original, activations, inputs)
    decoded = (original + 0.3 * torch.randn_like(original)).requires_grad_()
    rows = torch.tensor([3, 0, 4, 1, 2])  # decoded row i stands for checkpoint rows[i]
    ours = behaviour.loss(decoded, rows)
    (grad,) = torch.autograd.grad(ours, decoded)

    reference_w = decoded.detach().clone().requires_grad_()
    expected = _plain_kl(arch, activations[rows.numpy()], original[rows], reference_w, inputs)
    (expected_grad,) = torch.autograd.grad(expected, reference_w)
    assert float(ours.detach()) > 0
    assert torch.allclose(ours, expected, rtol=1e-4, atol=1e-6)
    assert torch.allclose(grad, expected_grad, rtol=1e-3, atol=1e-6)


def test_behaviour_is_zero_for_the_original_and_any_permutation_of_it():
    arch = create_architecture("tetris-mlp")
    inputs = torch.randn(20, *arch.input_shape, generator=torch.Generator().manual_seed(3))
    original = _vectors(arch, 4, seed=2)
    behaviour = Behaviour.of(arch, original, np.array(["tanh"] * 4), inputs)
    rows = torch.arange(4)
    assert float(behaviour.loss(original, rows)) == pytest.approx(0.0, abs=1e-6)
    from hyperrep.weights import permute

    permuted = permute(
        arch, original, random_permutations(arch, 4, torch.Generator().manual_seed(5))
    )
    assert not torch.equal(permuted, original)
    assert float(behaviour.loss(permuted, rows)) == pytest.approx(0.0, abs=1e-5)


def test_probe_inputs_are_seeded_and_checked():
    x = torch.arange(50.0).reshape(25, 2)
    assert torch.equal(probe_inputs(x, 7, seed=1), probe_inputs(x, 7, seed=1))
    assert not torch.equal(probe_inputs(x, 7, seed=1), probe_inputs(x, 7, seed=2))
    assert len(set(probe_inputs(x, 25, seed=0)[:, 0].tolist())) == 25  # without replacement
    with pytest.raises(HyperrepError, match="behaviour inputs must be between 1 and the 25"):
        probe_inputs(x, 26, seed=0)


def test_behaviour_settings_are_checked():
    with pytest.raises(HyperrepError, match="behaviour weight must be >= 0"):
        TrainConfig(behaviour_weight=-1.0)
    with pytest.raises(HyperrepError, match="needs a decoder"):
        TrainConfig(variant="ec", behaviour_weight=1.0)
    with pytest.raises(HyperrepError, match="behaviour inputs must be >= 1"):
        TrainConfig(behaviour_weight=1.0, behaviour_inputs=0)


def test_a_run_with_the_behavioural_term_records_it(tiny_zoo, tiny_run_config, tmp_path):
    from dataclasses import replace

    from hyperrep.representation import load_run, train_representation

    config = tiny_run_config("ecd")
    config = replace(config, train=replace(config.train, behaviour_weight=2.0, behaviour_inputs=16))
    history = train_representation(tiny_zoo, config, tmp_path / "run", progress=False)
    assert np.isfinite(history[-1]["train_behaviour"]) and history[-1]["train_behaviour"] > 0
    assert np.isfinite(history[-1]["val_behaviour"])
    # the validation loss is the objective's: its parts add up with the weight
    gamma = config.train.contrastive_weight
    parts = (
        gamma * history[-1]["val_contrastive"]
        + (1 - gamma) * history[-1]["val_reconstruction"]
        + 2.0 * history[-1]["val_behaviour"]
    )
    assert history[-1]["val_loss"] == pytest.approx(parts, rel=1e-5)
    assert load_run(tmp_path / "run").config.train.behaviour_weight == 2.0
    plain = train_representation(
        tiny_zoo, tiny_run_config("ecd"), tmp_path / "plain", progress=False
    )
    assert "train_behaviour" not in plain[-1]


def test_a_pool_draws_each_steps_inputs_and_matches_a_plain_module_on_them():
    arch = create_architecture("tetris-mlp")
    pool = torch.randn(30, *arch.input_shape, generator=torch.Generator().manual_seed(4))
    original = _vectors(arch, 3, seed=6)
    decoded = original + 0.3 * torch.randn(original.shape, generator=torch.Generator())
    activations = np.array(["tanh", "relu", "tanh"])
    behaviour = Behaviour.of(arch, original, activations, pool, per_step=8)
    rows = torch.tensor([2, 0, 1])
    # without a generator: the pool's first 8 inputs, as a fixed set of 8 would give
    fixed = Behaviour.of(arch, original, activations, pool[:8])
    assert torch.allclose(behaviour.loss(decoded, rows), fixed.loss(decoded, rows))
    # with one: the inputs its randperm picks, against the plain per-model loop
    g = torch.Generator().manual_seed(9)
    drawn = behaviour.loss(decoded, rows, generator=g)
    pick = torch.randperm(30, generator=torch.Generator().manual_seed(9))[:8]
    assert not torch.equal(pick.sort().values, torch.arange(8))
    expected = _plain_kl(arch, activations[rows.numpy()], original[rows], decoded, pool[pick])
    assert torch.allclose(drawn, expected, rtol=1e-4, atol=1e-6)
    # the next step draws other inputs
    assert not torch.allclose(behaviour.loss(decoded, rows, generator=g), drawn)
    with pytest.raises(HyperrepError, match="a step uses 1 to 30 inputs, got 31"):
        Behaviour.of(arch, original, activations, pool, per_step=31)


def test_a_behaviour_pool_smaller_than_the_inputs_is_refused():
    with pytest.raises(HyperrepError, match="behaviour pool must be 0 or at least the 64"):
        TrainConfig(behaviour_weight=1.0, behaviour_pool=10)
    assert TrainConfig(behaviour_weight=1.0, behaviour_pool=64).behaviour_pool == 64


def test_a_run_with_a_behaviour_pool_draws_other_training_inputs_and_is_seeded(
    tiny_zoo, tiny_run_config, tmp_path
):
    from dataclasses import replace

    from hyperrep.representation import train_representation

    config = tiny_run_config("ecd")
    fixed = replace(config, train=replace(config.train, behaviour_weight=2.0, behaviour_inputs=8))
    pooled = replace(fixed, train=replace(fixed.train, behaviour_pool=40))
    a = train_representation(tiny_zoo, fixed, tmp_path / "fixed", progress=False)
    b = train_representation(tiny_zoo, pooled, tmp_path / "pooled", progress=False)
    again = train_representation(tiny_zoo, pooled, tmp_path / "again", progress=False)
    assert a[-1]["train_behaviour"] != b[-1]["train_behaviour"]  # other inputs in training
    assert b == again  # seeded: the same draws
    assert np.isfinite(b[-1]["val_behaviour"]) and b[-1]["val_behaviour"] > 0
