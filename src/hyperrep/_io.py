"""Atomic file replacement: readers see the old file or the new one, never a torn one."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path next to `path` to write to; on success it is synced to disk and
    renamed over `path`, on failure removed. The name (".NAME.tmp") is one that folder
    checks recognise as a writer's leftover."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> None:
    """Write JSON atomically (see `atomic_path`)."""
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        json.dump(data, fh, indent=2)


def read_json(path: str | os.PathLike[str]) -> Any:
    with open(path) as fh:
        return json.load(fh)
