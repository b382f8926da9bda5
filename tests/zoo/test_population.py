"""A model trained inside a population equals the same model trained alone."""

import numpy as np
import pytest
import torch

import hyperrep.zoo._population as population
from hyperrep.arch import create_architecture
from hyperrep.data import load_dataset, make_tetris
from hyperrep.zoo import ModelSpec, TrainData, train_population, train_single

EPOCHS = 2


def _specs(rows):
    return [ModelSpec(i, *row) for i, row in enumerate(rows)]


def _assert_population_equals_alone(arch, specs, data, batch_size):
    together = list(train_population(arch, specs, data, EPOCHS, batch_size))
    assert [r.epoch for r in together] == list(range(EPOCHS + 1))
    for j, spec in enumerate(specs):
        alone = list(train_single(arch, spec, data, EPOCHS, batch_size))
        for pop, ref in zip(together, alone, strict=True):
            np.testing.assert_allclose(pop.weights[j], ref.weights[0], rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(pop.test_acc[j], ref.test_acc[0], atol=1e-3)
            np.testing.assert_allclose(pop.train_loss[j], ref.train_loss[0], rtol=1e-4)
    # training changed the weights: the comparison above is not between two inits
    assert np.abs(together[-1].weights - together[0].weights).max() > 1e-3


@pytest.fixture(scope="module")
def tetris():
    arch = create_architecture("tetris-mlp")
    return arch, TrainData.for_arch(arch, make_tetris(n_train=300, n_test=100), "cpu")


@pytest.fixture(scope="module")
def mnist(shared_data):
    arch = create_architecture("mnist-cnn")
    data = TrainData.for_arch(arch, load_dataset("mnist", data_dir=shared_data / "mnist"), "cpu")
    return arch, data.subset(192, 128)


@pytest.mark.parametrize(
    "rows",
    [
        # seed, init, optimizer, activation, lr, weight_decay, dropout
        [(1, "uniform", "adam", "tanh", 1e-2, 0.0, 0.0),
         (2, "xavier_normal", "adam", "tanh", 3e-3, 1e-3, 0.0),
         (3, "kaiming_uniform", "adam", "tanh", 1e-2, 0.0, 0.0)],
        [(4, "normal", "sgd", "relu", 1e-1, 0.0, 0.0),
         (5, "kaiming_normal", "sgd", "relu", 3e-2, 1e-2, 0.0)],
        [(6, "xavier_uniform", "adam", "sigmoid", 1e-2, 0.0, 0.3),
         (7, "uniform", "adam", "sigmoid", 3e-3, 1e-3, 0.0),
         (8, "normal", "adam", "sigmoid", 1e-2, 0.0, 0.5)],
        [(9, "kaiming_uniform", "sgd", "gelu", 1e-1, 0.0, 0.5),
         (10, "xavier_normal", "sgd", "gelu", 3e-2, 1e-1, 0.3)],
    ],
    ids=["adam-tanh", "sgd-relu", "adam-sigmoid-dropout", "sgd-gelu-dropout"],
)  # fmt: skip
def test_mlp_population_equals_alone(tetris, rows):
    arch, data = tetris
    _assert_population_equals_alone(arch, _specs(rows), data, batch_size=32)


@pytest.mark.parametrize(
    "rows",
    [
        [(1, "uniform", "adam", "tanh", 3e-3, 0.0, 0.0),
         (2, "normal", "adam", "tanh", 1e-3, 1e-3, 0.3)],
        [(7, "kaiming_uniform", "sgd", "gelu", 3e-2, 0.0, 0.5),
         (8, "uniform", "sgd", "gelu", 1e-2, 0.1, 0.0)],
        [(3, "kaiming_normal", "sgd", "relu", 3e-2, 0.0, 0.2),
         (4, "xavier_uniform", "sgd", "relu", 1e-2, 0.0, 0.0)],
    ],
    ids=["adam-tanh-dropout", "sgd-gelu-dropout", "sgd-relu-dropout"],
)  # fmt: skip
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
    rows = [(s, init, "adam", activation, 1e-3, 0.0, p) for s, init, p in
            [(3, "kaiming_normal", 0.2), (4, "xavier_uniform", 0.0)]]  # fmt: skip
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
    specs = _specs([(1, "uniform", "adam", "tanh", 1e-2, 0.0, 0.0)] * 2
                   + [(2, "uniform", "adam", "tanh", 1e-2, 0.0, 0.0)])  # fmt: skip
    last = list(train_population(arch, specs, data, 1, 32))[-1].weights
    assert np.array_equal(last[0], last[1])
    assert not np.allclose(last[0], last[2])
