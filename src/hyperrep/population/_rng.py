"""Per-model random streams: a model's seed alone decides its randomness."""

from __future__ import annotations

import numpy as np
import torch

INIT_STREAM, ORDER_STREAM, DROPOUT_STREAM = 0, 1, 2


def model_generator(seed: int, stream: int) -> torch.Generator:
    """A CPU generator for one of a model's independent streams (init, data order, dropout)."""
    state = np.random.SeedSequence([int(seed), stream]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state >> np.uint64(1)))


def epoch_order(generator: torch.Generator, n: int) -> torch.Tensor:
    """The order in which one model visits the n training samples in one epoch."""
    return torch.randperm(n, generator=generator)
