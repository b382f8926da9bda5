"""Baseline features of flat weight vectors: the raw vector W and weight statistics s(W).

Both are the comparison rows of every result table (REFERENCE.md, "Baselines"). Inputs are
(N, n_params) arrays laid out by an `Architecture`: numpy arrays, numpy memmaps (read chunk
by chunk, never whole) or torch tensors.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from hyperrep._errors import HyperrepError, UnknownNameError
from hyperrep.arch import Architecture

WeightArray = np.ndarray | torch.Tensor

# rows read and processed together, in the working dtype; with the temporaries of one
# group (a sorted copy, a float64 deviation) the peak stays well under 64 MB
_CHUNK_BYTES = 16 * 2**20


@dataclass(frozen=True)
class _Variant:
    spread: str  # "var" or "std", both population (ddof=0)
    percentiles: tuple[int, ...]


WEIGHT_STATISTIC_VARIANTS: dict[str, _Variant] = {
    # Schürholt et al. 2021, s(W): per layer, over its weights only, as every
    # compute_baselines.py of theirs (LayerQuintiles(..., use_bias=False))
    "layer": _Variant("var", (1, 25, 50, 75, 99)),
    # the same statistics over a layer's weights and bias pooled (hyperrep before 0.2)
    "layer-pooled": _Variant("var", (1, 25, 50, 75, 99)),
    # Unterthiner et al. 2020: per weight and per bias tensor
    "tensor": _Variant("std", (0, 25, 50, 75, 100)),
}


def raw_features(arch: Architecture, weights: WeightArray) -> np.ndarray:
    """The raw flat vectors W as a float32 (N, n_params) array.

    Checks that `weights` is 2-D, real-valued and `arch.n_params` wide. A float32 numpy
    array (or memmap) or CPU float32 tensor is returned without a copy, sharing its memory.
    """
    weights = _check_weights(arch, weights)
    if isinstance(weights, torch.Tensor):
        return weights.detach().to("cpu", torch.float32).numpy()
    return np.asarray(weights, dtype=np.float32)


def weight_statistic_names(arch: Architecture, variant: str = "layer") -> list[str]:
    """Readable name of each column of `weight_statistics(arch, ..., variant)`.

    "layer", "layer-pooled": `layer{i}.{stat}` with i the layer's index in `arch.layers`,
    e.g. "layer0.p25";
    "tensor": `{slot name}.{stat}`, e.g. "2.bias.p25". Stats: mean, var or std, p{q}.
    """
    spec = _variant(variant)
    stats = ["mean", spec.spread, *(f"p{q}" for q in spec.percentiles)]
    return [f"{group}.{stat}" for group, _, _ in _groups(arch, variant) for stat in stats]


def weight_statistics(
    arch: Architecture,
    weights: WeightArray,
    *,
    variant: str = "layer",
    progress: bool = False,
    chunk_rows: int | None = None,
) -> np.ndarray:
    """Summary statistics of each weight vector, a float32 (N, F) array.

    variant "layer" (s(W), Schürholt et al. 2021): for each parametric layer, over its
    weights (biases left out, as the authors' baselines do), the mean, the variance and
    the 1/25/50/75/99 percentiles.
    variant "layer-pooled": the same over each layer's weight and bias pooled together.
    variant "tensor" (Unterthiner et al. 2020): for each weight and each bias tensor
    separately, the mean, the standard deviation and the 0/25/50/75/100 percentiles.

    7 features per group, in the order of `weight_statistic_names`. Variance and standard
    deviation are population statistics (ddof=0); percentiles interpolate linearly, as
    `numpy.percentile` does by default. A group that holds a non-finite value (a diverged
    model) gets NaN for all its 7 features; other groups and rows are unaffected.

    Rows are processed in chunks of `chunk_rows` (default: about 16 MB of weights), so a
    memory-mapped zoo is never read whole. `progress` shows a bar over chunks.
    """
    spec = _variant(variant)
    weights = _check_weights(arch, weights)
    if chunk_rows is not None and chunk_rows < 1:
        raise HyperrepError(f"chunk_rows must be positive, got {chunk_rows}")
    groups = _groups(arch, variant)
    n_rows = weights.shape[0]
    work = _working_dtype(weights)
    if chunk_rows is None:
        chunk_rows = max(1, _CHUNK_BYTES // (arch.n_params * work.itemsize))
    out = np.empty((n_rows, 7 * len(groups)), dtype=np.float32)
    bar = tqdm(
        _chunks(n_rows, chunk_rows),
        total=-(-n_rows // chunk_rows),
        unit="chunk",
        disable=not progress,
        desc=f"{variant} weight statistics",
        dynamic_ncols=True,
    )
    for start, stop in bar:
        chunk = _read_rows(weights, start, stop, work)
        for g, (_, lo, hi) in enumerate(groups):
            out[start:stop, 7 * g : 7 * g + 7] = _group_stats(chunk[:, lo:hi], spec)
    return out


def _variant(variant: str) -> _Variant:
    spec = WEIGHT_STATISTIC_VARIANTS.get(variant)
    if spec is None:
        known = ", ".join(WEIGHT_STATISTIC_VARIANTS)
        raise UnknownNameError(f"unknown weight statistics variant {variant!r}; known: {known}")
    return spec


def _groups(arch: Architecture, variant: str) -> list[tuple[str, int, int]]:
    """(name, start, stop) of each group of parameters, in flat-vector order."""
    _variant(variant)
    if variant == "tensor":
        return [(slot.name, slot.offset, slot.stop) for slot in arch.param_slots]
    groups = []
    for layer in arch.parametric_layers:
        slots = [slot for slot in arch.param_slots if slot.layer == layer]
        # a layer's weight and then its bias are adjacent in the flat vector
        stop = slots[-1].stop if variant == "layer-pooled" else slots[0].stop
        groups.append((f"layer{layer}", slots[0].offset, stop))
    return groups


def _check_weights(arch: Architecture, weights: Any) -> WeightArray:
    if not isinstance(weights, np.ndarray | torch.Tensor):
        weights = np.asarray(weights)
    if isinstance(weights, torch.Tensor):
        real = not (weights.is_complex() or weights.dtype == torch.bool)
    else:
        real = weights.dtype.kind in "fiu"
    if weights.ndim != 2 or weights.shape[1] != arch.n_params or not real:
        raise HyperrepError(
            f"weights for {arch.name} must be a real-valued array of shape (N, {arch.n_params}); "
            f"got shape {tuple(weights.shape)} of dtype {weights.dtype}"
        )
    return weights


def _working_dtype(weights: WeightArray) -> np.dtype:
    double = weights.dtype in (np.float64, torch.float64)
    return np.dtype(np.float64 if double else np.float32)


def _read_rows(weights: WeightArray, start: int, stop: int, work: np.dtype) -> np.ndarray:
    if isinstance(weights, torch.Tensor):
        dtype = torch.float64 if work == np.float64 else torch.float32
        return weights[start:stop].detach().to("cpu", dtype).numpy()
    return np.asarray(weights[start:stop], dtype=work)


def _group_stats(block: np.ndarray, spec: _Variant) -> np.ndarray:
    """(rows, 7) statistics of one group's (rows, size) block, as float64."""
    size = block.shape[1]
    stats = np.empty((block.shape[0], 7))
    with np.errstate(invalid="ignore", over="ignore"):
        stats[:, 0] = block.mean(axis=1, dtype=np.float64)
        stats[:, 1] = block.var(axis=1, dtype=np.float64)
        if spec.spread == "std":
            np.sqrt(stats[:, 1], out=stats[:, 1])
        ordered = np.sort(block, axis=1)
        stats[:, 2:] = _interpolate(ordered, size, spec.percentiles)
    stats[~np.isfinite(block).all(axis=1)] = np.nan
    return stats


def _interpolate(ordered: np.ndarray, size: int, percentiles: tuple[int, ...]) -> np.ndarray:
    """Percentiles of sorted rows, with numpy.percentile's "linear" method."""
    position = np.asarray(percentiles, dtype=np.float64) / 100 * (size - 1)
    below = np.floor(position).astype(np.intp)
    above = np.minimum(below + 1, size - 1)
    t = position - below
    a = ordered[:, below].astype(np.float64)
    b = ordered[:, above].astype(np.float64)
    diff = b - a
    # numpy's lerp: measured from the nearer neighbour, so that t=1 gives b exactly
    return np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)


def _chunks(n_rows: int, chunk_rows: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n_rows, chunk_rows):
        yield start, min(start + chunk_rows, n_rows)
