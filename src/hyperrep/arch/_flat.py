"""Conversion between parameter tensors and flat vectors, batched over models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from hyperrep._errors import HyperrepError
from hyperrep.arch._spec import Architecture


def flatten_params(arch: Architecture, params: Sequence[torch.Tensor]) -> torch.Tensor:
    """Stacked parameter tensors (one per slot, leading model axis) -> (models, n_params)."""
    slots = arch.param_slots
    if len(params) != len(slots):
        raise HyperrepError(f"{arch.name}: expected {len(slots)} tensors, got {len(params)}")
    return torch.cat([p.reshape(p.shape[0], -1) for p in params], dim=1)


def unflatten_params(arch: Architecture, vectors: torch.Tensor) -> list[torch.Tensor]:
    """(models, n_params) -> one tensor per slot with a leading model axis (views)."""
    if vectors.ndim != 2 or vectors.shape[1] != arch.n_params:
        raise HyperrepError(
            f"{arch.name}: expected vectors of shape (models, {arch.n_params}), "
            f"got {tuple(vectors.shape)}"
        )
    m = vectors.shape[0]
    return [vectors[:, s.offset : s.stop].reshape(m, *s.shape) for s in arch.param_slots]


def state_dict_to_vector(arch: Architecture, state: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """One model's state_dict -> its flat vector of length n_params."""
    parts = []
    for slot in arch.param_slots:
        if slot.name not in state:
            raise HyperrepError(f"{arch.name}: state_dict lacks {slot.name!r}")
        tensor = state[slot.name]
        if tuple(tensor.shape) != slot.shape:
            raise HyperrepError(
                f"{arch.name}: {slot.name} has shape {tuple(tensor.shape)}, expected {slot.shape}"
            )
        parts.append(tensor.reshape(-1))
    return torch.cat(parts)


def vector_to_state_dict(arch: Architecture, vector: torch.Tensor) -> dict[str, torch.Tensor]:
    """One flat vector -> a state_dict for `to_module(arch)`."""
    tensors = unflatten_params(arch, vector.reshape(1, -1))
    return {s.name: t[0].clone() for s, t in zip(arch.param_slots, tensors, strict=True)}
