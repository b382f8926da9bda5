"""Hyper-representations: an attention encoder/decoder over neuron tokens, trained with
contrastive and reconstruction losses (variants E_c, ED, E_cD)."""

from typing import TYPE_CHECKING

from hyperrep._lazy import lazy_package
from hyperrep.representation._config import (
    REPRESENTATION_PRESETS,
    RunConfig,
    TrainConfig,
    TransformerConfig,
    Variant,
    representation_preset,
    variant,
)

# the configs are plain data; the model, data and training load torch on first use
__getattr__, __dir__, __all__ = lazy_package(__name__, __file__)

if TYPE_CHECKING:
    from hyperrep.representation._behaviour import Behaviour, probe_inputs, split_behaviours
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
        reconstruction_r2,
    )
    from hyperrep.representation._losses import nt_xent, pooled_r2, reconstruction_loss
    from hyperrep.representation._model import HyperRepresentation
    from hyperrep.representation._objective import Views, learning_rate, objective
    from hyperrep.representation._train import Trainer, selection_score, train_representation
