"""Where hyperrep keeps long-lived outputs (zoos, runs, reports) by default.

`$HYPERREP_HOME` if set, else the XDG user data folder (`$XDG_DATA_HOME/hyperrep`, or
`~/.local/share/hyperrep`): outside any working copy, so a fresh clone of a project
finds and resumes the builds of the last one.
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
