"""Atomic file replacement (readers see the old file or the new one, never a torn one)
and a free-space check before long jobs write."""

from __future__ import annotations

import errno
import json
import os
import shutil
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


def _existing(path: Path) -> Path:
    """`path` or its nearest existing parent (where a new folder would be made)."""
    path = path.absolute()
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def human_bytes(n: float) -> str:
    """A byte count as people read it: 5.4 GB, 800 MB, 12 kB."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def check_free_space(path: str | os.PathLike[str], needed: int, what: str) -> None:
    """Refuse, with the numbers, to start writing `needed` bytes of `what` under `path`
    when its file system has less free space than that."""
    from hyperrep._errors import HyperrepError

    free = shutil.disk_usage(_existing(Path(path))).free
    if needed > free:
        raise HyperrepError(
            f"not enough free space for {what} in {path}: {human_bytes(needed)} needed, "
            f"{human_bytes(free)} free"
        )
