import pytest

from hyperrep.zoo import create_zoo, create_zoo_config


@pytest.fixture(scope="session")
def tiny_zoo(tmp_path_factory):
    """20 Tetris MLPs x 4 epochs on a small data set: 100 checkpoints."""
    config = create_zoo_config(
        "tetris-seed", n_models=20, epochs=4, dataset_options={"n_train": 256, "n_test": 128}
    )
    return create_zoo(config, tmp_path_factory.mktemp("zoo") / "z", progress=False)
