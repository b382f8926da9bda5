"""Contrastive (NT-Xent) and reconstruction losses."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hyperrep.arch import Architecture


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, *, temperature: float = 0.1) -> torch.Tensor:
    """SimCLR's normalised temperature-scaled cross-entropy over 2B views.

    Row i of z1 and row i of z2 are a positive pair; every other of the 2B - 1 rows is
    a negative (2(B - 1) negatives per pair). Similarity is the cosine.
    """
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = z1.shape[0]
    sim = z @ z.T / temperature
    sim.fill_diagonal_(float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, targets)


def layer_ids(arch: Architecture) -> torch.Tensor:
    """(n_params,) index of the parametric layer each flat position belongs to."""
    ids = torch.empty(arch.n_params, dtype=torch.int64)
    for rank, layer in enumerate(arch.parametric_layers):
        for slot in arch.param_slots:
            if slot.layer == layer:
                ids[slot.offset : slot.stop] = rank
    return ids


def reconstruction_loss(
    pred: torch.Tensor, target: torch.Tensor, *, per_layer: torch.Tensor | None = None
) -> torch.Tensor:
    """MSE over the whole vector, or with `per_layer` (layer ids) the mean of per-layer MSEs."""
    err = (pred - target).pow(2)
    if per_layer is None:
        return err.mean()
    n_layers = int(per_layer.max()) + 1
    sums = torch.zeros(n_layers, device=err.device, dtype=err.dtype)
    sums.index_add_(0, per_layer.to(err.device), err.sum(0))
    counts = torch.bincount(per_layer, minlength=n_layers).to(err.device) * err.shape[0]
    return (sums / counts).mean()


def pooled_r2(pred: torch.Tensor, target: torch.Tensor) -> float:
    """R² pooled over every entry (not per column as sklearn's `r2_score`): 1 - MSE / MSE
    of predicting the mean vector of `target` (over rows)."""
    mse = (pred - target).pow(2).mean()
    baseline = (target - target.mean(0, keepdim=True)).pow(2).mean()
    return float(1 - mse / baseline)
