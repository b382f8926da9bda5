"""The thread count changes speed, never a zoo's bytes, which is what lets `FairThreads`
change it while a zoo builds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hyperrep import _cpu_share
from hyperrep._cpu_share import FairThreads
from hyperrep.zoo import create_zoo, create_zoo_config


# one model: torch would split its products inside the matrix (measured 6e-8 apart
# after one epoch of 200 images before lone populations were pinned to one thread)
@pytest.mark.parametrize("models", [1, 3])
def test_cnn_zoo_bytes_do_not_depend_on_threads(tmp_path, idx_data, models):
    config = create_zoo_config(
        "mnist-seed", n_models=models, epochs=1, train_subset=200, test_subset=50
    )
    zoos = [
        create_zoo(config, tmp_path / f"t{n}", data_dir=idx_data, progress=False, threads=n)
        for n in (1, 2)
    ]
    one, two = (np.load(z.path / "weights.npy") for z in zoos)
    assert one[:, 1].any() and np.array_equal(one, two)


class _Clock:
    """Stands in for /proc/stat and the process and wall clocks."""

    def __init__(self, monkeypatch):
        self.busy = self.own = self.wall = 0.0
        monkeypatch.setattr(_cpu_share, "_machine_busy_seconds", lambda: self.busy)
        monkeypatch.setattr(_cpu_share.time, "process_time", lambda: self.own)
        monkeypatch.setattr(_cpu_share.time, "monotonic", lambda: self.wall)

    def advance(self, wall, own, others):
        self.wall += wall
        self.own += own
        self.busy += own + others


def test_fair_threads_leave_the_cores_others_use(monkeypatch):
    clock = _Clock(monkeypatch)
    monkeypatch.setattr(_cpu_share.os, "cpu_count", lambda: 4)
    before = torch.get_num_threads()
    try:
        fair = FairThreads(limit=4)
        clock.advance(wall=10, own=20, others=29)  # others kept 2.9 cores busy
        assert fair.update() == 1 and torch.get_num_threads() == 1
        clock.advance(wall=10, own=10, others=12)  # 1.2 cores
        assert fair.update() == 3
        clock.advance(wall=10, own=30, others=0)
        assert fair.update() == 4
        clock.advance(wall=0.1, own=0.1, others=0.4)  # too short to judge: unchanged
        assert fair.update() == 4
        clock.advance(wall=10, own=10, others=80)  # a busier machine than cores: still 1
        assert fair.update() == 1
    finally:
        torch.set_num_threads(before)


def test_fair_threads_never_go_below_their_minimum(monkeypatch):
    clock = _Clock(monkeypatch)
    monkeypatch.setattr(_cpu_share.os, "cpu_count", lambda: 4)
    before = torch.get_num_threads()
    try:
        fair = FairThreads(limit=4, minimum=2)
        clock.advance(wall=10, own=20, others=35)  # 3.5 cores busy elsewhere: 1 left
        assert fair.update() == 2 and torch.get_num_threads() == 2
        clock.advance(wall=10, own=20, others=0)
        assert fair.update() == 4
    finally:
        torch.set_num_threads(before)


def test_fair_threads_without_proc_stat_keep_the_count(monkeypatch):
    monkeypatch.setattr(_cpu_share, "_machine_busy_seconds", lambda: None)
    fair = FairThreads(limit=2)
    assert fair.update() == torch.get_num_threads()
