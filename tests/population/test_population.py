"""A model trained inside a population equals the same model trained alone."""

import numpy as np
import pytest
import torch

import hyperrep.population._lanes as lanes
import hyperrep.population._trainer as population
from hyperrep.arch import create_architecture
from hyperrep.data import load_dataset, make_tetris
from hyperrep.population import ModelSpec, TrainData, train_population, train_single

EPOCHS = 2


def _specs(rows):
    return [ModelSpec(i, *row) for i, row in enumerate(rows)]


def _assert_population_equals_alone(arch, specs, data, batch_size):
    together = list(train_population(arch, specs, data, EPOCHS, batch_size))
    assert [r.epoch for r in together] == list(range(EPOCHS + 1))
    for j, spec in enumerate(specs):
        alone = list(train_single(arch, spec, data, EPOCHS, batch_size))
        for pop, ref in zip(together, alone, strict=True):
            # float32 rounding scales with the numbers summed: a model whose U(0, 1) init
            # gives a loss of 5e5 reaches weights of 1e3, and its small weights then differ
            # by ~1e-3 between two summation orders
            scale = float(np.abs(ref.weights[0]).max())
            np.testing.assert_allclose(
                pop.weights[j], ref.weights[0], rtol=1e-4, atol=1e-5 * (1 + scale)
            )
            np.testing.assert_array_equal(pop.test_acc[j], ref.test_acc[0])
            np.testing.assert_allclose(pop.train_loss[j], ref.train_loss[0], rtol=1e-4)
            np.testing.assert_array_equal(pop.train_acc[j], ref.train_acc[0])
    # training changed the weights: the comparison above is not between two inits
    assert np.abs(together[-1].weights - together[0].weights).max() > 1e-3


@pytest.fixture(scope="module")
def tetris():
    arch = create_architecture("tetris-mlp")
    return arch, TrainData.for_arch(arch, make_tetris(n_train=300, n_test=100), "cpu")


@pytest.fixture(scope="module")
def mnist(idx_data):
    arch = create_architecture("mnist-cnn")
    data = TrainData.for_arch(arch, load_dataset("mnist", data_dir=idx_data / "mnist"), "cpu")
    return arch, data.subset(192, 128)


@pytest.mark.parametrize(
    "rows",
    [
        # seed, init, optimizer, activation, lr, weight_decay, dropout
        [
            (1, "uniform", "adam", "tanh", 1e-2, 0.0, 0.0),
            (2, "xavier_normal", "adam", "tanh", 3e-3, 1e-3, 0.0),
            (3, "kaiming_uniform", "adam", "tanh", 1e-2, 0.0, 0.0),
        ],
        [
            (4, "normal", "sgd", "relu", 1e-1, 0.0, 0.0),
            (5, "kaiming_normal", "sgd", "relu", 3e-2, 1e-2, 0.0),
        ],
        [
            (6, "xavier_uniform", "adam", "sigmoid", 1e-2, 0.0, 0.3),
            (7, "uniform", "adam", "sigmoid", 3e-3, 1e-3, 0.0),
            (8, "normal", "adam", "sigmoid", 1e-2, 0.0, 0.5),
        ],
        [
            (9, "kaiming_uniform", "sgd", "gelu", 1e-1, 0.0, 0.5),
            (10, "xavier_normal", "sgd", "gelu", 3e-2, 1e-1, 0.3),
        ],
    ],
    ids=["adam-tanh", "sgd-relu", "adam-sigmoid-dropout", "sgd-gelu-dropout"],
)
def test_mlp_population_equals_alone(tetris, rows):
    arch, data = tetris
    _assert_population_equals_alone(arch, _specs(rows), data, batch_size=32)


@pytest.mark.parametrize(
    "rows",
    [
        [
            (1, "uniform", "adam", "tanh", 3e-3, 0.0, 0.0),
            (2, "normal", "adam", "tanh", 1e-3, 1e-3, 0.3),
        ],
        [
            (7, "kaiming_uniform", "sgd", "gelu", 3e-2, 0.0, 0.5),
            (8, "uniform", "sgd", "gelu", 1e-2, 0.1, 0.0),
        ],
        [
            (3, "kaiming_normal", "sgd", "relu", 3e-2, 0.0, 0.2),
            (4, "xavier_uniform", "sgd", "relu", 1e-2, 0.0, 0.0),
        ],
    ],
    ids=["adam-tanh-dropout", "sgd-gelu-dropout", "sgd-relu-dropout"],
)
@pytest.mark.parametrize("batch_size", [64, 40])  # 40: batches padded for the C kernels
def test_cnn_population_equals_alone(mnist, rows, batch_size):
    arch, data = mnist
    _assert_population_equals_alone(arch, _specs(rows), data, batch_size)


