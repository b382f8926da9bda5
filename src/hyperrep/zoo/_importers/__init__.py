"""Zoos others published, imported into the zoo format: `hyperrep zoo import FORMAT SRC`.

Formats, one module each, registered in `IMPORTERS` (`_common.py`): **unterthiner**
(`_unterthiner.py`, the Small CNN Zoo of Unterthiner et al. 2020) and **raytune**
(`_raytune.py`, trial folders as Ray Tune writes them, the Model Zoos data set).
"""

from __future__ import annotations

from pathlib import Path

from hyperrep.zoo._importers import _raytune, _unterthiner  # noqa: F401 (register formats)
from hyperrep.zoo._importers._common import IMPORTERS
from hyperrep.zoo._zoo import Zoo


def import_zoo(fmt: str, source: str | Path, out: str | Path, *, progress: bool = True) -> Zoo:
    """Import the zoo at `source`, in format `fmt` (see `list_import_formats`), to `out`."""
    return IMPORTERS.create(fmt, source=Path(source), out=Path(out), progress=progress)


def list_import_formats() -> list[str]:
    return IMPORTERS.names()
