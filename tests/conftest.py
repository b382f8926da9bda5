"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from hyperrep.zoo import create_zoo, create_zoo_config

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real MNIST / Fashion-MNIST files; missing files fail the run, never skip."""
    if not (SHARED_DATA / "mnist" / "train-images-idx3-ubyte.gz").is_file():
        pytest.fail(f"test data missing: expected MNIST IDX files under {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_zoo(tmp_path_factory):
    """20 Tetris MLPs x 4 epochs on a small data set: 100 checkpoints."""
    config = create_zoo_config(
        "tetris-seed", n_models=20, epochs=4, dataset_options={"n_train": 256, "n_test": 128}
    )
    return create_zoo(config, tmp_path_factory.mktemp("zoo") / "z", progress=False)
