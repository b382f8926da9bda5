"""Per-model evaluation metrics, accumulated over batches of a data set."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class Tally:
    """Running sums for M models over one data set."""

    loss_sum: torch.Tensor  # (M,)
    correct: torch.Tensor  # (M,)
    confusion: torch.Tensor  # (M, K, K): [model, predicted, true]
    count: int = 0

    @classmethod
    def zeros(cls, models: int, classes: int, device: torch.device | str) -> Tally:
        return cls(
            torch.zeros(models, dtype=torch.float64, device=device),
            torch.zeros(models, dtype=torch.int64, device=device),
            torch.zeros(models, classes, classes, dtype=torch.int64, device=device),
        )

    def add(self, logits: torch.Tensor, labels: torch.Tensor) -> None:
        """Add a batch: logits (M, B, K) for labels (B,) shared by all models."""
        m, b, k = logits.shape
        flat_labels = labels.expand(m, b).reshape(-1)
        loss = F.cross_entropy(logits.reshape(m * b, k).float(), flat_labels, reduction="none")
        self.loss_sum += loss.view(m, b).sum(1).double()
        pred = logits.argmax(-1)
        self.correct += (pred == labels).sum(1)
        cell = (torch.arange(m, device=logits.device)[:, None] * k + pred) * k + labels
        self.confusion += torch.bincount(cell.reshape(-1), minlength=m * k * k).view(m, k, k)
        self.count += b

    def loss(self) -> np.ndarray:
        return (self.loss_sum / self.count).cpu().numpy()

    def accuracy(self) -> np.ndarray:
        return (self.correct.double() / self.count).cpu().numpy()

    def f1(self) -> np.ndarray:
        """Per-class F1 score (M, K); 0 where a class is neither predicted nor present."""
        conf = self.confusion.double()
        tp = torch.diagonal(conf, dim1=1, dim2=2)
        denom = conf.sum(2) + conf.sum(1)  # predicted + true counts per class
        f1 = torch.where(denom > 0, 2 * tp / denom.clamp(min=1), torch.zeros_like(tp))
        return f1.cpu().numpy()
