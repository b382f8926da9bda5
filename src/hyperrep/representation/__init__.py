"""Hyper-representations: an attention encoder/decoder over neuron tokens, trained with
contrastive and reconstruction losses (variants E_c, ED, E_cD)."""

from hyperrep.representation._config import (
    REPRESENTATION_PRESETS,
    ModelConfig,
    RunConfig,
    TrainConfig,
    representation_preset,
)
from hyperrep.representation._data import (
    CheckpointData,
    Normalizer,
    load_checkpoints,
    split_models,
)
from hyperrep.representation._distributed import Ranks, ranks_from_env
from hyperrep.representation._embed import (
    TrainedRun,
    embed_zoo,
    load_run,
    test_reconstruction_r2,
)
from hyperrep.representation._losses import nt_xent, r2_score, reconstruction_loss
from hyperrep.representation._model import HyperRepresentation
from hyperrep.representation._train import selection_score, train_representation

__all__ = [
    "CheckpointData",
    "REPRESENTATION_PRESETS",
    "HyperRepresentation",
    "ModelConfig",
    "Normalizer",
    "Ranks",
    "RunConfig",
    "TrainConfig",
    "TrainedRun",
    "embed_zoo",
    "load_checkpoints",
    "load_run",
    "nt_xent",
    "r2_score",
    "ranks_from_env",
    "reconstruction_loss",
    "representation_preset",
    "selection_score",
    "split_models",
    "test_reconstruction_r2",
    "train_representation",
]
