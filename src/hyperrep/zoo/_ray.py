"""Zoo generation on a Ray cluster: one Ray task per population (chunk).

The driver (the `hyperrep zoo create` process) holds the zoo's lock and alone writes
zoo.json and progress.json. Each task trains one population with the same code as the
local backend. Where a task's machine sees the zoo folder (a shared filesystem, or the
driver's own machine) it writes each epoch's weights to a file of the population's own
and then its resume state there, and returns the metric records; elsewhere it trains in
memory and returns the weights too. The driver copies each finished population into
weights.npy. Either way the bytes are the local backend's: a population's result
depends only on its models and data. See docs/scale.md.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from hyperrep._errors import HyperrepError
from hyperrep._io import atomic_path, reserve_space
from hyperrep.arch import Architecture
from hyperrep.population import EpochRecord, ModelSpec, TrainData
from hyperrep.zoo._config import ZooConfig
from hyperrep.zoo._integrity import check_weights_file
from hyperrep.zoo._storage import (
    STATE_DIR,
    ZooWriter,
    chunk_table,
    chunk_weights_path,
    load_chunk_state,
    save_chunk_state,
    state_path,
)

# For tests, set in the tasks' environment (RayOptions.runtime_env): comma-separated
# "C" (population C's task fails at its start) or "C@E" (it fails once, just after epoch E
# is saved, so that the retry resumes from there). Failures without breaking a machine.
FAIL_CHUNKS_ENV = "HYPERREP_TEST_FAIL_CHUNKS"


@dataclass(frozen=True)
class RayOptions:
    """Where and how the tasks run: cluster address (None: a local Ray instance, or the
    one this process is already connected to), resources per task, retries."""

    address: str | None = None
    cpus_per_task: float = 1.0
    gpus_per_task: float = 0.0
    retries: int = 2
    # None: tasks write into the zoo folder where they see it; False: always send weights
    # back to the driver (a node may see another folder under the same path)
    shared_folder: bool | None = None
    runtime_env: dict[str, Any] | None = None  # Ray's: env_vars, pip, working_dir, ...
    # CNN populations on a local instance take up cores other processes leave idle (the
    # last population of a build would otherwise train alone on one thread); None: on a
    # local CPU instance only, True / False: always / never
    use_idle_cores: bool | None = None


@dataclass
class ChunkResult:
    """What a task sends back: metric records, and the weights unless it wrote them to
    its chunk's weight file in the zoo folder."""

    records: list[EpochRecord]
    weights: np.ndarray | None


class _ChunkWriter:
    """The writer one population's training needs, for a Ray task: weights go to a file
    of the chunk's own under the zoo's state/ (a shared filesystem) or stay in memory,
    so that tasks never write into the same pages of weights.npy."""

    def __init__(self, zoo: Path | None, chunk: int, rows: Sequence[int], shape: tuple) -> None:
        self.zoo = zoo
        self._index = {r: i for i, r in enumerate(rows)}
        if zoo is None:
            self.weights = np.zeros(shape, np.float32)
            return
        path = chunk_weights_path(zoo, chunk)
        if path.is_file() and state_path(zoo, chunk).is_file():  # resume the chunk
            check_weights_file(path, shape)
            self.weights = np.load(path, mmap_mode="r+", allow_pickle=False)
        else:
            state_path(zoo, chunk).unlink(missing_ok=True)  # state of the local backend's
            with atomic_path(path) as tmp:
                np.lib.format.open_memmap(tmp, "w+", np.float32, shape).flush()
                reserve_space(tmp)
            self.weights = np.load(path, mmap_mode="r+", allow_pickle=False)

    def write_weights(self, rows: Sequence[int], epoch: int, weights: np.ndarray) -> None:
        self.weights[[self._index[r] for r in rows], epoch] = weights

    def save_state(
        self, chunk: int, state: dict[str, torch.Tensor], records: Sequence[EpochRecord]
    ) -> None:
        if self.zoo is not None:
            self.weights.flush()
            save_chunk_state(state_path(self.zoo, chunk), state, records)

    def load_state(self, chunk: int) -> tuple[dict[str, torch.Tensor], list[EpochRecord]] | None:
        return None if self.zoo is None else load_chunk_state(state_path(self.zoo, chunk))


