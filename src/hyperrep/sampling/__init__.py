"""Generating models: new latents drawn from those of a zoo's training models (S_U, S_KDE,
S_KDE30 of the 2022 follow-up), decoded into weights, evaluated and saved as state_dicts."""

from typing import TYPE_CHECKING

from hyperrep._lazy import lazy_package

__getattr__, __dir__, __all__ = lazy_package(__name__, __file__)

if TYPE_CHECKING:
    from hyperrep.sampling._decoded import decoded_accuracy
    from hyperrep.sampling._diversity import nearest_distances, sample_diversity
    from hyperrep.sampling._finetune import finetune_samples, finetune_specs
    from hyperrep.sampling._sample import (
        METHODS,
        Samples,
        evaluate_samples,
        sample_models,
        save_samples,
        source_checkpoints,
    )
    from hyperrep.sampling._samplers import (
        SAMPLERS,
        list_samplers,
        sample_kde,
        sample_uniform,
        scott_bandwidth,
    )
