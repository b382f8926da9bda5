"""Model zoos: configuration, presets, population training, storage and loading."""

from typing import TYPE_CHECKING

from hyperrep._lazy import lazy_exports

# imported on first use, so that listing presets does not load torch
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ModelSpec": "._config",
        "ZooConfig": "._config",
        "create_zoo": "._generate",
        "default_population_size": "._generate",
        "plan_chunks": "._generate",
        "INITS": "._init",
        "init_params": "._init",
        "EpochRecord": "._population",
        "TrainData": "._population",
        "population_forward": "._population",
        "train_population": "._population",
        "ZOO_PRESETS": "._presets",
        "create_zoo_config": "._presets",
        "list_zoo_presets": "._presets",
        "register_zoo": "._presets",
        "train_single": "._reference",
        "evaluate_single": "._reference",
        "SPLITS": "._checkpoints",
        "CheckpointData": "._checkpoints",
        "load_checkpoints": "._checkpoints",
        "split_models": "._checkpoints",
        "load_zoo_data": "._generate",
        "kernel_report": "._native",
        "import_zoo": "._import",
        "list_import_formats": "._import",
        "is_zoo": "._storage",
        "Zoo": "._zoo",
        "open_zoo": "._zoo",
    },
)
if TYPE_CHECKING:
    from hyperrep.zoo._checkpoints import SPLITS, CheckpointData, load_checkpoints, split_models
    from hyperrep.zoo._config import ModelSpec, ZooConfig
    from hyperrep.zoo._generate import (
        create_zoo,
        default_population_size,
        load_zoo_data,
        plan_chunks,
    )
    from hyperrep.zoo._init import INITS, init_params
    from hyperrep.zoo._population import (
        EpochRecord,
        TrainData,
        population_forward,
        train_population,
    )
    from hyperrep.zoo._presets import ZOO_PRESETS, create_zoo_config, list_zoo_presets, register_zoo
    from hyperrep.zoo._reference import evaluate_single, train_single
    from hyperrep.zoo._storage import is_zoo
    from hyperrep.zoo._zoo import Zoo, open_zoo

__all__ = [
    "import_zoo",
    "list_import_formats",
    "kernel_report",
    "SPLITS",
    "CheckpointData",
    "load_checkpoints",
    "split_models",
    "evaluate_single",
    "load_zoo_data",
    "INITS",
    "ZOO_PRESETS",
    "EpochRecord",
    "ModelSpec",
    "TrainData",
    "Zoo",
    "ZooConfig",
    "create_zoo",
    "create_zoo_config",
    "default_population_size",
    "init_params",
    "is_zoo",
    "list_zoo_presets",
    "open_zoo",
    "plan_chunks",
    "population_forward",
    "register_zoo",
    "train_population",
    "train_single",
]
