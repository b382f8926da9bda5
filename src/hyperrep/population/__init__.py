"""The population training engine: many models of one architecture trained at once,
each equal to the same model trained alone (`train_single`).

A `ModelSpec` says what decides a model (seed, init, optimizer, activation, learning
rate, l2, dropout); `PopulationTrainer` trains models of one activation / optimizer
group on `TrainData` and returns an `EpochRecord` per epoch. CNNs on the CPU run on C
kernels (`kernel_report`, `native_available`; docs/zoo.md, "Population training").
"""

from typing import TYPE_CHECKING

from hyperrep._lazy import lazy_package

__getattr__, __dir__, __all__ = lazy_package(__name__, __file__)

if TYPE_CHECKING:
    from hyperrep.population._data import DIVERGENCE_LIMIT, EpochRecord, TrainData
    from hyperrep.population._init import INITS, check_init, init_params
    from hyperrep.population._native import (
        FUSED_ACTIVATIONS,
        conv_backward,
        conv_forward,
        kernel_report,
        native_available,
    )
    from hyperrep.population._optim import OPTIMIZERS
    from hyperrep.population._reference import evaluate_single, train_single
    from hyperrep.population._spec import PRECISIONS, TRAIN_METRICS, ModelSpec, check_precision
    from hyperrep.population._trainer import (
        PopulationTrainer,
        default_population_size,
        evaluate_population,
        population_forward,
        train_population,
    )
