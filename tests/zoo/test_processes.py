"""MLP populations trained by worker processes: the same bytes as one process, resumable
either way."""

import numpy as np
import pandas as pd
import pytest
import torch

from hyperrep._errors import HyperrepError
from hyperrep.zoo import create_zoo, create_zoo_config
from hyperrep.zoo._processes import SplitTrainer, merge_states, split_state, worker_count

_DATA = {"n_train": 256, "n_test": 128}


def _config():
    return create_zoo_config("tetris-hyp", n_models=14, epochs=3, dataset_options=_DATA)


def _contents(zoo):
    weights = np.load(zoo.path / "weights.npy")
    table = zoo.properties.drop(columns=[], errors="ignore").reset_index(drop=True)
    return weights, table


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    return _contents(
        create_zoo(_config(), tmp_path_factory.mktemp("one") / "z", threads=1, progress=False)
    )


def test_worker_processes_write_the_bytes_of_one_process(one_process, tmp_path):
    weights, table = one_process
    for threads in (2, 3):
        zoo = create_zoo(_config(), tmp_path / f"t{threads}", threads=threads, progress=False)
        split_weights, split_table = _contents(zoo)
        assert np.array_equal(split_weights, weights)  # bit for bit
        pd.testing.assert_frame_equal(split_table, table)


@pytest.mark.parametrize(("first", "then"), [(2, 1), (1, 3)])
def test_a_build_interrupted_with_one_count_resumes_with_another(
    one_process, tmp_path, first, then
):
    class Stop(Exception):
        pass

    def stop_after_epoch_1(chunk, epoch):
        if epoch == 1:
            raise Stop

    out = tmp_path / "z"
    with pytest.raises(Stop):
        create_zoo(_config(), out, threads=first, progress=False, on_epoch=stop_after_epoch_1)
    zoo = create_zoo(_config(), out, threads=then, progress=False)
    weights, table = _contents(zoo)
    assert np.array_equal(weights, one_process[0])
    pd.testing.assert_frame_equal(table, one_process[1])


def test_states_split_and_merge_back():
    state = {
        "epoch": torch.tensor(4),
        "params": torch.arange(12.0).reshape(6, 2),
        "rng.order": torch.arange(18, dtype=torch.uint8).reshape(6, 3),
    }
    shares = [slice(0, 2), slice(2, 6)]
    parts = [split_state(state, s) for s in shares]
    assert parts[0]["params"].shape == (2, 2) and int(parts[1]["epoch"]) == 4
    merged = merge_states(parts)
    assert all(torch.equal(merged[k], state[k]) for k in state)
    parts[1]["epoch"] = torch.tensor(5)
    with pytest.raises(HyperrepError, match="disagree on epoch"):
        merge_states(parts)


def test_worker_count():
    assert worker_count(None, 1000, cores=2) == 2
    assert worker_count(None, 100, cores=2) == 1  # 50 models a worker: not worth a process
    assert worker_count(None, 20, cores=8) == 1
    assert worker_count(3, 20, cores=2) == 3  # asked for: as many as asked
    assert worker_count(5, 2, cores=2) == 2  # at most one per model
    assert worker_count(1, 1000, cores=8) == 1


def test_a_failing_worker_is_a_one_line_error():
    config = _config()
    models = config.models()
    mixed = [m for m in models if m.group != models[0].group][:1] + models[:1]
    with pytest.raises(HyperrepError, match="a zoo worker failed: .*one activation/optimizer"):
        SplitTrainer(config, mixed * 2, 2)  # each share holds both groups
    one_group = [m for m in models if m.group == models[0].group][:4]
    trainer = SplitTrainer(config, one_group, 2)
    with trainer, pytest.raises(HyperrepError, match="a zoo worker failed: .*unknown command"):
        trainer._ask("no-such-command")
