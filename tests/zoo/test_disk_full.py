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
