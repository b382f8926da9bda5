"""Contract over every registered zoo preset and representation preset: each builds, and
trains for an epoch on local synthetic data."""

import json
import math

import numpy as np
import pytest

from hyperrep.representation import REPRESENTATION_PRESETS, train_representation
from hyperrep.zoo import create_zoo, create_zoo_config, list_zoo_presets, open_zoo


def _tiny(preset: str, n_models: int):
    """The preset with `n_models` models, one epoch, on few synthetic images."""
    config = create_zoo_config(preset)
    if config.dataset == "tetris":
        return create_zoo_config(
            preset, n_models=n_models, epochs=1, dataset_options={"n_train": 64, "n_test": 32}
        )
    return create_zoo_config(preset, n_models=n_models, epochs=1, train_subset=60, test_subset=40)


@pytest.mark.parametrize("preset", list_zoo_presets())
def test_every_zoo_preset_trains_a_model_for_an_epoch(preset, idx_data, tmp_path):
    zoo = create_zoo(
        _tiny(preset, 1),
        tmp_path / "z",
        data_dir=idx_data / "mnist" if "fashion" not in preset else idx_data / "fashion-mnist",
        progress=False,
    )
    summary = open_zoo(zoo.path).summary()
    assert summary["models_done"] == 1 and summary["diverged"] == 0
    weights = zoo.load_weights(zoo.checkpoints(include_init=True))
    assert weights.shape == (2, zoo.architecture.n_params)
    assert np.isfinite(weights).all() and not np.array_equal(weights[0], weights[1])


@pytest.mark.slow
@pytest.mark.parametrize("name", REPRESENTATION_PRESETS.names())
def test_every_representation_preset_trains_an_epoch(name, idx_data, tmp_path):
    preset = name if name in list_zoo_presets() else "mnist-seed"
    folder = idx_data / ("fashion-mnist" if "fashion" in preset else "mnist")
    zoo = create_zoo(_tiny(preset, 24), tmp_path / "z", data_dir=folder, progress=False)
    config = REPRESENTATION_PRESETS.create(name)
    small = config.with_compression(zoo.architecture.n_params, 4)
    small = type(small)(
        small.model, type(small.train)(**{**small.train.__dict__, "epochs": 1, "batch_size": 4})
    )
    train_representation(zoo, small, tmp_path / "run", progress=False)
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert len(history) == 1 and all(
        math.isfinite(v) for v in history[0].values() if isinstance(v, float)
    )


def test_a_zoo_too_small_to_validate_on_is_refused_in_one_line(tmp_path):
    from hyperrep import HyperrepError
    from hyperrep.representation import RunConfig, TrainConfig

    config = RunConfig(train=TrainConfig(epochs=1, batch_size=4, split_seed=0))
    small = create_zoo(
        create_zoo_config(
            "tetris-seed", n_models=4, epochs=1, dataset_options={"n_train": 64, "n_test": 32}
        ),
        tmp_path / "z",
        progress=False,
    )
    with pytest.raises(HyperrepError, match="validation split holds [01] checkpoint"):
        train_representation(small, config, tmp_path / "run", progress=False)
