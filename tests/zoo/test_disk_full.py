"""A full disk is an error message before training, never a crash in the middle."""

import errno
import os

import numpy as np
import pytest

from hyperrep._io import reserve_space
from hyperrep.cli.main import main


def test_reserve_space_allocates_a_sparse_file(tmp_path):
    path = tmp_path / "w.npy"
    np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(256, 1024)).flush()
    size = path.stat().st_size
    if path.stat().st_blocks * 512 >= size:
        pytest.fail("the file system did not create a sparse file; the test cannot tell")
    reserve_space(path)
    assert path.stat().st_blocks * 512 >= size
    assert path.stat().st_size == size  # contents and size unchanged
    assert not np.load(path).any()


def test_a_disk_without_room_for_the_weights_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", full)
    code = main(
        [
            "zoo",
            "create",
            "tetris-seed",
            "--models",
            "4",
            "--epochs",
            "1",
            "--out",
            str(tmp_path / "z"),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and "No space left on device" in err
    assert not (tmp_path / "z" / "weights.npy").exists()  # nothing half-written in its place


def _free_bytes(monkeypatch, free):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**12, 10**12 - free, free))


def test_a_zoo_larger_than_the_free_space_is_refused_before_anything_is_written(
    tmp_path, monkeypatch, capsys
):
    # 1,000 models x 76 checkpoints x 100 float32 parameters: 30.4 MB of weights, and the
    # resume state of its one population (weights, two moments): 3 x 1,000 x 100 x 4 bytes
    _free_bytes(monkeypatch, 20 * 10**6)
    out = tmp_path / "z"
    assert main(["zoo", "create", "tetris-seed", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert "not enough free space for the zoo's weights" in err
    assert "31.6 MB needed, 20.0 MB free" in err
    assert not out.exists()


def test_a_run_larger_than_the_free_space_is_refused_before_training(
    tiny_zoo, tmp_path, monkeypatch, capsys
):
    _free_bytes(monkeypatch, 1000)
    out = tmp_path / "run"
    argv = ["train", str(tiny_zoo.path), "--out", str(out), "--epochs", "1", "--quiet"]
    assert main([*argv, "--d-model", "16"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "the run's model and resume files" in err, err
    assert "1.0 kB free" in err and not out.exists()


def test_byte_counts_read_as_people_write_them():
    from hyperrep._io import human_bytes

    assert [human_bytes(n) for n in (999, 1000, 5_368_709_120, 30_400_000)] == [
        "999 B",
        "1.0 kB",
        "5.4 GB",
        "30.4 MB",
    ]
