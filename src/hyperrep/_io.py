"""Atomic file replacement: readers see the old file or the new one, never a torn one."""

from __future__ import annotations

import errno
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


def reserve_space(path: str | os.PathLike[str]) -> None:
    """Allocate every block of the file at `path` now (it may be sparse, as a fresh
    memory-mapped array is). A write through a memory map into a block the disk cannot
    provide kills the process with SIGBUS; reserved, a full disk is an OSError (ENOSPC)
    here, before any training, instead."""
    with open(path, "r+b") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            return
        try:
            os.posix_fallocate(handle.fileno(), 0, size)
        except OSError as err:
            if err.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                raise  # ENOSPC, EDQUOT, EIO: the caller reports them