def test_cnn_population_without_c_kernels_equals_alone(mnist, monkeypatch):
    monkeypatch.setattr(population, "native_available", lambda: False)
    arch, data = mnist
    assert not population.uses_native(arch, "cpu")
    rows = [
        (1, "uniform", "adam", "tanh", 3e-3, 0.0, 0.3),
        (2, "normal", "adam", "tanh", 1e-2, 0.0, 0.0),
    ]
    _assert_population_equals_alone(arch, _specs(rows), data, batch_size=64)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "gelu"])
def test_cnn_gradient_on_c_kernels_equals_pytorch_path(mnist, monkeypatch, activation):
    # Adam turns last-bit differences in near-zero gradients into whole steps, so
    # trajectories of Adam + ReLU models drift apart over epochs whatever the kernel;
    # the gradients themselves must agree to rounding.
    arch, data = mnist
    rows = [
        (s, init, "adam", activation, 1e-3, 0.0, p)
        for s, init, p in [(3, "kaiming_normal", 0.2), (4, "xavier_uniform", 0.0)]
    ]
    specs = _specs(rows)
    x = data.x_train[:40].expand(2, 40, 1, 28, 28).contiguous()  # 40: a padded batch
    y = data.y_train[:40].expand(2, 40)
    grads = []
    for native in (True, False):
        monkeypatch.setattr(population, "native_available", lambda native=native: native)
        trainer = population.PopulationTrainer(arch, specs, data, 40)
        grads.append(trainer._gradient(x, y, trainer.dropout))
    assert population.uses_native(arch, "cpu") is False  # the second pass was PyTorch's
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-4, atol=1e-5)
    assert grads[1].abs().max() > 1e-2


def test_same_seed_same_model_different_seed_different(tetris):
    arch, data = tetris
    specs = _specs(
        [(1, "uniform", "adam", "tanh", 1e-2, 0.0, 0.0)] * 2
        + [(2, "uniform", "adam", "tanh", 1e-2, 0.0, 0.0)]
    )
    last = list(train_population(arch, specs, data, 1, 32))[-1].weights
    assert np.array_equal(last[0], last[1])
    assert not np.allclose(last[0], last[2])


def test_cnn_population_equals_alone_at_the_authors_batch_of_10(mnist):
    # 8 models at batch 10 share one row of 80 lanes; 125 images leave a last batch of 5,
    # which interleaves 16 models per row (8 of them zero models)
    arch, data = mnist
    rows = [(s, "uniform", "adam", "tanh", 3e-4, 0.0, 0.0) for s in range(1, 7)]
    rows += [
        (7, "kaiming_uniform", "adam", "tanh", 1e-3, 0.0, 0.5),
        (8, "normal", "adam", "tanh", 1e-3, 0.0, 0.3),
    ]
    assert lanes._Layout.choose(8, 10, shared=False).group == 8
    assert lanes._Layout.choose(8, 5, shared=False).group == 16
    _assert_population_equals_alone(arch, _specs(rows), data.subset(125, 64), batch_size=10)


def test_lane_layout_choice_and_round_trip():
    assert lanes._Layout.choose(96, 10, shared=False).group == 8  # 12 rows of 80 lanes
    assert lanes._Layout.choose(96, 64, shared=False).group == 1
    assert lanes._Layout.choose(96, 10, shared=True).padded == 16  # evaluation: pad images
    few = lanes._Layout.choose(3, 10, shared=False)  # 8 x 10 lanes > 3 x 16: pad instead
    assert (few.group, few.padded) == (1, 16)
    t = torch.arange(9 * 10 * 2 * 3 * 3, dtype=torch.float32).reshape(9, 10, 2, 3, 3)
    inter = lanes._Layout(9, 10, group=8, padded=10)  # 2 rows, 7 zero models
    for layout in (inter, lanes._Layout.choose(9, 10, shared=True)):
        h = layout.to_lanes(t)
        assert h.shape == (layout.rows, 2, 3, 3, layout.group * layout.padded)
        assert torch.equal(layout.from_lanes(h), t)
    h = inter.to_lanes(t)
    assert torch.equal(h[0, :, :, :, 3 * 10 + 4], t[3, 4])  # lane 34: model 3, image 4
    assert torch.equal(h[1, :, :, :, 4], t[8, 4])  # row 1, lane 4: model 8, image 4
    assert not h[1, :, :, :, 10:].any()  # models 9-15 are padding


