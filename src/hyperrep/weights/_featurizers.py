"""The fixed featurizers of a zoo's weights (the baselines probes compare a learned
representation against), as named objects in one registry: W, s(W), s(W) tensor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hyperrep._registry import Registry
from hyperrep.arch import Architecture
from hyperrep.weights._features import (
    WeightArray,
    raw_features,
    weight_statistic_names,
    weight_statistics,
)


@dataclass(frozen=True)
class Featurizer:
    """A function of (architecture, weights (N, n_params)) -> features (N, width)."""

    name: str  # the column name reports use, e.g. "s(W)"
    description: str
    compute: Callable[[Architecture, WeightArray], np.ndarray]
    feature_names: Callable[[Architecture], list[str]]

    def __call__(self, arch: Architecture, weights: WeightArray) -> np.ndarray:
        return self.compute(arch, weights)

    def width(self, arch: Architecture) -> int:
        """Number of features it gives for `arch`."""
        return len(self.feature_names(arch))


FEATURIZERS: Registry[Featurizer] = Registry("featurizer")


def register_featurizer(featurizer: Featurizer) -> Featurizer:
    """Add a featurizer under its name (reports and `predict` find it by that name)."""
    FEATURIZERS.register(featurizer.name)(lambda: featurizer)
    return featurizer


def featurizer(name: str) -> Featurizer:
    """The featurizer called `name` ("W", "s(W)", "s(W) tensor", ...)."""
    return FEATURIZERS.create(name)


def list_featurizers() -> list[Featurizer]:
    """Every registered featurizer, in the order they were registered."""
    return [FEATURIZERS.create(name) for name in FEATURIZERS.registered()]


def _statistics(variant: str) -> tuple[Callable, Callable]:
    return (
        lambda arch, w: weight_statistics(arch, w, variant=variant),
        lambda arch: weight_statistic_names(arch, variant),
    )


register_featurizer(
    Featurizer(
        "W",
        "the flat weight vector",
        raw_features,
        lambda arch: [f"w{i}" for i in range(arch.n_params)],
    )
)
register_featurizer(
    Featurizer(
        "s(W)",
        "per layer: mean, variance, 1/25/50/75/99th percentiles (the paper's s(W))",
        *_statistics("layer"),
    )
)
register_featurizer(
    Featurizer(
        "s(W) tensor",
        "per weight and bias tensor: mean, std, 0/25/50/75/100th percentiles "
        "(Unterthiner et al. 2020)",
        *_statistics("tensor"),
    )
)