def _train_task(
    zoo_path: str,
    token: str,
    meta: dict[str, Any],
    chunk: int,
    specs: list[ModelSpec],
    data: TrainData,
    device: str,
    threads: int,
    progress: Any = None,
    idle_cores: bool = False,
) -> ChunkResult:
    """Train one population (runs in a Ray worker); reports each saved epoch to the
    `progress` actor. With `idle_cores`, a CNN population trains on `threads` threads
    plus the worker machine's cores that other processes leave idle (`FairThreads`)."""
    from hyperrep._cpu_share import FairThreads
    from hyperrep.zoo._generate import adapts_threads, train_chunk, zoo_trainer

    fail_at = _planned_failure(chunk)
    if fail_at == -1:
        raise RuntimeError(f"population {chunk} failed on purpose ({FAIL_CHUNKS_ENV})")
    torch.set_num_threads(max(1, threads))
    zoo = Path(zoo_path)
    shared = (zoo / STATE_DIR / f"ray-{token}").is_file()
    rows = meta["chunks"][chunk]
    config = meta["config"]
    arch = Architecture.from_dict(meta["architecture"])
    # from_dict: a zoo of an older format trains with that format's defaults
    trainer = zoo_trainer(ZooConfig.from_dict(config), arch, specs, _to_device(data, device))
    shape = (len(rows), config["epochs"] + 1, arch.n_params)
    writer = _ChunkWriter(zoo if shared else None, chunk, rows, shape)
    resumed = shared and state_path(zoo, chunk).is_file()  # after the writer's clean-up
    fair = None
    if idle_cores and adapts_threads(arch):  # never below the task's own CPUs
        fair = FairThreads(max(threads, os.cpu_count() or 1), threads)

    def on_epoch(_: int, epoch: int) -> None:
        if progress is not None:
            progress.report.remote(chunk, epoch)
        if epoch == fail_at and not resumed:
            raise RuntimeError(f"population {chunk} failed on purpose after epoch {epoch}")

    records = train_chunk(
        writer,
        trainer,
        chunk,
        rows,
        config["epochs"],  # type: ignore[arg-type]
        tqdm(disable=True),
        on_epoch,
        fair,
    )
    if shared:
        writer.weights.flush()
        return ChunkResult(records, None)
    return ChunkResult(records, writer.weights)


class _Progress:
    """A Ray actor holding the last saved epoch of every population in flight."""

    def __init__(self) -> None:
        self.epochs: dict[int, int] = {}

    def report(self, chunk: int, epoch: int) -> None:
        self.epochs[chunk] = epoch

    def get(self) -> dict[int, int]:
        return self.epochs


def _planned_failure(chunk: int) -> int | None:
    """-1: fail now; E: fail after epoch E unless resumed; None: no failure planned."""
    for item in os.environ.get(FAIL_CHUNKS_ENV, "").split(","):
        target, _, epoch = item.partition("@")
        if target.strip() == str(chunk):
            return int(epoch) if epoch else -1
    return None


def _to_device(data: TrainData, device: str) -> TrainData:
    if data.x_train.device == torch.device(device):
        return data
    return replace(
        data,
        x_train=data.x_train.to(device),
        y_train=data.y_train.to(device),
        x_test=data.x_test.to(device),
        y_test=data.y_test.to(device),
    )


def connect(options: RayOptions) -> Any:
    """The `ray` module, connected to the cluster of `options` (or a new local instance)."""
    try:
        import ray
    except ImportError:
        raise HyperrepError(
            "--backend ray needs Ray: pip install 'hyperrep[distributed]'"
        ) from None
    if not ray.is_initialized():
        # no usage reports to Ray's servers unless the user asks for them
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": logging.ERROR,
        }
        if options.address is not None:
            _check_reachable(options.address)
            kwargs["address"] = options.address
        try:
            ray.init(**kwargs)
        except (ConnectionError, RuntimeError, ValueError) as err:
            where = options.address or "a local instance"
            raise HyperrepError(f"cannot start or reach Ray at {where}: {err}") from None
    return ray


