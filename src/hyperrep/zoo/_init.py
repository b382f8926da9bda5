"""Initialisation of a model's parameters, drawn from a seeded generator.

Two schemes name what an init method means:

- ``authors`` (the default of every preset): as the authors' `def_net.py`
  (`initialize_weights`): ``uniform`` is U(0, 1), ``normal`` is N(0, 1), kaiming_* and
  xavier_* are PyTorch's functions with default arguments, and every bias is 0.01.
- ``fan-in`` (hyperrep before zoo format 2): ``uniform`` is U(+-1/sqrt(fan_in)),
  ``normal`` N(0, 1/sqrt(fan_in)), biases PyTorch's default U(+-1/sqrt(fan_in));
  kaiming_* / xavier_* are the same functions as above (kaiming for ReLU has the gain
  sqrt 2 of PyTorch's default a = 0), drawn in a different order (biases are random).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch.nn import init as nn_init

from hyperrep._errors import UnknownNameError
from hyperrep.arch import Architecture

_Init = Callable[[torch.Tensor, torch.Generator], object]
AUTHORS_BIAS = 0.01


def _fan_in(w: torch.Tensor) -> int:
    return math.prod(w.shape[1:])


def _fan_in_uniform(w: torch.Tensor, g: torch.Generator) -> None:
    bound = 1.0 / math.sqrt(_fan_in(w))
    nn_init.uniform_(w, -bound, bound, generator=g)


def _fan_in_normal(w: torch.Tensor, g: torch.Generator) -> None:
    nn_init.normal_(w, 0.0, 1.0 / math.sqrt(_fan_in(w)), generator=g)


_TORCH_DEFAULTS: dict[str, _Init] = {
    "kaiming_uniform": lambda w, g: nn_init.kaiming_uniform_(w, generator=g),
    "kaiming_normal": lambda w, g: nn_init.kaiming_normal_(w, generator=g),
    "xavier_uniform": lambda w, g: nn_init.xavier_uniform_(w, generator=g),
    "xavier_normal": lambda w, g: nn_init.xavier_normal_(w, generator=g),
}

INIT_SCHEMES: dict[str, dict[str, _Init]] = {
    "authors": {
        "uniform": lambda w, g: nn_init.uniform_(w, 0.0, 1.0, generator=g),
        "normal": lambda w, g: nn_init.normal_(w, 0.0, 1.0, generator=g),
        **_TORCH_DEFAULTS,
    },
    "fan-in": {
        "uniform": _fan_in_uniform,
        "normal": _fan_in_normal,
        "kaiming_uniform": lambda w, g: nn_init.kaiming_uniform_(
            w, 0, nonlinearity="relu", generator=g
        ),
        "kaiming_normal": lambda w, g: nn_init.kaiming_normal_(
            w, 0, nonlinearity="relu", generator=g
        ),
        "xavier_uniform": _TORCH_DEFAULTS["xavier_uniform"],
        "xavier_normal": _TORCH_DEFAULTS["xavier_normal"],
    },
}
INITS = tuple(INIT_SCHEMES["authors"])


def check_init(method: str, scheme: str) -> None:
    """Raise a one-line error for an unknown init method or scheme."""
    if scheme not in INIT_SCHEMES:
        raise UnknownNameError(f"unknown init scheme {scheme!r}; known: {', '.join(INIT_SCHEMES)}")
    if method not in INIT_SCHEMES[scheme]:
        raise UnknownNameError(f"unknown init {method!r}; known: {', '.join(INITS)}")


def init_params(
    arch: Architecture, method: str, generator: torch.Generator, scheme: str = "authors"
) -> list[torch.Tensor]:
    """One model's parameters, one tensor per slot, in slot order.

    `method` sets the weights as `scheme` defines it; biases are 0.01 ("authors") or
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) ("fan-in"). Draws happen in slot order.
    """
    check_init(method, scheme)
    draw = INIT_SCHEMES[scheme][method]
    tensors: list[torch.Tensor] = []
    weight_of_layer: dict[int, torch.Tensor] = {}
    for slot in arch.param_slots:
        t = torch.empty(slot.shape)
        if slot.kind == "weight":
            draw(t, generator)
            weight_of_layer[slot.layer] = t
        elif scheme == "authors":
            t.fill_(AUTHORS_BIAS)
        else:
            bound = 1.0 / math.sqrt(_fan_in(weight_of_layer[slot.layer]))
            nn_init.uniform_(t, -bound, bound, generator=generator)
        tensors.append(t)
    return tensors
