import os
import signal
import subprocess
import sys
import time

import pytest

from hyperrep import HyperrepError
from hyperrep._lock import writer_lock
from hyperrep.representation import RunConfig, TrainConfig, train_representation
from hyperrep.zoo import create_zoo, create_zoo_config, open_zoo

HOLD = """
import sys, time
from hyperrep._lock import writer_lock
with writer_lock(sys.argv[1], "zoo"):
    print("held", flush=True)
    time.sleep(60)
"""


def hold_lock(folder):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_is_refused_naming_the_holder(tiny_zoo, tmp_path):
    proc = hold_lock(tiny_zoo.path)
    try:
        with pytest.raises(HyperrepError, match=f"another process \\(pid {proc.pid} on "):
            create_zoo(tiny_zoo.config, tiny_zoo.path, progress=False)
        # readers are never blocked
        assert open_zoo(tiny_zoo.path).summary()["models_done"] == 20
        run = tmp_path / "run"
        holder = hold_lock(run)
        try:
            config = RunConfig(train=TrainConfig(epochs=1, variant="ed", batch_size=16))
            with pytest.raises(HyperrepError, match="this run is being written"):
                train_representation(tiny_zoo, config, run, progress=False)
        finally:
            holder.kill()
            holder.wait()
    finally:
        proc.kill()
        proc.wait()


def test_the_lock_of_a_killed_process_is_taken_over(tmp_path):
    proc = hold_lock(tmp_path / "z")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    start = time.perf_counter()
    with writer_lock(tmp_path / "z"):
        pass
    assert time.perf_counter() - start < 1.0


def test_a_failed_start_leaves_no_folder_behind(tmp_path):
    config = create_zoo_config("mnist-seed", n_models=2, epochs=1)
    with pytest.raises(HyperrepError, match="mnist data not found"):
        create_zoo(config, tmp_path / "new", data_dir=tmp_path / "no-data", progress=False)
    assert not (tmp_path / "new").exists()


def test_a_kill_during_the_first_metadata_write_can_be_resumed(tmp_path):
    out = tmp_path / "z"
    out.mkdir()
    (out / ".zoo.json.tmp").write_text('{"format": "hyper')  # torn first write
    config = create_zoo_config(
        "tetris-seed", n_models=2, epochs=1, dataset_options={"n_train": 64, "n_test": 32}
    )
    zoo = create_zoo(config, out, progress=False)
    assert zoo.complete


def test_a_stale_state_file_of_a_finished_chunk_is_removed(tiny_zoo, tmp_path):
    import shutil

    zoo = tmp_path / "z"
    shutil.copytree(tiny_zoo.path, zoo)
    (zoo / "state").mkdir(exist_ok=True)
    (zoo / "state" / "chunk-00000.safetensors").write_bytes(b"left by a kill")
    create_zoo(tiny_zoo.config, zoo, progress=False)
    assert not (zoo / "state" / "chunk-00000.safetensors").exists()