def test_fan_in_scheme_population_equals_alone(tetris):
    arch, data = tetris
    specs = [
        ModelSpec(i, i + 1, "uniform", "adam", "tanh", 1e-2, 0.0, 0.0, "fan-in") for i in range(2)
    ]
    _assert_population_equals_alone(arch, specs, data, batch_size=32)


@pytest.mark.parametrize("data_name", ["tetris", "mnist"])
def test_running_train_metrics_are_sample_weighted_batch_means(request, data_name):
    # Hand-checked case: with lr 0 the weights never move, so the running mean over the
    # epoch's batches, weighted by batch size, is the full training-set loss and accuracy
    # of the initial weights (epoch 0 is recorded with a full pass). 250 / 32 leaves a
    # last batch of 26: an unweighted mean of batch means would differ.
    arch, data = request.getfixturevalue(data_name)
    data = data.subset(250, 64)
    specs = _specs([(s, "normal", "adam", "tanh", 0.0, 0.0, 0.0) for s in (1, 2)])
    init, first = list(train_population(arch, specs, data, 1, batch_size=32))
    np.testing.assert_array_equal(first.weights, init.weights)
    np.testing.assert_allclose(first.train_loss, init.train_loss, rtol=1e-5)
    np.testing.assert_allclose(first.train_acc, init.train_acc, atol=1e-12)
    full = list(train_population(arch, specs, data, 1, batch_size=32, train_metrics="full"))
    np.testing.assert_allclose(full[1].train_loss, init.train_loss, rtol=1e-5)


def test_running_train_metrics_are_taken_before_each_step(tetris):
    # With lr > 0 the running mean (train mode, before each step) differs from a pass
    # over the training set at the end of the epoch; a plain loop gives the former.
    arch, data = tetris
    spec = _specs([(5, "normal", "sgd", "tanh", 0.5, 0.0, 0.0)])[0]
    running = list(train_population(arch, [spec], data, 1, batch_size=50))[1]
    full = list(train_population(arch, [spec], data, 1, batch_size=50, train_metrics="full"))[1]
    np.testing.assert_array_equal(running.weights, full.weights)
    model = torch.nn.Sequential(
        torch.nn.Linear(16, 5, bias=False), torch.nn.Tanh(), torch.nn.Linear(5, 4, bias=False)
    )
    from hyperrep.population._init import init_params
    from hyperrep.population._rng import INIT_STREAM, ORDER_STREAM, epoch_order, model_generator

    w1, w2 = init_params(arch, "normal", model_generator(5, INIT_STREAM))
    with torch.no_grad():
        model[0].weight.copy_(w1)
        model[2].weight.copy_(w2)
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    order = epoch_order(model_generator(5, ORDER_STREAM), 300)
    loss_sum, correct = 0.0, 0
    for start in range(0, 300, 50):
        idx = order[start : start + 50]
        logits = model(data.x_train[idx])
        loss = torch.nn.functional.cross_entropy(logits, data.y_train[idx])
        loss_sum += loss.item() * 50
        correct += int((logits.argmax(1) == data.y_train[idx]).sum())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert running.train_loss[0] == pytest.approx(loss_sum / 300, rel=1e-5)
    assert running.train_acc[0] == pytest.approx(correct / 300, abs=1e-12)
    assert abs(running.train_loss[0] - full.train_loss[0]) > 1e-3


