"""Samplers of new latents from the latents of a zoo's training models (the 2022 paper's
S_U, S_KDE, S_KDE30), each a function of (source latents, n, generator)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hyperrep._errors import HyperrepError
from hyperrep._registry import Registry

Sampler = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]
SAMPLERS: Registry[np.ndarray] = Registry("sampler")  # name -> the sampler itself


@SAMPLERS.register("uniform")
def sample_uniform(latents: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """S_U: each dimension uniform between its smallest and largest source value."""
    low, high = latents.min(axis=0), latents.max(axis=0)
    return rng.uniform(low, high, size=(n, latents.shape[1]))


def scott_bandwidth(values: np.ndarray) -> np.ndarray:
    """Per column, Scott's rule for a 1-D Gaussian KDE: std x n^(-1/5) (as
    `scipy.stats.gaussian_kde` sets it for one dimension)."""
    return values.std(axis=0, ddof=1) * len(values) ** (-1 / 5)


@SAMPLERS.register("kde")
def sample_kde(latents: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """S_KDE: each dimension drawn from its own 1-D Gaussian KDE of the source values
    (Scott's bandwidth), independently of the others."""
    if len(latents) < 2:
        raise HyperrepError("a KDE needs at least 2 source latents")
    picks = rng.integers(0, len(latents), size=(n, latents.shape[1]))
    centres = np.take_along_axis(latents, picks, axis=0)
    return centres + rng.normal(size=centres.shape) * scott_bandwidth(latents)


def list_samplers() -> list[str]:
    """Names of the registered samplers."""
    return SAMPLERS.names()
