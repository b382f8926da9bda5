"""Element-wise nonlinearities a zoo can vary."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from hyperrep._errors import UnknownNameError

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "gelu": F.gelu,
}


def activation_fn(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The element-wise function called `name`."""
    if name not in ACTIVATIONS:
        raise UnknownNameError(f"unknown activation {name!r}; known: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def dropout_mask(
    shape: tuple[int, ...], p: float, generator: torch.Generator, device: torch.device | str
) -> torch.Tensor:
    """Inverted-dropout multiplier (0 or 1/(1-p)) drawn from `generator`.

    Both the population trainer and the single-model module draw masks through this
    function, one model at a time, so a model's masks depend on its own seed only.
    """
    keep = torch.rand(shape, generator=generator) >= p  # CPU stream: same masks on any device
    return (keep.to(torch.float32) / (1.0 - p)).to(device)


def stacked_dropout_masks(
    shape: tuple[int, ...],
    dropout: Sequence[float],
    generators: Sequence[torch.Generator],
    device: torch.device | str,
) -> torch.Tensor:
    """Masks (M, *shape) for M models, each drawn from its own generator (ones if p is 0)."""
    masks = [
        dropout_mask(shape, p, g, device) if p > 0 else torch.ones(shape, device=device)
        for p, g in zip(dropout, generators, strict=True)
    ]
    return torch.stack(masks)
