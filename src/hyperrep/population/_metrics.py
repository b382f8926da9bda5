"""Per-model evaluation metrics, accumulated over batches of a data set."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


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

    def add(
        self,
        logits: torch.Tensor,
        labels: torch.Tensor,
        class_dim: int = -1,
        confusion: bool = True,
    ) -> None:
        """Add a batch: logits (M, B, K), or (M, K, B) with class_dim=1, for labels (B,)
        shared by all models or (M, B) one batch per model. `confusion=False` skips the
        confusion counts (for running training metrics, which need loss and accuracy only).
        """
        logits = logits.float()
        m, k = logits.shape[0], logits.shape[class_dim]
        b = labels.shape[-1]
        labels = labels.view(-1, b)  # (1 or M, B)
        peak = logits.amax(class_dim, keepdim=True)
        log_norm = (logits - peak).exp_().sum(class_dim, keepdim=True).log_().add_(peak)
        index = labels.unsqueeze(-1) if class_dim == -1 else labels.unsqueeze(1)
        picked = logits.gather(class_dim, index.expand(*_with(logits.shape, class_dim, 1)))
        self.loss_sum += (log_norm - picked).view(m, b).sum(1).double()
        pred = _argmax(logits, class_dim)
        self.correct += (pred == labels).sum(1)
        if confusion:
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


def _with(shape: torch.Size, dim: int, size: int) -> list[int]:
    out = list(shape)
    out[dim] = size
    return out


def _argmax(logits: torch.Tensor, dim: int) -> torch.Tensor:
    """First index of the maximum along a short `dim`; torch.argmax is slow there on CPU."""
    best = logits.select(dim, 0)
    pred = torch.zeros(best.shape, dtype=torch.int64, device=logits.device)
    for c in range(1, logits.shape[dim]):
        value = logits.select(dim, c)
        better = value > best
        pred.masked_fill_(better, c)
        best = torch.where(better, value, best)
    return pred
