"""The training objective and schedule of a hyper-representation, as functions of their
inputs: the views drawn from a batch, the loss of (model, views, batch, settings,
generator), and the learning rate at a step. The trainer (`_train.py`) holds the state."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from hyperrep.arch import Architecture
from hyperrep.representation._config import RunConfig, TrainConfig
from hyperrep.representation._distributed import Ranks
from hyperrep.representation._losses import nt_xent, reconstruction_loss
from hyperrep.representation._model import HyperRepresentation
from hyperrep.weights import Compose, GaussianNoise, PermuteNeurons, RandomErasing, canonicalize


@dataclass
class Views:
    """Draws training views: the encoder's input (permuted, then corrupted) and the
    reconstruction target."""

    permute: PermuteNeurons | None
    corrupt: Compose
    target_kind: str = "view"  # "view", "augmented" or "canonical" (TrainConfig.recon_target)
    arch: Architecture | None = None

    @classmethod
    def from_config(cls, arch: Architecture, config: RunConfig) -> Views:
        t = config.train
        erase = RandomErasing(t.erase_p, t.erase_scale, mode=t.erase_mode, arch=arch)
        corruptions = Compose([GaussianNoise(t.noise_sigma), erase])
        permute = None
        if t.permutation:
            pool = t.permutation_pool or None
            permute = PermuteNeurons(arch, pool, pool_seed=t.seed, pool_mode="per-layer")
        return cls(permute, corruptions, t.recon_target, arch)

    def __call__(
        self, weights: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(corrupted view, reconstruction target)."""
        clean = self.permute(weights, generator) if self.permute is not None else weights
        view = self.corrupt(clean, generator)
        return view, view if self.target_kind == "augmented" else self.target(clean)

    def target(self, clean: torch.Tensor) -> torch.Tensor:
        """What the decoder should output for a clean (permuted) vector, without erasing."""
        if self.target_kind == "canonical":
            return canonicalize(self.arch, clean)
        return clean


def learning_rate(
    train: TrainConfig, step: int, steps_per_epoch: int, *, scale: float = 1.0
) -> float:
    """The learning rate at optimizer step `step`: linear warm-up, then cosine decay to 0
    over the run; with the "plateau" schedule, `train.lr` times the reduce-on-plateau
    factor `scale` reached so far."""
    if train.schedule == "plateau":
        return train.lr * scale
    total = train.epochs * steps_per_epoch
    warmup = max(1, int(train.warmup_epochs * steps_per_epoch))
    if step < warmup:
        return train.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return train.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def objective(
    model: HyperRepresentation,
    views: Views,
    x: torch.Tensor,
    train: TrainConfig,
    generator: torch.Generator,
    *,
    layers: torch.Tensor | None = None,
    ranks: Ranks | None = None,
    shard: bool = False,
    device: str = "cpu",
    behaviour: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """gamma * NT-Xent + (1 - gamma) * reconstruction on batch `x`, and its terms; with
    `behaviour`, plus `train.behaviour_weight` times its value on the decoded weights.

    Two views of each row are drawn from `generator` (one without a contrastive term);
    `layers` (layer id per weight) gives the layer-normalised reconstruction loss. With
    `shard` (training under torchrun) this rank encodes and reconstructs its shard of
    the batch; the projection head and NT-Xent see the gathered batch. `behaviour` gets
    the decoded (normalised) weights of every view, the first view's rows first.
    """
    ranks = ranks or Ranks()
    gamma = train.contrastive_weight
    contrastive = gamma > 0
    split = shard and ranks.distributed
    n = x.shape[0]
    rows = ranks.shard(n) if split else slice(None)
    view1, target1 = (v[rows] for v in views(x, generator))
    if contrastive:
        view2, target2 = (v[rows] for v in views(x, generator))
        inputs, targets = torch.cat([view1, view2]), torch.cat([target1, target2])
    else:
        inputs, targets = view1, target1
    on_cuda = device.startswith("cuda")
    use_amp = train.amp if on_cuda else train.cpu_bf16
    with torch.autocast("cuda" if on_cuda else "cpu", dtype=torch.bfloat16, enabled=use_amp):
        latent = model.encode(inputs)
        projected = None
        if contrastive and split:
            both = [ranks.gather(half.float(), n) for half in latent.chunk(2)]
            projected = model.project_views(torch.cat(both))
        elif contrastive:
            projected = model.project_views(latent)
        decoded = model.decode(latent) if gamma < 1 else None
    terms: dict[str, torch.Tensor] = {}  # losses in float32, outside autocast
    if projected is not None:
        projected = projected.float()
        terms["contrastive"] = nt_xent(projected[:n], projected[n:], temperature=train.temperature)
    if decoded is not None:
        terms["reconstruction"] = reconstruction_loss(decoded.float(), targets, per_layer=layers)
        if split:  # this rank's share of the whole batch's mean, once ranks are averaged
            terms["reconstruction"] = terms["reconstruction"] * (view1.shape[0] * ranks.world / n)
    loss = gamma * terms.get("contrastive", 0.0) + (1 - gamma) * train.recon_scale * terms.get(
        "reconstruction", 0.0
    )
    if behaviour is not None and decoded is not None:
        terms["behaviour"] = behaviour(decoded.float())
        loss = loss + train.behaviour_weight * terms["behaviour"]
    return loss, {k: float(v.detach()) for k, v in terms.items()}
