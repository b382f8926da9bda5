"""One population trained by several worker processes, each on a share of its models.

An MLP step is too small for a second thread to help inside torch, and Python threads
share one interpreter lock; separate processes do use every core (benchmarks/mlp_cores.py:
1.6-1.8x on 2 cores). On the CPU each model's arithmetic does not depend on which other
models share its population (`default_population_size`), so the bytes equal a one-process
build's. `SplitTrainer` behaves as the `PopulationTrainer` of all the models: the zoo
writer sees one population, records and resume states included.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hyperrep._errors import HyperrepError
from hyperrep.arch import create_architecture
from hyperrep.population import EpochRecord, ModelSpec
from hyperrep.zoo._config import ZooConfig

MIN_MODELS_PER_WORKER = 64  # below this a worker's start-up costs more than it saves


def available_cores() -> int:
    """Cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def worker_count(threads: int | None, models: int, cores: int) -> int:
    """Processes for a population of `models` MLPs: `threads` if given (at most one per
    model), else every core as long as each gets `MIN_MODELS_PER_WORKER` models."""
    if threads is not None:
        return max(1, min(threads, models))
    return max(1, min(cores, models // MIN_MODELS_PER_WORKER))


def _shares(count: int, parts: int) -> list[slice]:
    """Contiguous, near-equal shares of `count` models."""
    bounds = np.linspace(0, count, parts + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def split_state(state: dict[str, torch.Tensor], share: slice) -> dict[str, torch.Tensor]:
    """One share's part of a population state: per-model tensors (model axis first) cut,
    scalars (epoch, step count) kept."""
    return {k: v if v.ndim == 0 else v[share].clone() for k, v in state.items()}


def merge_states(states: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The population state of shares in order (inverse of `split_state`)."""
    out = {}
    for key, first in states[0].items():
        if first.ndim == 0:
            if any(not torch.equal(s[key], first) for s in states[1:]):
                raise HyperrepError(f"the shares disagree on {key}")
            out[key] = first
        else:
            out[key] = torch.cat([s[key] for s in states])
    return out


def merge_records(records: Sequence[EpochRecord]) -> EpochRecord:
    """The record of shares in order, as one population's."""
    epochs = {r.epoch for r in records}
    if len(epochs) != 1:
        raise HyperrepError(f"the shares are at different epochs: {sorted(epochs)}")
    values: dict[str, Any] = {"epoch": records[0].epoch}
    for field in fields(EpochRecord):
        if field.name != "epoch":
            values[field.name] = np.concatenate([getattr(r, field.name) for r in records])
    return EpochRecord(**values)


def _serve(connection: Any, config: ZooConfig, specs: list[ModelSpec], data_dir: Any) -> None:
    """A worker: builds its share's trainer, then answers commands until "stop"."""
    from hyperrep.zoo._generate import load_zoo_data, zoo_trainer

    torch.set_num_threads(1)
    try:
        arch = create_architecture(config.architecture)
        trainer = zoo_trainer(config, arch, specs, load_zoo_data(config, arch, data_dir, "cpu"))
        connection.send(("ok", None))
    except Exception as error:  # noqa: BLE001 (reported to the parent, which raises)
        connection.send(("error", f"{type(error).__name__}: {error}"))
        return
    while True:
        command, argument = connection.recv()
        if command == "stop":
            return
        try:
            if command == "train":
                trainer.train_epoch()
                reply = trainer.epoch
            elif command == "record":
                reply = trainer.record()
            elif command == "state":
                reply = trainer.state_dict()
            elif command == "load":
                trainer.load_state_dict(argument)
                reply = trainer.epoch
            else:
                raise HyperrepError(f"unknown command {command!r}")
            connection.send(("ok", reply))
        except Exception as error:  # noqa: BLE001
            connection.send(("error", f"{type(error).__name__}: {error}"))


class SplitTrainer:
    """The `PopulationTrainer` of `specs`, run as `workers` processes on shares of them."""

    def __init__(
        self,
        config: ZooConfig,
        specs: Sequence[ModelSpec],
        workers: int,
        *,
        data_dir: str | Path | None = None,
    ) -> None:
        if workers < 2 or workers > len(specs):
            raise HyperrepError(f"need 2 to {len(specs)} workers, got {workers}")
        self.shares = _shares(len(specs), workers)
        context = mp.get_context("spawn")  # a fork would copy torch's thread pools
        self._connections, self._processes = [], []
        try:
            for share in self.shares:
                parent, child = context.Pipe()
                process = context.Process(
                    target=_serve,
                    args=(child, config, list(specs[share]), data_dir),
                    daemon=True,
                )
                process.start()
                child.close()
                self._connections.append(parent)
                self._processes.append(process)
            self._gather()  # every share built
        except BaseException:
            self.close()
            raise
        self.epoch = 0

    def _gather(self) -> list[Any]:
        replies = []
        for connection in self._connections:
            try:
                status, value = connection.recv()
            except EOFError:
                raise HyperrepError("a zoo worker process stopped unexpectedly") from None
            if status == "error":
                raise HyperrepError(f"a zoo worker failed: {value}")
            replies.append(value)
        return replies

    def _ask(self, command: str, arguments: Sequence[Any] | None = None) -> list[Any]:
        arguments = arguments if arguments is not None else [None] * len(self._connections)
        for connection, argument in zip(self._connections, arguments, strict=True):
            connection.send((command, argument))
        return self._gather()

    def train_epoch(self) -> None:
        """One epoch of every share, the shares in parallel."""
        self.epoch = self._ask("train")[0]

    def record(self) -> EpochRecord:
        """Every model's weights and metrics at the current epoch, in the models' order."""
        return merge_records(self._ask("record"))

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The population's resume state, as one `PopulationTrainer` of all models has it."""
        return merge_states(self._ask("state"))

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Continue from a state saved by this class or by a `PopulationTrainer`."""
        self.epoch = self._ask("load", [split_state(state, s) for s in self.shares])[0]

    def close(self) -> None:
        """Stop the workers (idempotent)."""
        for connection in self._connections:
            with contextlib.suppress(BrokenPipeError, OSError):
                connection.send(("stop", None))
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
        self._connections, self._processes = [], []

    def __enter__(self) -> SplitTrainer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
