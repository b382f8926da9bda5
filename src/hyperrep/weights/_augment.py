"""Seeded, batched augmentations of flat weight vectors for self-supervised training.

Every augmentation is a callable ``(weights (B, n_params), generator) -> weights`` that
draws all its randomness from the given CPU generator, so a seed fixes the views.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from hyperrep._errors import HyperrepError
from hyperrep.arch import Architecture
from hyperrep.weights._permutation import PermutationPool, permute, random_permutations
from hyperrep.weights._tokens import token_layout


@dataclass
class PermuteNeurons:
    """Random permutation of every hidden layer's units, one per sample.

    Fresh permutations by default; with `pool_size`, draws from a fixed pool of that many
    permutations made from `pool_seed` (`pool_mode` "per-layer" is the authors' pool).
    """

    arch: Architecture
    pool_size: int | None = None
    pool_seed: int = 0
    pool_mode: str = "joint"
    _pool: PermutationPool | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.pool_size is not None:
            self._pool = PermutationPool(
                self.arch, self.pool_size, self.pool_seed, mode=self.pool_mode
            )

    def __call__(self, weights: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        batch = weights.shape[0]
        if self._pool is not None:
            perms = self._pool.sample(batch, generator)
        else:
            perms = random_permutations(self.arch, batch, generator)
        return permute(self.arch, weights, perms)


@dataclass
class GaussianNoise:
    """Adds N(0, sigma^2) noise to every weight."""

    sigma: float

    def __call__(self, weights: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.sigma == 0:
            return weights
        noise = torch.randn(weights.shape, generator=generator).to(weights.device)
        return weights + self.sigma * noise


@dataclass
class RandomErasing:
    """With probability `p`, sets one contiguous span of each vector to `value`.

    mode "block": a span of a U(scale) fraction of all parameters, uniformly placed.
    mode "block-retry": the authors' draw (random_erasing.py): length floor(U(scale) * n)
    and a start uniform over the whole vector, redrawn up to 10 times until the span
    fits (start + length < n); no erasing if none fits.
    mode "token": a span of whole neuron tokens (a U(scale) fraction of the tokens, at
    least one), so erasing never cuts a token in half; needs `arch`.
    """

    p: float = 0.5
    scale: tuple[float, float] = (0.02, 0.33)
    mode: str = "block"
    value: float = 0.0
    arch: Architecture | None = None

    def __post_init__(self) -> None:
        lo, hi = self.scale
        if not 0 <= lo <= hi <= 1 or not 0 <= self.p <= 1:
            raise HyperrepError(
                f"random erasing needs 0 <= p <= 1 and 0 <= lo <= hi <= 1, "
                f"got p={self.p}, scale={self.scale}"
            )
        if self.mode not in ("block", "block-retry", "token"):
            raise HyperrepError(
                f"unknown erasing mode {self.mode!r}; known: block, block-retry, token"
            )
        if self.mode == "token" and self.arch is None:
            raise HyperrepError("token-aligned erasing needs the architecture")

    def __call__(self, weights: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        batch, n = weights.shape
        if self.mode == "token":
            position = token_layout(self.arch).token_of_param
            length = token_layout(self.arch).n_tokens
        else:
            position, length = torch.arange(n), n
        apply = torch.rand(batch, generator=generator) < self.p
        if self.mode == "block-retry":
            start, span, fits = _retried_spans(batch, n, self.scale, generator)
            apply &= fits
        else:
            start, span = self._span(batch, length, generator)
        pos = position.view(1, -1)
        mask = apply[:, None] & (pos >= start[:, None]) & (pos < (start + span)[:, None])
        return weights.masked_fill(mask.to(weights.device), self.value)

    def _span(
        self, batch: int, length: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        fraction = torch.empty(batch).uniform_(*self.scale, generator=generator)
        span = (fraction * length).round().long().clamp(1 if self.mode == "token" else 0, length)
        start = (torch.rand(batch, generator=generator) * (length - span + 1)).long()
        return start, span


def _retried_spans(
    batch: int, n: int, scale: tuple[float, float], generator: torch.Generator, tries: int = 10
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(start, length, whether any try fitted) of the authors' block erasing, per sample."""
    span = (torch.empty(batch, tries).uniform_(*scale, generator=generator) * n).long()
    start = torch.randint(n, (batch, tries), generator=generator)
    ok = start + span < n
    pick = ok.long().argmax(1, keepdim=True)  # the first try that fits (0 if none)
    return start.gather(1, pick)[:, 0], span.gather(1, pick)[:, 0], ok.any(1)


@dataclass
class Compose:
    """Applies augmentations in order."""

    augmentations: Sequence

    def __call__(self, weights: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        for augmentation in self.augmentations:
            weights = augmentation(weights, generator)
        return weights