def _check_reachable(address: str) -> None:
    """Refuse at once a HOST:PORT nothing listens on (ray.init would retry for minutes)."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto", or a form Ray resolves itself
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as err:
        raise HyperrepError(
            f"cannot reach Ray at {address}: {err.strerror or err}; start the "
            "head with `ray start --head` or check --address"
        ) from None


def train_chunks_ray(
    writer: ZooWriter,
    models: Sequence[ModelSpec],
    todo: Sequence[int],
    data: TrainData,
    device: str,
    bar: tqdm,
    options: RayOptions,
) -> None:
    """Train the chunks `todo` as Ray tasks and commit each as it returns.

    Failed tasks are retried `options.retries` times; chunks that still fail are
    reported together (with their model ids) after every other chunk is committed.
    """
    if not todo:
        return
    ray = connect(options)
    chunks = writer.meta["chunks"]
    token = secrets.token_hex(8)
    marker = writer.path / STATE_DIR / f"ray-{token}"
    if options.shared_folder is not False:
        marker.parent.mkdir(exist_ok=True)
        marker.touch()  # a task that sees this file shares the driver's filesystem
    task = ray.remote(_train_task).options(
        num_cpus=options.cpus_per_task,
        num_gpus=options.gpus_per_task,
        max_retries=options.retries,
        retry_exceptions=True,
        runtime_env=options.runtime_env,
    )
    task_device = "cuda" if options.gpus_per_task > 0 else device
    threads = max(1, int(options.cpus_per_task))
    idle_cores = options.use_idle_cores
    if idle_cores is None:
        idle_cores = options.address is None and options.gpus_per_task == 0
    epochs = writer.meta["config"]["epochs"]
    failed: dict[int, str] = {}
    progress = ray.remote(num_cpus=0)(_Progress).remote()
    committed = bar.n  # model-epochs of finished populations
    saved: dict[int, int] = {}  # last saved epoch of populations in flight

    def show() -> None:
        bar.n = committed + sum(e * len(chunks[c]) for c, e in saved.items())
        bar.refresh()

    try:
        data_ref = ray.put(_to_device(data, "cpu"))
        pending = {
            task.remote(
                str(writer.path.resolve()),
                token,
                writer.meta,
                c,
                [models[r] for r in chunks[c]],
                data_ref,
                task_device,
                threads,
                progress,
                idle_cores,
            ): c
            for c in todo
        }
        while pending:
            bar.set_postfix_str(f"{len(pending)} populations on Ray")
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=2.0)
            if not ready:  # show the epochs saved so far
                saved = {
                    c: e for c, e in ray.get(progress.get.remote()).items() if c in pending.values()
                }
                show()
                continue
            ref = ready[0]
            chunk = pending.pop(ref)
            saved.pop(chunk, None)
            rows = chunks[chunk]
            try:
                result: ChunkResult = ray.get(ref)
            except ray.exceptions.RayError as err:
                failed[chunk] = str(err).strip().splitlines()[-1][:200]
                continue
            weights = result.weights
            if weights is None:
                path = chunk_weights_path(writer.path, chunk)
                check_weights_file(path, (len(rows), epochs + 1, writer.weights.shape[2]))
                weights = np.load(path, mmap_mode="r", allow_pickle=False)
            for epoch in range(epochs + 1):
                writer.write_weights(rows, epoch, weights[:, epoch])
            del weights
            specs = [models[r] for r in rows]
            writer.commit_chunk(chunk, chunk_table(rows, specs, result.records))
            committed += len(rows) * epochs
            show()
    finally:
        marker.unlink(missing_ok=True)
        ray.kill(progress)
    if failed:
        lines = [
            f"population {c} (models {models[chunks[c][0]].model_id} .. "
            f"{models[chunks[c][-1]].model_id}): {why}"
            for c, why in sorted(failed.items())
        ]
        raise HyperrepError(
            f"{len(failed)} population(s) failed after {options.retries + 1} tries; the rest "
            "is committed, run the command again to retry them: " + "; ".join(lines)
        )
