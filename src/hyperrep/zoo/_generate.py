"""Building a zoo on disk: plan populations, train them, write each as it finishes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm.auto import tqdm

from hyperrep._cpu_share import FairThreads, torch_threads
from hyperrep._device import check_device
from hyperrep._errors import HyperrepError
from hyperrep._lock import writer_lock
from hyperrep._version import __version__
from hyperrep.arch import Architecture, create_architecture
from hyperrep.data import load_dataset
from hyperrep.population import (
    EpochRecord,
    ModelSpec,
    PopulationTrainer,
    TrainData,
    default_population_size,
)
from hyperrep.zoo._config import ZooConfig
from hyperrep.zoo._processes import SplitTrainer, available_cores, worker_count
from hyperrep.zoo._storage import (
    META_FILE,
    PROGRESS_FILE,
    WEIGHTS_FILE,
    ZooWriter,
    chunk_table,
    is_zoo,
    read_json,
)
from hyperrep.zoo._zoo import Zoo

if TYPE_CHECKING:
    from hyperrep.zoo._ray import RayOptions


def plan_chunks(models: Sequence[ModelSpec], population_size: int) -> list[list[int]]:
    """Split model rows into populations of one activation/optimizer group each."""
    groups: dict[tuple[str, str], list[int]] = {}
    for row, spec in enumerate(models):
        groups.setdefault(spec.group, []).append(row)
    return [
        rows[i : i + population_size]
        for rows in groups.values()
        for i in range(0, len(rows), population_size)
    ]


def stored_plan(
    path: Path, config: ZooConfig, models: Sequence[ModelSpec], population_size: int
) -> tuple[list[list[int]], bool] | None:
    """The chunk plan of the zoo at `path` that `config` resumes or grows, and whether
    it grows; None if there is no such zoo.

    A zoo grows when `config` differs from the stored one only in asking for more
    models and the stored models come first among the new ones (true of seed zoos): the
    stored chunks stay as they are and the new models get chunks of their own.
    """
    if not is_zoo(path):
        return None
    meta = read_json(path / META_FILE)
    stored = [list(c) for c in meta["chunks"]]
    new_dict = config.to_dict()
    old_config = ZooConfig.from_dict(meta["config"])  # format-1 configs gain their defaults
    old_dict = old_config.to_dict()
    if old_dict == new_dict:
        return stored, False
    old_count = int(meta["weights"]["shape"][0])
    same_but_size = {**old_dict, "n_models": None} == {**new_dict, "n_models": None}
    if not same_but_size or old_count >= len(models):
        return None
    old_models = old_config.models()
    if [m.model_id for m in models[:old_count]] != [m.model_id for m in old_models]:
        raise HyperrepError(
            f"{path} cannot grow to {len(models)} models: its {old_count} models are a random "
            "draw from the grid (model order 'grid', zoo format 3 and earlier), not the first ones "
            "of the larger zoo; choose another --out"
        )
    new_chunks = plan_chunks(models[old_count:], population_size)
    return stored + [[old_count + r for r in rows] for rows in new_chunks], True


def adapts_threads(arch: Architecture) -> bool:
    """Whether a population of `arch` may follow the cores other processes leave free
    (`FairThreads`): CNNs, unless OMP_NUM_THREADS pins the thread count. The C kernels
    split work by model, so a zoo's bytes do not depend on the threads."""
    return arch.convolutional and "OMP_NUM_THREADS" not in os.environ


def load_zoo_data(
    config: ZooConfig, arch: Architecture, data_dir: str | Path | None, device: str
) -> TrainData:
    """The zoo's data set on `device`: the holdout set aside, then cut to the subsets."""
    kwargs: dict[str, object] = dict(config.dataset_options)
    if config.dataset != "tetris":
        kwargs["data_dir"] = data_dir
    data = TrainData.for_arch(arch, load_dataset(config.dataset, **kwargs), device)
    if config.holdout:
        data = data.without_holdout(config.holdout, config.holdout_seed)
    return data.subset(config.train_subset, config.test_subset)


def zoo_trainer(
    config: ZooConfig, arch: Architecture, specs: Sequence[ModelSpec], data: TrainData
) -> PopulationTrainer:
    """A population of `specs` trained with the zoo's recipe: its batch size, train
    metrics, subnormal flush and precision."""
    return PopulationTrainer(
        arch,
        specs,
        data,
        config.batch_size,
        config.train_metrics,
        flush_subnormals=config.flush_subnormals,
        precision=config.precision,
    )


def _finished_chunks(path: Path) -> bool:
    try:
        return bool(read_json(path / PROGRESS_FILE)["done"])
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _refuse_damaged(path: Path) -> None:
    """Never resume, grow or complete over a damaged zoo."""
    if not is_zoo(path):
        return
    if not (path / WEIGHTS_FILE).exists():
        if _finished_chunks(path):
            raise HyperrepError(
                f"{path / WEIGHTS_FILE} is missing although chunks are finished: the zoo is damaged"
            )
        return  # a start interrupted before the weight file was made
    if not (path / PROGRESS_FILE).is_file():
        return
    Zoo(path).check()


