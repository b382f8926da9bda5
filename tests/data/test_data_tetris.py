from __future__ import annotations

import numpy as np
import pytest
import torch

from hyperrep.data import load_dataset, make_tetris
from hyperrep.data import tetris as tetris_mod
from hyperrep.zoo import ZOO_PRESETS


def test_shapes_dtypes_and_classes() -> None:
    ds = make_tetris(n_train=400, n_test=200, seed=3)
    assert ds.x_train.shape == (400, 1, 4, 4) and ds.x_test.shape == (200, 1, 4, 4)
    assert ds.x_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    assert ds.num_classes == 4 and ds.class_names == ("L", "T", "S", "O")
    assert ds.y_train.bincount().tolist() == [100, 100, 100, 100]
    assert ds.y_test.bincount().tolist() == [50, 50, 50, 50]


def test_defaults_via_registry() -> None:
    ds = load_dataset("tetris")
    assert len(ds.y_train) == tetris_mod.TETRIS_N_TRAIN
    assert len(ds.y_test) == tetris_mod.TETRIS_N_TEST
    assert ZOO_PRESETS.create("tetris-seed").batch_size == tetris_mod.TETRIS_BATCH_SIZE


def test_same_seed_same_data_other_seed_other_data() -> None:
    a, b, c = make_tetris(seed=7), make_tetris(seed=7), make_tetris(seed=8)
    for field in ("x_train", "y_train", "x_test", "y_test"):
        assert torch.equal(getattr(a, field), getattr(b, field))
    assert not torch.equal(a.x_train, c.x_train)
    assert not torch.equal(a.y_train, c.y_train)


def test_train_and_test_are_different_draws() -> None:
    ds = make_tetris(n_train=500, n_test=500, seed=1)
    assert not torch.equal(ds.x_train, ds.x_test)
    # the train set does not depend on how many test samples are drawn
    assert torch.equal(ds.x_train, make_tetris(n_train=500, n_test=20, seed=1).x_train)


def test_normalised_with_train_statistics() -> None:
    seed, noise = 5, 0.05
    ds = make_tetris(n_train=300, n_test=100, seed=seed, noise=noise)
    assert abs(float(ds.x_train.mean())) < 1e-5
    assert abs(float(ds.x_train.std(unbiased=False)) - 1) < 1e-5
    rng_train, rng_test = np.random.default_rng(seed).spawn(2)
    looks = (tetris_mod.TETRIS_INTENSITY, tetris_mod.TETRIS_BACKGROUND)
    shift, test_shift = tetris_mod.TETRIS_SHIFT_PROB, tetris_mod.TETRIS_TEST_SHIFT_PROB
    raw_train, _ = tetris_mod._sample(300, rng_train, noise, shift, *looks)
    raw_test, _ = tetris_mod._sample(100, rng_test, noise, test_shift, *looks)
    mean, std = raw_train.mean(dtype=np.float64), raw_train.std(dtype=np.float64)
    expected = torch.from_numpy(((raw_test - mean) / std).astype(np.float32)).unsqueeze(1)
    torch.testing.assert_close(ds.x_test, expected)
    assert abs(float(ds.x_test.mean())) > 1e-6  # test data is not re-centred on its own


def test_noise_free_images_are_the_shapes() -> None:
    ds = make_tetris(n_train=200, n_test=10, noise=0.0, shift_prob=1.0, seed=0)
    on = ds.x_train.flatten(1) > ds.x_train.flatten(1).mean(1, keepdim=True)
    assert (on.sum(1) == 4).all()  # every tetromino covers 4 pixels
    templates = tetris_mod.tetris_templates()
    for img, label in zip(on.view(-1, 4, 4).numpy(), ds.y_train.tolist(), strict=True):
        masks = np.concatenate([m for m, _ in templates[label]])
        assert (masks == img).all(axis=(1, 2)).any()


def _off_centre_fraction(x: torch.Tensor, y: torch.Tensor) -> float:
    on = (x.flatten(1) > x.flatten(1).mean(1, keepdim=True)).view(-1, 4, 4).numpy()
    templates = tetris_mod.tetris_templates()
    centred = [
        any((img == masks[centre]).all() for masks, centre in templates[label])
        for img, label in zip(on, y.tolist(), strict=True)
    ]
    return 1 - float(np.mean(centred))


def test_test_split_has_more_off_centre_shapes() -> None:
    ds = make_tetris(
        n_train=4000, n_test=4000, noise=0.0, shift_prob=0.1, test_shift_prob=0.3, seed=4
    )
    # a shifted draw can land on the centred placement, so the fractions sit a bit lower
    train = _off_centre_fraction(ds.x_train, ds.y_train)
    test = _off_centre_fraction(ds.x_test, ds.y_test)
    assert 0.05 < train < 0.1 and 0.18 < test < 0.3 and test > 2 * train


def test_templates_cover_rotations_and_placements() -> None:
    templates = tetris_mod.tetris_templates()
    distinct = [len({m.tobytes() for masks, _ in t for m in masks}) for t in templates]
    assert distinct == [24, 24, 12, 9]  # L, T, S (2 distinct rotations), O (1)


def test_subset_takes_first_samples() -> None:
    full, sub = make_tetris(seed=2), make_tetris(seed=2, train_subset=10, test_subset=5)
    assert torch.equal(sub.x_train, full.x_train[:10]) and torch.equal(sub.y_test, full.y_test[:5])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_train": 1}, "n_train >= 2"),
        ({"noise": -0.1}, "noise must be >= 0"),
        ({"shift_prob": 1.5}, "shift_prob must be in"),
        ({"test_shift_prob": -0.1}, "test_shift_prob must be in"),
        ({"intensity": (1.0, 0.5)}, "low <= high"),
        ({"train_subset": 0}, "train_subset must be"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_tetris(**kwargs)  # type: ignore[arg-type]
