"""Compute threads matched to the cores other processes leave free.

Two CPU-bound jobs that each use every core run far below half speed on a small machine
(threads wait on each other across context switches). `FairThreads` measures, over the
last stretch of work, how many cores the rest of the machine kept busy and sets torch's
(and so the C kernels') thread count to what is left, between 1 and a limit. The C
kernels split work by model, and each model's arithmetic does not depend on the thread
count, so a zoo's bytes do not change with it (tests/population/test_threads.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

_PROC_STAT = Path("/proc/stat")
_MIN_INTERVAL_S = 0.5


def _machine_busy_seconds() -> float | None:
    """CPU seconds all processes have spent busy since boot (Linux), else None."""
    try:
        with open(_PROC_STAT) as fh:
            fields = fh.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    ticks = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
    busy = sum(ticks) - ticks[3] - ticks[4]
    return busy / os.sysconf("SC_CLK_TCK")


class FairThreads:
    """Adjusts torch's thread count to the cores left free by other processes, between
    `minimum` and `limit`."""

    def __init__(self, limit: int, minimum: int = 1) -> None:
        self.limit = max(1, limit)
        self.minimum = min(self.limit, max(1, minimum))
        self.cores = os.cpu_count() or 1
        self._mark = self._sample()

    @staticmethod
    def _sample() -> tuple[float | None, float, float]:
        return _machine_busy_seconds(), time.process_time(), time.monotonic()

    def others_busy(self) -> float | None:
        """Cores other processes kept busy since the last update (None if unknown)."""
        busy, own, wall = self._sample()
        busy0, own0, wall0 = self._mark
        if busy is None or busy0 is None or wall - wall0 < _MIN_INTERVAL_S:
            return None
        return max(0.0, (busy - busy0) - (own - own0)) / (wall - wall0)

    def update(self) -> int:
        """Set and return the thread count for the next stretch of work."""
        others = self.others_busy()
        if others is None:
            return torch.get_num_threads()
        self._mark = self._sample()
        threads = min(self.limit, max(self.minimum, round(self.cores - others)))
        if threads != torch.get_num_threads():
            torch.set_num_threads(threads)
        return threads


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """torch (and so the C kernels) computing with `n` threads, restored afterwards."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
