"""`--backend ray`: the same zoo as the local backend, byte for byte, on a local Ray
instance; failed tasks retried, resumed, or reported with their model ids."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest

from hyperrep._errors import HyperrepError
from hyperrep.zoo import create_zoo, create_zoo_config
from hyperrep.zoo._ray import FAIL_CHUNKS_ENV, RayOptions

ray = pytest.importorskip("ray", reason="the [distributed] extra (Ray) is not installed")

pytestmark = pytest.mark.slow
_CONFIG = create_zoo_config("tetris-seed", n_models=12, epochs=3)  # 3 populations of 4


def test_an_unreachable_cluster_is_refused_before_any_file_is_written(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(HyperrepError, match=f"cannot reach Ray at 127.0.0.1:{port}"):
        create_zoo(
            _CONFIG,
            tmp_path / "zoo",
            population_size=4,
            progress=False,
            ray=RayOptions(address=f"127.0.0.1:{port}"),
        )
    assert not (tmp_path / "zoo").exists()


@pytest.fixture(scope="module")
def local_ray():
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def local_zoo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("local") / "zoo"
    create_zoo(_CONFIG, path, population_size=4, progress=False)
    return path


def _files(zoo: Path) -> dict[str, bytes]:
    """Every file a finished zoo consists of (zoo.json aside: it records no run-specific
    bytes but is compared as data)."""
    names = [
        "weights.npy",
        "progress.json",
        *(f"properties/{p.name}" for p in sorted((zoo / "properties").iterdir())),
    ]
    return {name: (zoo / name).read_bytes() for name in names}


def _assert_same_zoo(a: Path, b: Path) -> None:
    assert _files(a) == _files(b)
    assert json.loads((a / "zoo.json").read_text()) == json.loads((b / "zoo.json").read_text())
    assert not list((b / "state").glob("*")), "a finished zoo keeps no task files"


@pytest.mark.parametrize("shared", [None, False], ids=["shared-folder", "weights-to-driver"])
def test_ray_backend_writes_the_local_backends_bytes(local_ray, local_zoo, tmp_path, shared):
    path = tmp_path / "zoo"
    create_zoo(
        _CONFIG, path, population_size=4, progress=False, ray=RayOptions(shared_folder=shared)
    )
    _assert_same_zoo(local_zoo, path)


def test_a_task_failing_mid_population_resumes_from_its_last_epoch(local_ray, local_zoo, tmp_path):
    path = tmp_path / "zoo"
    env = {"env_vars": {FAIL_CHUNKS_ENV: "1@2"}}  # fails once, after epoch 2 is saved
    create_zoo(
        _CONFIG, path, population_size=4, progress=False, ray=RayOptions(retries=1, runtime_env=env)
    )
    _assert_same_zoo(local_zoo, path)


def test_failed_populations_are_reported_and_a_rerun_completes_the_zoo(
    local_ray, local_zoo, tmp_path
):
    path = tmp_path / "zoo"
    env = {"env_vars": {FAIL_CHUNKS_ENV: "1"}}
    with pytest.raises(HyperrepError) as err:
        create_zoo(
            _CONFIG,
            path,
            population_size=4,
            progress=False,
            ray=RayOptions(retries=1, runtime_env=env),
        )
    message = str(err.value)
    assert "1 population(s) failed after 2 tries" in message and "\n" not in message
    ids = [m.model_id for m in _CONFIG.models()]
    assert f"models {ids[4]} .. {ids[7]}" in message
    assert json.loads((path / "progress.json").read_text())["done"] == [0, 2]
    create_zoo(_CONFIG, path, population_size=4, progress=False, ray=RayOptions())
    _assert_same_zoo(local_zoo, path)


def test_the_local_backend_takes_over_a_population_a_ray_task_left(local_ray, local_zoo, tmp_path):
    path = tmp_path / "zoo"
    env = {"env_vars": {FAIL_CHUNKS_ENV: "0@1"}}  # no retry: its state and weights stay
    with pytest.raises(HyperrepError):
        create_zoo(
            _CONFIG,
            path,
            population_size=4,
            progress=False,
            ray=RayOptions(retries=0, runtime_env=env),
        )
    assert (path / "state" / "chunk-00000.weights.npy").is_file()
    create_zoo(_CONFIG, path, population_size=4, progress=False)
    _assert_same_zoo(local_zoo, path)


def test_a_cnn_task_takes_idle_cores_and_trains_the_local_bytes(tmp_path, idx_data, monkeypatch):
    """`use_idle_cores`: the task's population adapts its threads (FairThreads, up to the
    machine's cores) and still trains what the local backend trains."""
    from hyperrep import _cpu_share
    from hyperrep.arch import Architecture
    from hyperrep.zoo._generate import load_zoo_data
    from hyperrep.zoo._ray import _train_task

    config = create_zoo_config("mnist-seed", n_models=4, epochs=2, train_subset=200, test_subset=50)
    local = create_zoo(
        config, tmp_path / "local", data_dir=idx_data, population_size=2, progress=False, threads=1
    )
    meta = json.loads((local.path / "zoo.json").read_text())
    limits, updates = [], []

    class Recorder(_cpu_share.FairThreads):
        def __init__(self, limit: int, minimum: int = 1) -> None:
            limits.append((limit, minimum))
            super().__init__(limit, minimum)

        def update(self) -> int:
            updates.append(super().update())
            return updates[-1]

    monkeypatch.setattr(_cpu_share, "FairThreads", Recorder)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    arch = Architecture.from_dict(meta["architecture"])
    data = load_zoo_data(config, arch, idx_data, "cpu")
    rows = meta["chunks"][1]
    specs = [config.models()[r] for r in rows]
    args = (str(tmp_path / "elsewhere"), "token", meta, 1, specs, data, "cpu", 1)
    result = _train_task(*args, idle_cores=True)
    assert limits == [(os.cpu_count(), 1)] and len(updates) == 2  # before each epoch
    assert np.array_equal(result.weights, np.load(local.path / "weights.npy")[rows])
    _train_task(*args, idle_cores=False)
    assert limits == [(os.cpu_count(), 1)] and len(updates) == 2, "without idle_cores: fixed"
