"""Model zoos: configuration and presets, building (locally or on Ray), the on-disk
format and its integrity checks, reading, and importers of published zoos. Training
itself is `hyperrep.population`."""

from typing import TYPE_CHECKING

from hyperrep._lazy import lazy_package

# imported on first use, so that listing presets does not load torch
__getattr__, __dir__, __all__ = lazy_package(__name__, __file__)

if TYPE_CHECKING:
    from hyperrep.zoo._checkpoints import (
        SPLITS,
        CheckpointData,
        checkpoint_activations,
        load_checkpoints,
        split_models,
    )
    from hyperrep.zoo._config import ZooConfig
    from hyperrep.zoo._generate import create_zoo, load_zoo_data, plan_chunks, zoo_trainer
    from hyperrep.zoo._importers import import_zoo, list_import_formats
    from hyperrep.zoo._presets import ZOO_PRESETS, create_zoo_config, list_zoo_presets, register_zoo
    from hyperrep.zoo._processes import SplitTrainer
    from hyperrep.zoo._ray import RayOptions
    from hyperrep.zoo._storage import ZooWriter, is_zoo
    from hyperrep.zoo._zoo import HYPERPARAMETER_COLUMNS, Zoo, open_zoo
