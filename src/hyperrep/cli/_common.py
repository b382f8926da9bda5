"""Arguments several commands share."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hyperrep.zoo import Zoo


def add_models_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", type=int, metavar="N",
                        help="use the zoo's first N models only (by index), e.g. the "
                             "finished part of a zoo that is still growing")  # fmt: skip


def open_zoo_models(path: Path, models: int | None) -> Zoo:
    """The zoo at `path`, or the view of its first `models` models."""
    from hyperrep.zoo import open_zoo

    zoo = open_zoo(path)
    return zoo if models is None else zoo.first(models)
