"""One writer per zoo or run folder: an OS file lock held while a command writes.

The lock is `filelock`'s (flock on POSIX): the operating system drops it when the holder
exits or is killed, so a stale lock never blocks anyone. Who holds it is written to a
small JSON file next to it, only to name the holder in the refusal. Readers never lock.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from filelock import FileLock, Timeout

from hyperrep._errors import HyperrepError

LOCK_FILE = ".hyperrep.lock"
HOLDER_FILE = ".hyperrep.lock.holder"
LOCK_FILES = frozenset({LOCK_FILE, HOLDER_FILE})


def _holder(folder: Path) -> str:
    try:
        info = json.loads((folder / HOLDER_FILE).read_text())
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info["started"]))
        return f"pid {info['pid']} on {info['host']}, since {started}: {info['command']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown"


@contextmanager
def writer_lock(folder: str | Path, what: str = "folder") -> Iterator[None]:
    """Hold the writer lock of `folder` (created if missing) for the `with` block; refuse
    with one line naming the holder if another process has it."""
    folder = Path(folder)
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = FileLock(folder / LOCK_FILE, timeout=0)
        lock.acquire()
    except Timeout:
        raise HyperrepError(
            f"{folder}: this {what} is being written by another process ({_holder(folder)}); "
            "wait for it to finish or stop it, then run again"
        ) from None
    except OSError as err:
        raise HyperrepError(f"cannot write a {what} to {folder}: {err.strerror or err}") from err
    try:
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.time(),
            "command": " ".join(sys.argv)[:300],
        }
        with suppress(OSError):  # the name is a courtesy; the lock is what counts
            (folder / HOLDER_FILE).write_text(json.dumps(holder))
        yield
    except BaseException:
        if created and is_unclaimed(folder):  # leave nothing behind on failure
            for entry in folder.iterdir():
                entry.unlink()
            folder.rmdir()
        raise
    finally:
        lock.release()


def is_unclaimed(folder: Path) -> bool:
    """True if `folder` holds nothing but lock files and temporary files of an interrupted
    first write (".NAME.tmp"): a folder a writer may start in."""
    return all(
        entry.name in LOCK_FILES or (entry.name.startswith(".") and entry.name.endswith(".tmp"))
        for entry in folder.iterdir()
    )
