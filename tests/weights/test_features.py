import numpy as np
import pytest
import torch

from hyperrep._errors import HyperrepError, UnknownNameError
from hyperrep.arch import create_architecture
from hyperrep.weights._features import (
    raw_features,
    weight_statistic_names,
    weight_statistics,
)

ARCHS = ["tetris-mlp", "mnist-cnn"]
VARIANTS = ["layer", "layer-pooled", "tensor"]


def reference(arch, weights: np.ndarray, variant: str) -> np.ndarray:
    """Plain loop over rows and groups with numpy's own functions."""
    if variant.startswith("layer"):
        kinds = ("weight",) if variant == "layer" else ("weight", "bias")
        groups = []
        for layer in arch.parametric_layers:
            slots = [s for s in arch.param_slots if s.layer == layer and s.kind in kinds]
            groups.append(np.concatenate([np.arange(s.offset, s.stop) for s in slots]))
        qs = [1, 25, 50, 75, 99]
    else:
        groups = [np.arange(s.offset, s.stop) for s in arch.param_slots]
        qs = [0, 25, 50, 75, 100]
    rows = []
    for w in weights:
        feats = []
        for idx in groups:
            x = w[idx].astype(np.float64)
            spread = np.std(x) if variant == "tensor" else np.var(x)
            feats += [np.mean(x), spread, *np.percentile(x, qs)]
        rows.append(feats)
    return np.asarray(rows)


