"""Arguments several commands share."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hyperrep.zoo import Zoo


def add_models_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models",
        type=int,
        metavar="N",
        help="use the zoo's first N models only (by index), e.g. the "
        "finished part of a zoo that is still growing",
    )


MAX_PERMUTATIONS = 1024


def _permutation_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 1 <= value <= MAX_PERMUTATIONS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_PERMUTATIONS}, got {value}")
    return value


def add_permutation_average_argument(
    parser: argparse.ArgumentParser, default: int | None, default_text: str
) -> None:
    parser.add_argument(
        "--permutation-average",
        type=_permutation_count,
        metavar="K",
        default=default,
        help="also probe each run's latent averaged over K neuron permutations "
        "of the input, the first the identity (column 'NAME avgK'; "
        f"default {default_text})",
    )


def _weight_limit(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def add_weight_limit_argument(parser: argparse.ArgumentParser, default_text: str) -> None:
    """--weight-limit L: checkpoints with a |weight| above L are left out of the data set."""
    parser.add_argument(
        "--weight-limit",
        type=_weight_limit,
        metavar="L",
        help="leave out checkpoints holding a weight or bias of magnitude above L, as "
        f"exploded (the authors' data-set loader: 5; default: {default_text})",
    )


def open_zoo_models(path: Path, models: int | None) -> Zoo:
    """The zoo at `path`, or the view of its first `models` models."""
    from hyperrep.zoo import open_zoo

    zoo = open_zoo(path)
    return zoo if models is None else zoo.first(models)
