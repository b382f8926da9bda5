"""Per-layer standardisation of weights (splits and checkpoint loading live with the zoo:
`hyperrep.zoo.load_checkpoints`)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hyperrep.arch import Architecture
from hyperrep.representation._losses import layer_ids
from hyperrep.zoo import SPLITS, CheckpointData, load_checkpoints, split_models


@dataclass
class Normalizer:
    """Per-layer standardisation: one mean and std per parametric layer, broadcast to
    every position of that layer (so it commutes with permutations)."""

    mean: torch.Tensor  # (n_params,)
    std: torch.Tensor  # (n_params,)

    @classmethod
    def fit(cls, arch: Architecture, weights: torch.Tensor) -> Normalizer:
        ids = layer_ids(arch)
        mean, std = torch.empty(arch.n_params), torch.empty(arch.n_params)
        for layer in ids.unique():
            values = weights[:, ids == layer].double()
            mean[ids == layer] = float(values.mean())
            std[ids == layer] = float(values.std()) or 1.0
        return cls(mean, std)

    @classmethod
    def identity(cls, arch: Architecture) -> Normalizer:
        return cls(torch.zeros(arch.n_params), torch.ones(arch.n_params))

    def forward(self, weights: torch.Tensor) -> torch.Tensor:
        return (weights - self.mean.to(weights.device)) / self.std.to(weights.device)

    def inverse(self, weights: torch.Tensor) -> torch.Tensor:
        return weights * self.std.to(weights.device) + self.mean.to(weights.device)


__all__ = ["SPLITS", "CheckpointData", "Normalizer", "load_checkpoints", "split_models"]
