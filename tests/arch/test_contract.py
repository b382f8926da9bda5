"""What every registered architecture must satisfy, whatever its layers: a model trained
in a population equals it trained alone, the C kernels (where they apply) equal PyTorch,
permuting hidden units leaves the function and its gradients unchanged, tokens round
trip, and initialisation follows the scheme."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hyperrep.arch import (
    Architecture,
    create_architecture,
    list_architectures,
    permutation_spec,
    to_module,
    vector_to_state_dict,
)
from hyperrep.data import load_dataset, make_tetris
from hyperrep.population import (
    ModelSpec,
    TrainData,
    init_params,
    train_population,
    train_single,
)
from hyperrep.population import _trainer as population
from hyperrep.weights import permute, random_permutations
from hyperrep.weights._tokens import token_layout

ARCHITECTURES = list_architectures()
# The training contracts (population == alone, permutations, grouped convolutions) run
# ResNet-18 once: the CIFAR100 and Tiny-ImageNet variants are the same
# `resnet_architecture` with another classifier width and input size (tokens and init,
# which are cheap, still run on every architecture).
SAME_AS_RESNET18_CIFAR10 = {"resnet18-cifar100", "resnet18-tinyimagenet"}
TRAINED = [n for n in ARCHITECTURES if n not in SAME_AS_RESNET18_CIFAR10]


def test_the_architectures_are_registered():
    expected = {"tetris-mlp", "mnist-cnn", "mnist-resnet", "cnn-s-rgb", "cnn-l"}
    assert expected | SAME_AS_RESNET18_CIFAR10 | {"resnet18-cifar10"} <= set(ARCHITECTURES)


@pytest.fixture(scope="module")
def datasets(idx_data):
    mnist = load_dataset("mnist", data_dir=idx_data / "mnist")
    return {"tetris": make_tetris(n_train=300, n_test=100), "mnist": mnist}


def _data(arch: Architecture, datasets) -> TrainData:
    if arch.input_shape == (16,):
        return TrainData.for_arch(arch, datasets["tetris"], "cpu")
    if arch.input_shape == (1, 28, 28):
        return TrainData.for_arch(arch, datasets["mnist"], "cpu").subset(160, 96)
    # colour networks (Model Zoos' CNN-s on RGB, CNN-l, ResNet-18): learnable labels
    g = torch.Generator().manual_seed(0)
    classes = arch.num_outputs
    x = torch.randn(256, *arch.input_shape, generator=g)
    y = (x.flatten(1)[:, :classes].argmax(1)).long()
    if _heavy(arch):  # ResNet-18: a few steps are what the contract needs
        return TrainData(x[:32], y[:32], x[32:64], y[32:64], classes)
    return TrainData(x[:160], y[:160], x[160:], y[160:], classes)


def _heavy(arch: Architecture) -> bool:
    return arch.n_params > 10**6


def _inputs(arch: Architecture, n: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, *arch.input_shape, generator=torch.Generator().manual_seed(seed))


def _weights(arch: Architecture, n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    vectors = [
        torch.cat([t.reshape(-1) for t in init_params(arch, "kaiming_uniform", g)])
        for _ in range(n)
    ]
    return torch.stack(vectors) + 0.05 * torch.randn(n, arch.n_params, generator=g)


def _forward(arch: Architecture, vector: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    model = to_module(arch, "tanh")
    model.load_state_dict(vector_to_state_dict(arch, vector))
    return model.eval()(x)


@pytest.mark.parametrize("name", TRAINED)
def test_population_equals_alone(name, datasets):
    arch = create_architecture(name)
    data = _data(arch, datasets)
    # Adam turns float32 noise in near-zero gradients into steps of the full learning rate,
    # and ResNet-18's depth makes such noise: there one SGD epoch of two steps is compared
    optimizer, epochs, batch = ("sgd", 1, 16) if _heavy(arch) else ("adam", 2, 32)
    specs = [
        ModelSpec(i, i + 1, init, optimizer, "tanh", 3e-3, 0.0, p)
        for i, (init, p) in enumerate([("kaiming_uniform", 0.0), ("xavier_normal", 0.3)])
    ]
    together = list(train_population(arch, specs, data, epochs, batch))
    for j, spec in enumerate(specs):
        alone = list(train_single(arch, spec, data, epochs, batch))
        for pop, ref in zip(together, alone, strict=True):
            np.testing.assert_allclose(pop.weights[j], ref.weights[0], rtol=1e-4, atol=1e-5)
            np.testing.assert_array_equal(pop.test_acc[j], ref.test_acc[0])
            np.testing.assert_allclose(pop.train_loss[j], ref.train_loss[0], rtol=1e-4)
    assert np.abs(together[-1].weights - together[0].weights).max() > 1e-3


@pytest.mark.needs_cc
@pytest.mark.parametrize("name", TRAINED)
def test_c_kernels_equal_pytorch_where_they_apply(name, monkeypatch):
    arch = create_architecture(name)
    params = [
        t.unsqueeze(0).repeat(3, *[1] * t.ndim)
        for t in init_params(arch, "kaiming_normal", torch.Generator().manual_seed(0))
    ]
    params = [p + 0.01 * torch.randn_like(p) for p in params]
    x = _inputs(arch, 3 * 16).view(3, 16, *arch.input_shape)
    applies = population.uses_native(arch, "cpu")
    assert applies == (arch.convolutional and arch.supports("lanes"))
    native = population.population_forward(arch, "tanh", params, x)
    monkeypatch.setattr(population, "native_available", lambda: False)
    reference = population.population_forward(arch, "tanh", params, x)
    torch.testing.assert_close(native, reference, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", [n for n in TRAINED if create_architecture(n).convolutional])
def test_grouped_convolution_path_equals_the_per_model_loop(name, monkeypatch):
    """The GPU's one grouped convolution per layer, run here on the CPU: same logits and
    gradients as the CPU's loop over models."""
    import hyperrep.arch._layers as layers

    arch = create_architecture(name)
    monkeypatch.setattr(population, "native_available", lambda: False)
    base = [
        t.unsqueeze(0).repeat(3, *[1] * t.ndim)
        for t in init_params(arch, "kaiming_normal", torch.Generator().manual_seed(0))
    ]
    # float64: the two paths sum in another order, which a ResNet-18's depth turns into
    # 2e-5 of float32 noise on the logits
    base = [(p + 0.01 * torch.randn_like(p)).double() for p in base]
    x = _inputs(arch, 3 * 8).view(3, 8, *arch.input_shape).double()
    results = []
    for devices in (frozenset(), frozenset({"cpu"})):
        monkeypatch.setattr(layers, "GROUPED_CONV_DEVICES", devices)
        params = [p.clone().requires_grad_() for p in base]
        logits = population.population_forward(arch, "tanh", params, x)
        grads = torch.autograd.grad(
            (logits * torch.linspace(-1, 1, logits.numel()).view_as(logits)).sum(), params
        )
        results.append((logits.detach(), grads))
    (loop, loop_grads), (grouped, grouped_grads) = results
    torch.testing.assert_close(grouped, loop, rtol=1e-10, atol=1e-10)
    for a, b in zip(grouped_grads, loop_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name", TRAINED)
def test_permuted_hidden_units_compute_the_same_function(name):
    arch = create_architecture(name)
    spec = permutation_spec(arch)
    assert spec.groups, "every registered architecture has hidden units"
    weights, x = _weights(arch, 2), _inputs(arch, 8)
    perms = random_permutations(arch, 2, torch.Generator().manual_seed(3))
    permuted = permute(arch, weights, perms)
    assert not torch.equal(permuted, weights)
    for original, moved in zip(weights, permuted, strict=True):
        torch.testing.assert_close(
            _forward(arch, moved, x), _forward(arch, original, x), rtol=1e-5, atol=1e-5
        )
    # gradients move with the weights: grad(permuted) == permute(grad), in float64 so
    # that sums in another order agree to rounding (in float32 a ResNet-18's BatchNorm
    # backward over 8 samples leaves 2e-5 of noise)
    grads = []
    for vector in (weights[0], permuted[0]):
        w = vector.double().requires_grad_(True)
        model = to_module(arch, "tanh").double()
        torch.func.functional_call(
            model, vector_to_state_dict(arch, w), (x.double(),)
        ).square().sum().backward()
        grads.append(w.grad)
    one = [p[:1] for p in perms]
    scale = grads[0].abs().max().item()
    torch.testing.assert_close(
        grads[1], permute(arch, grads[0][None], one)[0], rtol=1e-9, atol=1e-11 * scale
    )


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_tokens_round_trip(name):
    arch = create_architecture(name)
    layout = token_layout(arch)
    weights = _weights(arch, 3)
    assert torch.equal(layout.from_tokens(layout.to_tokens(weights)), weights)
    assert torch.equal(layout.from_padded(layout.to_padded(weights)), weights)
    assert sum(t.numel() for t in layout.to_tokens(weights[:1])) == arch.n_params


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_init_follows_the_authors_scheme(name):
    arch = create_architecture(name)
    params = init_params(arch, "uniform", torch.Generator().manual_seed(0))
    for slot, tensor in zip(arch.param_slots, params, strict=True):
        fixed = arch.layers[slot.layer].fixed_init(slot.kind)
        if fixed is not None:
            assert torch.all(tensor == fixed), slot.name
        elif slot.kind == "bias":
            assert torch.all(tensor == 0.01), slot.name
        else:  # U(0, 1)
            assert tensor.min() >= 0 and tensor.max() <= 1, slot.name
            if tensor.numel() >= 200:
                assert abs(tensor.mean().item() - 0.5) < 4 / math.sqrt(12 * tensor.numel())