def random_weights(arch, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scales = 10.0 ** rng.uniform(-3, 2, size=(n, 1))
    shifts = rng.normal(size=(n, 1)) * scales
    return (rng.standard_normal((n, arch.n_params)) * scales + shifts).astype(np.float32)


@pytest.mark.parametrize("name", ARCHS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_matches_numpy_reference(name, variant):
    arch = create_architecture(name)
    w = random_weights(arch, 25)
    got = weight_statistics(arch, w, variant=variant)
    assert got.dtype == np.float32
    assert got.shape == (25, len(weight_statistic_names(arch, variant)))
    np.testing.assert_allclose(got, reference(arch, w, variant), rtol=2e-6, atol=1e-30)


@pytest.mark.parametrize(
    ("name", "variant", "count"),
    [
        ("tetris-mlp", "layer", 14),
        ("tetris-mlp", "tensor", 14),
        ("mnist-cnn", "layer", 35),
        ("mnist-cnn", "tensor", 70),
    ],
)
def test_feature_counts_and_names(name, variant, count):
    arch = create_architecture(name)
    names = weight_statistic_names(arch, variant)
    assert len(names) == len(set(names)) == count
    assert weight_statistics(arch, random_weights(arch, 3), variant=variant).shape == (3, count)


def test_names_are_readable():
    cnn = create_architecture("mnist-cnn")
    layer = weight_statistic_names(cnn, "layer")
    assert layer[:7] == [
        "layer0.mean",
        "layer0.var",
        "layer0.p1",
        "layer0.p25",
        "layer0.p50",
        "layer0.p75",
        "layer0.p99",
    ]
    tensor = weight_statistic_names(cnn, "tensor")
    assert tensor[:2] == ["0.weight.mean", "0.weight.std"]
    assert tensor[7:14] == [
        f"0.bias.{s}" for s in ["mean", "std", "p0", "p25", "p50", "p75", "p100"]
    ]
    assert weight_statistic_names(cnn) == layer


def test_mlp_without_bias_has_same_groups_in_both_variants():
    mlp = create_architecture("tetris-mlp")
    w = random_weights(mlp, 4)
    layer, tensor = (
        weight_statistics(mlp, w, variant="layer"),
        weight_statistics(mlp, w, variant="tensor"),
    )
    for g in range(2):
        np.testing.assert_array_equal(layer[:, 7 * g], tensor[:, 7 * g])  # means
        np.testing.assert_allclose(layer[:, 7 * g + 1], tensor[:, 7 * g + 1] ** 2, rtol=1e-5)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("chunk_rows", [1, 3, 7])
def test_chunking_does_not_change_result(variant, chunk_rows):
    arch = create_architecture("mnist-cnn")
    w = random_weights(arch, 10, seed=1)
    whole = weight_statistics(arch, w, variant=variant)
    chunked = weight_statistics(arch, w, variant=variant, chunk_rows=chunk_rows, progress=True)
    np.testing.assert_array_equal(chunked, whole)


@pytest.mark.parametrize("variant", VARIANTS)
def test_memmap_and_torch_inputs(tmp_path, variant):
    arch = create_architecture("mnist-cnn")
    w = random_weights(arch, 12, seed=2)
    zoo = np.lib.format.open_memmap(
        tmp_path / "weights.npy", mode="w+", dtype=np.float32, shape=(3, 4, arch.n_params)
    )
    zoo[:] = w.reshape(3, 4, -1)
    zoo.flush()
    del zoo
    stored = np.load(tmp_path / "weights.npy", mmap_mode="r")
    expected = weight_statistics(arch, w, variant=variant)
    last_epoch = stored[:, -1]  # a 2-D row selection of the memory-mapped zoo
    got = weight_statistics(arch, last_epoch, variant=variant, chunk_rows=2)
    np.testing.assert_array_equal(got, expected[3::4])
    flat = stored.reshape(-1, arch.n_params)
    np.testing.assert_array_equal(weight_statistics(arch, flat, variant=variant), expected)
    np.testing.assert_array_equal(
        weight_statistics(arch, torch.from_numpy(w), variant=variant), expected
    )


def test_float64_and_integer_inputs():
    arch = create_architecture("tetris-mlp")
    w = random_weights(arch, 5).astype(np.float64)
    np.testing.assert_allclose(
        weight_statistics(arch, w, variant="tensor"), reference(arch, w, "tensor"), rtol=1e-6
    )
    ints = np.arange(5 * arch.n_params).reshape(5, -1)
    np.testing.assert_allclose(
        weight_statistics(arch, ints, variant="layer"), reference(arch, ints, "layer"), rtol=1e-6
    )


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_row_gives_nan_only_where_it_is(variant, bad):
    arch = create_architecture("mnist-cnn")
    w = random_weights(arch, 6, seed=3)
    clean = weight_statistics(arch, w, variant=variant)
    w[2, :] = bad
    w[4, 5] = bad  # inside the first layer's weight only
    got = weight_statistics(arch, w, variant=variant, chunk_rows=4)
    others = [0, 1, 3, 5]
    np.testing.assert_array_equal(got[others], clean[others])
    assert np.isnan(got[2]).all()
    assert np.isnan(got[4, :7]).all()
    np.testing.assert_array_equal(got[4, 7:], clean[4, 7:])


def test_empty_selection():
    arch = create_architecture("mnist-cnn")
    empty = np.zeros((0, arch.n_params), dtype=np.float32)
    assert weight_statistics(arch, empty, variant="tensor").shape == (0, 70)


@pytest.mark.parametrize(
    "weights",
    [
        np.zeros((3, 99), dtype=np.float32),
        np.zeros((3, 101), dtype=np.float32),
        np.zeros(100, dtype=np.float32),
        np.zeros((2, 3, 100), dtype=np.float32),
        np.zeros((3, 100), dtype=np.complex64),
        np.zeros((3, 100), dtype=bool),
        torch.zeros(3, 99),
    ],
)
def test_bad_input_raises(weights):
    arch = create_architecture("tetris-mlp")
    with pytest.raises(HyperrepError, match=r"shape \(N, 100\)"):
        weight_statistics(arch, weights)
    with pytest.raises(HyperrepError, match=r"shape \(N, 100\)"):
        raw_features(arch, weights)


def test_unknown_variant_lists_known_ones():
    arch = create_architecture("tetris-mlp")
    with pytest.raises(UnknownNameError, match="known: layer, layer-pooled, tensor"):
        weight_statistics(arch, np.zeros((1, 100), dtype=np.float32), variant="unit")
    with pytest.raises(UnknownNameError, match="known: layer, layer-pooled, tensor"):
        weight_statistic_names(arch, "unit")


def test_bad_chunk_rows_raises():
    arch = create_architecture("tetris-mlp")
    with pytest.raises(HyperrepError, match="chunk_rows"):
        weight_statistics(arch, np.zeros((1, 100), dtype=np.float32), chunk_rows=0)


def test_raw_features_pass_through(tmp_path):
    arch = create_architecture("tetris-mlp")
    w = random_weights(arch, 4)
    got = raw_features(arch, w)
    assert got.dtype == np.float32 and got.shape == (4, 100)
    np.testing.assert_array_equal(got, w)
    np.testing.assert_array_equal(raw_features(arch, torch.from_numpy(w)), w)
    as_double = raw_features(arch, w.astype(np.float64))
    assert as_double.dtype == np.float32
    np.testing.assert_array_equal(as_double, w)
    np.save(tmp_path / "w.npy", w)
    np.testing.assert_array_equal(raw_features(arch, np.load(tmp_path / "w.npy", mmap_mode="r")), w)


def test_layer_variant_leaves_biases_out_hand_worked():
    from hyperrep.arch import Activation, Architecture, Linear

    arch = Architecture("tiny", (2,), (Linear(2, 2), Activation(), Linear(2, 1, bias=False)))
    w = np.array([[1.0, 2.0, 3.0, 4.0, 100.0, 100.0, 5.0, 6.0]], dtype=np.float32)
    weights_only = weight_statistics(arch, w, variant="layer")
    pooled = weight_statistics(arch, w, variant="layer-pooled")
    assert weights_only[0, 0] == 2.5  # mean of 1, 2, 3, 4
    assert weights_only[0, 1] == 1.25  # their population variance
    assert pooled[0, 0] == 35.0  # (1 + 2 + 3 + 4 + 100 + 100) / 6
    assert weights_only[0, 7] == pooled[0, 7] == 5.5  # the second layer has no bias


@pytest.mark.parametrize("name", ["W", "s(W)", "s(W) tensor"])
@pytest.mark.parametrize("arch_name", ["tetris-mlp", "mnist-cnn"])
def test_every_featurizer_is_registered_and_gives_its_width(name, arch_name):
    from hyperrep.arch import create_architecture
    from hyperrep.weights import featurizer, list_featurizers

    assert [f.name for f in list_featurizers()][:3] == ["W", "s(W)", "s(W) tensor"]
    arch = create_architecture(arch_name)
    weights = np.random.default_rng(0).normal(size=(5, arch.n_params)).astype(np.float32)
    features = featurizer(name)(arch, weights)
    assert features.shape == (5, featurizer(name).width(arch))
    if name == "W":
        np.testing.assert_array_equal(features, weights)
    else:  # s(W) tensor: its first column is the mean of the first weight tensor
        first = arch.param_slots[0]
        size = int(np.prod(first.shape))
        if name == "s(W) tensor":  # (s(W)'s per-layer statistics: tests above)
            np.testing.assert_allclose(features[:, 0], weights[:, :size].mean(1), rtol=1e-5)
