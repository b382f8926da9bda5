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
from functools import cache
from typing import TYPE_CHECKING

from hyperrep._errors import UnknownNameError
from hyperrep.arch import Architecture

if TYPE_CHECKING:
    import torch

AUTHORS_BIAS = 0.01
INIT_SCHEME_NAMES = ("authors", "fan-in", "imported")  # imported: names as the source has them
INITS = (
    "uniform",
    "normal",
    "kaiming_uniform",
    "kaiming_normal",
    "xavier_uniform",
    "xavier_normal",
)


def _fan_in(w: torch.Tensor) -> int:
    return math.prod(w.shape[1:])


@cache
def _schemes() -> dict[str, dict[str, Callable[[torch.Tensor, torch.Generator], object]]]:
    """Each scheme's draw per method (built on first use: it needs torch)."""
    from torch.nn import init as nn_init

    def fan_in_uniform(w: torch.Tensor, g: torch.Generator) -> None:
        bound = 1.0 / math.sqrt(_fan_in(w))
        nn_init.uniform_(w, -bound, bound, generator=g)

    def fan_in_normal(w: torch.Tensor, g: torch.Generator) -> None:
        nn_init.normal_(w, 0.0, 1.0 / math.sqrt(_fan_in(w)), generator=g)

    torch_defaults = {
        "kaiming_uniform": lambda w, g: nn_init.kaiming_uniform_(w, generator=g),
        "kaiming_normal": lambda w, g: nn_init.kaiming_normal_(w, generator=g),
        "xavier_uniform": lambda w, g: nn_init.xavier_uniform_(w, generator=g),
        "xavier_normal": lambda w, g: nn_init.xavier_normal_(w, generator=g),
    }
    return {
        "authors": {
            "uniform": lambda w, g: nn_init.uniform_(w, 0.0, 1.0, generator=g),
            "normal": lambda w, g: nn_init.normal_(w, 0.0, 1.0, generator=g),
            **torch_defaults,
        },
        "fan-in": {
            "uniform": fan_in_uniform,
            "normal": fan_in_normal,
            "kaiming_uniform": lambda w, g: nn_init.kaiming_uniform_(
                w, 0, nonlinearity="relu", generator=g
            ),
            "kaiming_normal": lambda w, g: nn_init.kaiming_normal_(
                w, 0, nonlinearity="relu", generator=g
            ),
            "xavier_uniform": torch_defaults["xavier_uniform"],
            "xavier_normal": torch_defaults["xavier_normal"],
        },
    }


def check_init(method: str, scheme: str) -> None:
    """Raise a one-line error for an unknown init method or scheme."""
    if scheme not in INIT_SCHEME_NAMES:
        raise UnknownNameError(
            f"unknown init scheme {scheme!r}; known: {', '.join(INIT_SCHEME_NAMES)}"
        )
    if method not in INITS and scheme != "imported":
        raise UnknownNameError(f"unknown init {method!r}; known: {', '.join(INITS)}")


def init_params(
    arch: Architecture, method: str, generator: torch.Generator, *, scheme: str = "authors"
) -> list[torch.Tensor]:
    """One model's parameters, one tensor per slot, in slot order.

    `method` sets the weights as `scheme` defines it; biases are 0.01 ("authors") or
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) ("fan-in"). Draws happen in slot order.
    """
    import torch

    check_init(method, scheme)
    if scheme == "imported":
        raise UnknownNameError("an imported zoo's models cannot be initialised here")
    draw = _schemes()[scheme][method]
    tensors: list[torch.Tensor] = []
    weight_of_layer: dict[int, torch.Tensor] = {}
    for slot in arch.param_slots:
        t = torch.empty(slot.shape)
        fixed = arch.layers[slot.layer].fixed_init(slot.kind)
        if fixed is not None:  # a BatchNorm's scale and shift
            t.fill_(fixed)
        elif slot.kind == "weight":
            draw(t, generator)
            weight_of_layer[slot.layer] = t
        elif scheme == "authors":
            t.fill_(AUTHORS_BIAS)
        else:
            bound = 1.0 / math.sqrt(_fan_in(weight_of_layer[slot.layer]))
            torch.nn.init.uniform_(t, -bound, bound, generator=generator)
        tensors.append(t)
    return tensors