def create_zoo(
    config: ZooConfig,
    out: str | Path,
    *,
    device: str = "cpu",
    population_size: int | None = None,
    data_dir: str | Path | None = None,
    progress: bool = True,
    on_epoch: Callable[[int, int], None] | None = None,
    threads: int | None = None,
    ray: RayOptions | None = None,
) -> Zoo:
    """Train every model of `config` into the zoo folder `out`, resuming if it is there.

    A zoo of the same preset and settings with fewer models at `out` is grown: its
    models are kept and only the new ones are trained. `on_epoch(chunk, epoch)` is
    called once an epoch of a population is safely on disk. `threads` sets the CPU
    threads for the build. MLP zoos (tiny matrix products, where a second torch thread
    only adds synchronisation) train each population as `threads` worker processes on
    shares of its models (by default one per core while each gets 64 models; the bytes
    are the same, `_processes.py`); CNN zoos use up to torch's setting, fewer while other
    processes keep cores busy (`FairThreads`, unless OMP_NUM_THREADS is set).
    With `ray`, each population is a task on a Ray cluster (`hyperrep.zoo._ray`); the
    zoo's bytes are the same.
    """
    check_device(device)
    if config.source is not None:
        raise HyperrepError(
            f"{config.preset} is an imported zoo ({config.source}); it can "
            "be read, not trained or grown"
        )
    arch = create_architecture(config.architecture)
    models = config.models()
    size = population_size or default_population_size(arch, device)
    adapt = threads is None and adapts_threads(arch)
    mlp_workers = None  # worker processes per MLP population (`worker_count`)
    if not arch.convolutional and torch.device(device).type == "cpu" and ray is None:
        mlp_workers, threads = threads, 1
    with writer_lock(out, "zoo"), torch_threads(threads):
        fair = FairThreads(torch.get_num_threads()) if adapt else None
        _refuse_damaged(Path(out))
        plan = stored_plan(Path(out), config, models, size)
        chunks, grow = plan if plan is not None else (plan_chunks(models, size), False)
        data = None
        if plan is None or grow or not read_json(Path(out) / META_FILE).get("complete"):
            data = load_zoo_data(config, arch, data_dir, device)  # before any file is written
            if ray is not None:
                from hyperrep.zoo._ray import connect

                connect(ray)  # so is the cluster
        writer = ZooWriter.open(out, config, arch, chunks, __version__, grow=grow)
        todo = [c for c in range(len(chunks)) if c not in writer.done]
        epochs = config.epochs
        done_work = sum(len(chunks[c]) for c in writer.done) * epochs
        with tqdm(
            total=len(models) * epochs,
            initial=done_work,
            unit="model-epoch",
            disable=not progress,
            desc=config.preset,
            dynamic_ncols=True,
        ) as bar:
            if ray is not None:
                from hyperrep.zoo._ray import train_chunks_ray

                train_chunks_ray(writer, models, todo, data, device, bar, ray)
                todo = []
            for chunk in todo:
                rows = chunks[chunk]
                bar.set_postfix_str(f"population {chunk + 1}/{len(chunks)} ({len(rows)} models)")
                specs = [models[r] for r in rows]
                with _population_trainer(config, arch, specs, data, data_dir, mlp_workers) as t:
                    records = train_chunk(writer, t, chunk, rows, epochs, bar, on_epoch, fair)
                writer.commit_chunk(chunk, chunk_table(rows, specs, records))
        zoo = Zoo(out)
        summary = zoo.summary()
        writer.finish({"models": summary["models_done"], "diverged": summary["diverged"]})
    return Zoo(out)


@contextmanager
def _population_trainer(
    config: ZooConfig,
    arch: Architecture,
    specs: list[ModelSpec],
    data: TrainData,
    data_dir: str | Path | None,
    mlp_workers: int | None,
) -> Iterator[PopulationTrainer | SplitTrainer]:
    """The trainer of one population: in this process, or for an MLP population on the
    CPU in worker processes (`mlp_workers` of them, None: one per core, `worker_count`)."""
    workers = 1
    if not arch.convolutional and data.x_train.device.type == "cpu":
        workers = worker_count(mlp_workers, len(specs), available_cores())
    if workers == 1:
        yield zoo_trainer(config, arch, specs, data)
        return
    with SplitTrainer(config, specs, workers, data_dir=data_dir) as trainer:
        yield trainer


def train_chunk(
    writer: ZooWriter,
    trainer: PopulationTrainer | SplitTrainer,
    chunk: int,
    rows: list[int],
    epochs: int,
    bar: tqdm,
    on_epoch: Callable[[int, int], None] | None,
    fair: FairThreads | None = None,
) -> list[EpochRecord]:
    """Train one population to the last epoch, from its saved state if there is one."""
    records: list[EpochRecord] = []
    saved = writer.load_state(chunk)
    if saved is not None:
        trainer.load_state_dict(saved[0])
        records.extend(saved[1])
        bar.update(len(rows) * trainer.epoch)
    while True:
        if len(records) <= trainer.epoch:
            record = trainer.record()
            writer.write_weights(rows, record.epoch, record.weights)
            record.weights = np.empty(0, np.float32)  # on disk now; free the memory
            records.append(record)
            writer.save_state(chunk, trainer.state_dict(), records)
            if on_epoch is not None:
                on_epoch(chunk, record.epoch)
        if trainer.epoch == epochs:
            return records
        if fair is not None:
            fair.update()
        trainer.train_epoch()
        bar.update(len(rows))
