"""Permutation equivalence (appendix A.2) as property-based tests."""

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperrep.arch import (
    Activation,
    Architecture,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    create_architecture,
    state_dict_to_vector,
    to_module,
    vector_to_state_dict,
)
from hyperrep.weights import (
    PermutationPool,
    canonicalize,
    hidden_groups,
    permute,
    random_permutations,
)

ACTIVATIONS = st.sampled_from(["tanh", "relu", "sigmoid", "gelu"])


@st.composite
def mlps(draw):
    widths = draw(st.lists(st.integers(1, 7), min_size=2, max_size=5))
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=False)):
        if i:
            layers.append(Activation())
        layers.append(Linear(a, b, bias=draw(st.booleans())))
    return Architecture("mlp", (widths[0],), tuple(layers))


@st.composite
def cnns(draw):
    channels = draw(st.lists(st.integers(1, 4), min_size=2, max_size=3))
    size = draw(st.integers(6, 9))
    layers, shape = [], size
    for a, b in zip(channels[:-1], channels[1:], strict=False):
        k = draw(st.integers(1, min(3, shape)))
        layers += [Conv2d(a, b, k, bias=draw(st.booleans()))]
        shape = shape - k + 1
        if shape >= 4 and draw(st.booleans()):
            layers.append(MaxPool2d(2))
            shape //= 2
        layers.append(Activation())
    hidden = draw(st.integers(1, 5))
    layers += [Flatten(), Linear(channels[-1] * shape * shape, hidden, bias=draw(st.booleans()))]
    layers += [Activation(), Linear(hidden, 3, bias=draw(st.booleans()))]
    return Architecture("cnn", (channels[0], size, size), tuple(layers))


def _module(arch, activation, vector):
    module = to_module(arch, activation).double()  # float64: equality up to rounding
    module.load_state_dict(vector_to_state_dict(arch, vector))
    return module


def _grad(arch, activation, vector, x, y):
    module = _module(arch, activation, vector)
    torch.nn.functional.cross_entropy(module(x), y).backward()
    grads = {name: p.grad for name, p in module.named_parameters()}
    return state_dict_to_vector(arch, grads)