def test_holdout_is_the_authors_random_split(mnist):
    _, data = mnist
    kept = data.without_holdout(40, seed=42)
    train, _ = torch.utils.data.random_split(
        range(192), [152, 40], generator=torch.Generator().manual_seed(42)
    )
    assert torch.equal(kept.x_train, data.x_train[list(train.indices)])
    assert torch.equal(kept.y_train, data.y_train[list(train.indices)])
    assert kept.x_test is data.x_test
    with pytest.raises(population.HyperrepError, match="holdout must be in"):
        data.without_holdout(192, seed=42)


def test_no_dropout_after_the_third_convolution():
    from hyperrep.arch import Activation, to_module

    arch = create_architecture("mnist-cnn")
    flags = [layer.dropout for layer in arch.layers if isinstance(layer, Activation)]
    assert flags == [True, True, False, True]  # conv1, conv2, conv3, fc1
    module = to_module(arch, "tanh", dropout=0.5, dropout_generator=torch.Generator())
    assert [m.p for m in module if hasattr(m, "p")] == [0.5, 0.5, 0.0, 0.5]


def test_default_population_groups_cnns_on_the_cpu_only():
    from hyperrep.population import default_population_size

    cnn, mlp = create_architecture("mnist-cnn"), create_architecture("tetris-mlp")
    assert default_population_size(cnn) == default_population_size(cnn, "cpu") == 96
    assert default_population_size(cnn, "cuda") == default_population_size(cnn, "cuda:1") == 1000
    assert default_population_size(mlp) == default_population_size(mlp, "cuda") == 1000


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "gelu"])
def test_cnn_bf16_gradient_equals_an_autocast_module(mnist, activation):
    # the independent computation: each model alone as a torch.nn module under the same
    # autocast; the two group their bf16 products differently, so they agree to bf16
    # rounding (measured: 0.2-0.6% of the gradient's norm), not bit for bit
    import torch.nn.functional as F

    from hyperrep.arch import to_module, vector_to_state_dict

    arch, data = mnist
    specs = _specs(
        [
            (3, "kaiming_normal", "adam", activation, 1e-3, 0.0, 0.0),
            (4, "xavier_uniform", "adam", activation, 1e-3, 0.0, 0.0),
        ]
    )
    x = data.x_train[:40].expand(2, 40, 1, 28, 28).contiguous()
    y = data.y_train[:40].expand(2, 40)
    bf16 = population.PopulationTrainer(arch, specs, data, 40, precision="bf16")
    fp32 = population.PopulationTrainer(arch, specs, data, 40)
    assert bf16.flat.dtype == torch.float32  # master weights stay fp32
    g_bf16, g_fp32 = bf16._gradient(x, y, None), fp32._gradient(x, y, None)
    assert g_bf16.dtype == torch.float32
    relative = []
    for m in range(2):
        module = to_module(arch, activation)
        module.load_state_dict(vector_to_state_dict(arch, bf16.flat[m].detach()))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = module(x[m]).float()
        F.cross_entropy(logits, y[m]).backward()
        ref = torch.cat([module.get_parameter(s.name).grad.reshape(-1) for s in arch.param_slots])
        assert float((g_bf16[m] - ref).norm() / ref.norm()) < 1e-2
        relative.append(float((g_bf16[m] - g_fp32[m]).norm() / g_fp32[m].norm()))
    assert max(relative) > 2e-3  # the products really ran in bf16 (measured 0.3-7%)


def test_bf16_is_for_cnns_and_fp32_zoos_read_as_before(tetris):
    from hyperrep import HyperrepError
    from hyperrep.zoo import ZooConfig, create_zoo_config

    arch, data = tetris
    spec = _specs([(1, "uniform", "adam", "tanh", 1e-2, 0.0, 0.0)])
    with pytest.raises(HyperrepError, match="precision bf16 is for CNN zoos"):
        population.PopulationTrainer(arch, spec, data, 10, precision="bf16")
    with pytest.raises(HyperrepError, match="precision must be one of fp32, bf16"):
        create_zoo_config("mnist-seed", precision="fp16")
    with pytest.raises(HyperrepError, match="precision bf16 is for CNN zoos"):
        create_zoo_config("tetris-seed", precision="bf16")
    old = create_zoo_config("mnist-hyp-5-rand-seed").to_dict()
    del old["precision"]  # a zoo of format 5 and earlier
    assert ZooConfig.from_dict(old).precision == "fp32"
