"""What a population trains on and what it records after each epoch."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from hyperrep._errors import HyperrepError
from hyperrep.arch import Architecture

DIVERGENCE_LIMIT = 1e5  # |weight| above this counts as exploded


@dataclass
class TrainData:
    """Training and test tensors, reshaped to the architecture's input shape."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int

    @classmethod
    def for_arch(cls, arch: Architecture, dataset: object, device: torch.device | str) -> TrainData:
        """Take an `ImageDataset` and reshape its images to the architecture's input."""
        tensors = []
        for name in ("x_train", "x_test"):
            x = getattr(dataset, name)
            if math.prod(x.shape[1:]) != math.prod(arch.input_shape):
                raise HyperrepError(
                    f"{arch.name} takes inputs of shape {arch.input_shape}, "
                    f"the data set has {tuple(x.shape[1:])}"
                )
            tensors.append(x.reshape(x.shape[0], *arch.input_shape).float().to(device))
        return cls(
            tensors[0],
            dataset.y_train.to(device),
            tensors[1],
            dataset.y_test.to(device),
            int(dataset.num_classes),
        )

    def without_holdout(self, holdout: int, seed: int) -> TrainData:
        """The training set less `holdout` samples, split off as the authors'
        `torch.utils.data.random_split(train, [n - holdout, holdout],
        generator=torch.Generator().manual_seed(seed))` does: the kept samples are the first
        n - holdout of a seeded permutation, in its order."""
        n = self.x_train.shape[0]
        if not 0 <= holdout < n:
            raise HyperrepError(f"holdout must be in [0, {n}), got {holdout}")
        keep = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[: n - holdout]
        keep = keep.to(self.x_train.device)
        return TrainData(
            self.x_train[keep], self.y_train[keep], self.x_test, self.y_test, self.num_classes
        )

    def subset(self, n_train: int | None, n_test: int | None) -> TrainData:
        """The first `n_train` training and `n_test` test samples (None: all)."""
        return TrainData(
            self.x_train[:n_train],
            self.y_train[:n_train],
            self.x_test[:n_test],
            self.y_test[:n_test],
            self.num_classes,
        )


@dataclass
class EpochRecord:
    """The state of every model of a population after one epoch (0 = initialisation)."""

    epoch: int
    weights: np.ndarray  # (M, n_params) float32
    train_loss: np.ndarray
    train_acc: np.ndarray
    test_loss: np.ndarray
    test_acc: np.ndarray
    test_f1: np.ndarray  # (M, classes)
    diverged: np.ndarray  # (M,) bool: not finite, or weights above DIVERGENCE_LIMIT
