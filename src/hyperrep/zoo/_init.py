"""Initialisation methods for a model's parameters, drawn from a seeded generator."""

from __future__ import annotations

import math

import torch
from torch.nn import init as nn_init

from hyperrep._errors import UnknownNameError
from hyperrep.arch import Architecture


def _uniform(w: torch.Tensor, g: torch.Generator) -> None:
    bound = 1.0 / math.sqrt(_fan_in(w))
    nn_init.uniform_(w, -bound, bound, generator=g)


def _normal(w: torch.Tensor, g: torch.Generator) -> None:
    nn_init.normal_(w, 0.0, 1.0 / math.sqrt(_fan_in(w)), generator=g)


INITS = {
    "uniform": _uniform,
    "normal": _normal,
    "kaiming_uniform": lambda w, g: nn_init.kaiming_uniform_(w, nonlinearity="relu", generator=g),
    "kaiming_normal": lambda w, g: nn_init.kaiming_normal_(w, nonlinearity="relu", generator=g),
    "xavier_uniform": lambda w, g: nn_init.xavier_uniform_(w, generator=g),
    "xavier_normal": lambda w, g: nn_init.xavier_normal_(w, generator=g),
}


def _fan_in(w: torch.Tensor) -> int:
    return math.prod(w.shape[1:])


def init_params(arch: Architecture, method: str, generator: torch.Generator) -> list[torch.Tensor]:
    """One model's parameters, one tensor per slot, in slot order.

    `method` sets the weights; biases always take PyTorch's default
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)). Draws happen in slot order.
    """
    if method not in INITS:
        raise UnknownNameError(f"unknown init {method!r}; known: {', '.join(INITS)}")
    tensors: list[torch.Tensor] = []
    weight_of_layer: dict[int, torch.Tensor] = {}
    for slot in arch.param_slots:
        t = torch.empty(slot.shape)
        if slot.kind == "weight":
            INITS[method](t, generator)
            weight_of_layer[slot.layer] = t
        else:
            bound = 1.0 / math.sqrt(_fan_in(weight_of_layer[slot.layer]))
            nn_init.uniform_(t, -bound, bound, generator=generator)
        tensors.append(t)
    return tensors