@settings(max_examples=40, deadline=None)
@given(
    arch=st.one_of(mlps(), cnns()),
    activation=ACTIVATIONS,
    batch=st.integers(1, 4),
    seed=st.integers(0, 2**31 - 1),
)
def test_forward_and_backward_equivalence(arch, activation, batch, seed):
    g = torch.Generator().manual_seed(seed)
    weights = torch.randn(batch, arch.n_params, generator=g, dtype=torch.float64)
    perms = random_permutations(arch, batch, g)
    permuted = permute(arch, weights, perms)
    x = torch.randn(5, *arch.input_shape, generator=g, dtype=torch.float64)
    classes = arch.num_outputs
    y = torch.randint(0, classes, (5,), generator=g)
    for i in range(batch):
        # eq. 9: the permuted network computes the same function
        out = _module(arch, activation, weights[i])(x)
        out_p = _module(arch, activation, permuted[i])(x)
        torch.testing.assert_close(out_p, out, rtol=1e-10, atol=1e-12)
        # eq. 10-11: the gradient at the permuted weights is the permuted gradient,
        # so a gradient step commutes with the permutation
        grad = _grad(arch, activation, weights[i], x, y)
        grad_p = _grad(arch, activation, permuted[i], x, y)
        one_perm = [p[i : i + 1] for p in perms]
        torch.testing.assert_close(
            grad_p, permute(arch, grad[None], one_perm)[0], rtol=1e-10, atol=1e-12
        )
        step = permute(arch, (weights[i] - 0.1 * grad)[None], one_perm)[0]
        torch.testing.assert_close(permuted[i] - 0.1 * grad_p, step, rtol=1e-10, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(arch=st.one_of(mlps(), cnns()), seed=st.integers(0, 2**31 - 1))
def test_permutation_moves_values_but_never_the_output_layer(arch, seed):
    g = torch.Generator().manual_seed(seed)
    weights = torch.randn(3, arch.n_params, generator=g)
    permuted = permute(arch, weights, random_permutations(arch, 3, g))
    # a permutation only reorders values
    assert torch.equal(permuted.sort(1).values, weights.sort(1).values)
    last = [s for s in arch.param_slots if s.layer == arch.parametric_layers[-1]]
    if last[-1].kind == "bias":  # the output layer's bias is never touched
        assert torch.equal(permuted[:, last[-1].offset :], weights[:, last[-1].offset :])
    identity = [torch.arange(grp.size).repeat(3, 1) for grp in hidden_groups(arch)]
    assert torch.equal(permute(arch, weights, identity), weights)


def test_hand_worked_mlp_permutation():
    arch = Architecture("tiny", (2,), (Linear(2, 3), Activation(), Linear(3, 1, bias=False)))
    # layout: W1 (3x2) = 0..5, b1 = 6..8, W2 (1x3) = 9..11
    weights = torch.arange(12.0).unsqueeze(0)
    perm = [torch.tensor([[2, 0, 1]])]  # new unit 0 = old unit 2, ...
    expected = torch.tensor([[4.0, 5, 0, 1, 2, 3, 8, 6, 7, 11, 9, 10]])
    assert torch.equal(permute(arch, weights, perm), expected)


def test_cnn_to_linear_junction_moves_column_blocks():
    arch = create_architecture("mnist-cnn")
    groups = hidden_groups(arch)
    assert [g.size for g in groups] == [8, 6, 4, 20]
    # the consumer's input blocks: 5x5 and 2x2 kernels, the flattened 3x3 map, linear
    assert [[e.inner for e in g.entries if not e.incoming] for g in groups] == [[25], [4], [9], [1]]


def test_pool_of_all_120_tetris_permutations():
    arch = create_architecture("tetris-mlp")
    pool = PermutationPool(arch, 120, exhaustive=True)
    assert len(pool) == 120 == math.factorial(5)
    assert len({tuple(p.tolist()) for p in pool.perms[0]}) == 120
    drawn = pool.sample(7, torch.Generator().manual_seed(1))
    assert drawn[0].shape == (7, 5)


def test_canonical_form_is_invariant_to_permutation():
    for name in ("tetris-mlp", "mnist-cnn"):
        arch = create_architecture(name)
        g = torch.Generator().manual_seed(0)
        weights = torch.randn(5, arch.n_params, generator=g)
        permuted = permute(arch, weights, random_permutations(arch, 5, g))
        assert torch.equal(canonicalize(arch, permuted), canonicalize(arch, weights))


def test_per_layer_pool_follows_the_authors_construction():
    arch = create_architecture("mnist-cnn")  # hidden layers of 8, 6, 4 and 20 units
    pool = PermutationPool(arch, 25_000, seed=3, mode="per-layer")
    assert len(pool) == 25_000
    # each layer gets min(k!, 25000) // 4 orderings: 6250, 180 (all of 6! = 720 is more),
    # all 4! = 24 // 4 = 6, 6250
    distinct = [len({tuple(row) for row in p.tolist()}) for p in pool.perms]
    assert distinct[2] <= 6 and distinct[1] <= 180
    assert distinct[0] > 1000 and distinct[3] > 1000
    for p, g in zip(pool.perms, hidden_groups(arch), strict=True):
        assert torch.equal(p.sort(1).values, torch.arange(g.size).expand_as(p))  # permutations
    same = PermutationPool(arch, 25_000, seed=3, mode="per-layer")
    assert all(torch.equal(a, b) for a, b in zip(pool.perms, same.perms, strict=True))
    other = PermutationPool(arch, 25_000, seed=4, mode="per-layer")
    assert not torch.equal(pool.perms[0], other.perms[0])
    g1, g2 = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    assert all(
        torch.equal(a, b) for a, b in zip(pool.sample(5, g1), pool.sample(5, g2), strict=True)
    )


def test_per_layer_pool_of_a_single_small_layer_holds_every_ordering():
    arch = create_architecture("tetris-mlp")
    pool = PermutationPool(arch, 120, seed=0, mode="per-layer")
    assert len({tuple(row) for row in pool.perms[0].tolist()}) <= 120
    # the list it picks from is all 5! orderings: a big pool shows every one
    big = PermutationPool(arch, 5000, seed=0, mode="per-layer")
    assert len({tuple(row) for row in big.perms[0].tolist()}) == 120
