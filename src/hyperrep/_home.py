"""Where hyperrep keeps things outside any working copy.

- `data_home()`: long-lived outputs (zoos, runs, reports): `$HYPERREP_HOME` if set, else
  the XDG user data folder (`$XDG_DATA_HOME/hyperrep`, or `~/.local/share/hyperrep`), so
  a fresh clone of a project finds and resumes the builds of the last one.
- `cache_home()`: what can be rebuilt (compiled kernels, downloaded data sets):
  `$HYPERREP_CACHE` if set, else `$XDG_CACHE_HOME/hyperrep`, or `~/.cache/hyperrep`.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_home() -> Path:
    """The folder for zoos, runs and reports of long experiments."""
    explicit = os.environ.get("HYPERREP_HOME")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "hyperrep"


def cache_home() -> Path:
    """The folder for compiled kernels and downloaded data sets."""
    explicit = os.environ.get("HYPERREP_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "hyperrep"
