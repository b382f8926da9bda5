"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os

# As the `hyperrep` command does (hyperrep/cli/__init__.py), before anything loads torch:
# beside another CPU-bound job GNU OpenMP's long spin made the Tetris symmetry check take
# 41 s instead of 12 s.
os.environ.setdefault("GOMP_SPINCOUNT", "3000")

import gzip  # noqa: E402
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from hyperrep.zoo import create_zoo, create_zoo_config

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def _isolated_home(tmp_path_factory):
    """The suite never reads or writes the user's folders: a session-wide cache (the C
    kernels compile once per run) and data home, and no data folder from the
    environment (tests/data isolates the cache per test on top of this)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HYPERREP_CACHE", str(tmp_path_factory.mktemp("cache")))
        patch.setenv("HYPERREP_HOME", str(tmp_path_factory.mktemp("home")))
        patch.delenv("HYPERREP_DATA_DIR", raising=False)
        yield


# enough training images for the CNN presets' 10,000-image validation holdout plus a subset
SYNTHETIC_TRAIN, SYNTHETIC_TEST = 10_600, 400


def _synthetic_images(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """28x28 uint8 images, black like MNIST's, whose class sets where a bright 8x8 block
    lies (10 places on a 3x4 grid), jittered by up to 2 pixels, with a few stray bright
    pixels: a CNN learns them in one epoch."""
    labels = rng.integers(0, 10, size=n).astype(np.uint8)
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    stray = rng.random((n, 28, 28)) < 0.03
    images[stray] = rng.integers(100, 256, size=int(stray.sum()))
    rows, cols = 3 + 7 * (labels // 4), 2 + 6 * (labels % 4)
    jitter = rng.integers(-2, 3, size=(n, 2))
    shades = rng.integers(150, 256, size=(n, 8, 8))
    for i in range(n):
        r, c = rows[i] + jitter[i, 0], cols[i] + jitter[i, 1]
        block = images[i, max(r, 0) : r + 8, max(c, 0) : c + 8]
        block[:] = shades[i, : block.shape[0], : block.shape[1]]
    return images, labels


def write_idx_folder(folder: Path, n_train: int, n_test: int, seed: int) -> Path:
    """The four MNIST-layout IDX files (gzip) of synthetic images in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for part, n in (("train", n_train), ("t10k", n_test)):
        images, labels = _synthetic_images(n, rng)
        for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
            header = bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
            data = gzip.compress(header + arr.tobytes(), compresslevel=1)
            (folder / f"{part}-{kind}-ubyte.gz").write_bytes(data)
    return folder


@pytest.fixture(scope="session")
def idx_data(tmp_path_factory) -> Path:
    """A folder with synthetic `mnist/` and `fashion-mnist/` IDX files (the real ones are
    used only by the tests of the real files, tests/data)."""
    root = tmp_path_factory.mktemp("idx")
    for seed, name in enumerate(("mnist", "fashion-mnist")):
        write_idx_folder(root / name, SYNTHETIC_TRAIN, SYNTHETIC_TEST, seed)
    return root


@pytest.fixture(scope="session")
def tiny_zoo(tmp_path_factory):
    """20 Tetris MLPs x 4 epochs on a small data set: 100 checkpoints."""
    config = create_zoo_config(
        "tetris-seed", n_models=20, epochs=4, dataset_options={"n_train": 256, "n_test": 128}
    )
    return create_zoo(config, tmp_path_factory.mktemp("zoo") / "z", progress=False)


def _tiny_run_config(variant: str):
    from hyperrep.representation import RunConfig, TrainConfig, TransformerConfig

    model = TransformerConfig(
        d_model=16,
        n_heads=2,
        n_blocks=1,
        d_ff=32,
        latent_dim=10,
        head_layers=2,
        head_width=8,
        head_out=4,
    )
    return RunConfig(model, TrainConfig(variant=variant, epochs=1, batch_size=16))


@pytest.fixture(scope="session")
def tiny_run_config():
    """variant -> the RunConfig of a small transformer (d_model 16, one block, latent 10)
    trained 1 epoch."""
    return _tiny_run_config


@pytest.fixture(scope="session")
def tiny_ecd_run(tiny_zoo, tmp_path_factory) -> Path:
    """An E_cD run folder: `tiny_run_config("ecd")` trained on `tiny_zoo`."""
    from hyperrep.representation import train_representation

    out = tmp_path_factory.mktemp("tiny-run") / "ecd"
    train_representation(tiny_zoo, _tiny_run_config("ecd"), out, progress=False)
    return out


def pytest_collection_modifyitems(config, items):
    """Where no C compiler is found, the tests that build the kernels are skipped with
    that reason (reported by -ra); everywhere else they run and must pass."""
    compiler = os.environ.get("CC", "cc")
    if shutil.which(compiler) is not None:
        return
    skip = pytest.mark.skip(reason=f"no C compiler ({compiler!r} not on PATH)")
    for item in items:
        if "needs_cc" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def assert_plot():
    """Checks that a PNG holds a drawn figure: an image of a sensible size, partly but
    not wholly covered, in more than a handful of colours (a blank or a failed figure
    is white or one colour)."""

    def check(path: Path, min_side: int = 200) -> None:
        import matplotlib.image as mpimg

        rgb = mpimg.imread(path)[..., :3]
        assert min(rgb.shape[:2]) >= min_side, (path, rgb.shape)
        drawn = (rgb < 0.95).any(axis=-1).mean()
        assert 0.01 < drawn < 0.95, (path, drawn)
        colours = np.unique((rgb * 255).astype(np.uint8).reshape(-1, 3), axis=0)
        assert len(colours) > 20, (path, len(colours))

    return check
