"""The on-disk zoo format: a memory-mapped weight array, property tables, metadata.

A zoo folder holds

- ``zoo.json``: format name and version, hyperrep version, the zoo configuration,
  the architecture description, the weight array's shape and dtype, the chunk plan,
  and, once finished, a summary;
- ``weights.npy``: float32 array of shape (models, epochs + 1, n_params), a plain
  ``.npy`` file that ``numpy.load(..., mmap_mode="r")`` maps without reading it;
- ``properties/chunk-NNNNN.parquet``: one row per (model, epoch) of each finished chunk;
- ``progress.json``: the chunks whose weights and properties are safely on disk, and a
  checksum of each finished chunk's weights;
- ``state/chunk-NNNNN.safetensors``: while a chunk trains, its trainer state after
  the last finished epoch (parameters, optimizer moments, random streams, metrics).

A chunk is a population of models trained together. After every epoch its weights
are flushed to ``weights.npy`` and then its state file is replaced atomically; when
the chunk ends its property file appears (atomic rename), it is marked done, and its
state file is removed. An interrupted run so resumes from the last finished epoch of
the chunk in flight and produces the same bytes as an uninterrupted one.
See docs/zoo-format.md.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file

from hyperrep._errors import HyperrepError
from hyperrep._io import (
    atomic_path,
    check_free_space,
    read_json,
    reserve_space,
    write_json_atomic,
)
from hyperrep._lock import is_unclaimed
from hyperrep.arch import Architecture
from hyperrep.population import EpochRecord
from hyperrep.zoo._config import ModelSpec, ZooConfig
from hyperrep.zoo._integrity import architecture_digest, check_weights_file, chunk_checksum

FORMAT = "hyperrep-zoo"
# 2: config has init_scheme, train_metrics, holdout (1 reads as fan-in/full/0);
# 3: config has source (imported zoos; older zoos read as None)
# 4: config has model_order (older grid zoos read as "grid", see ZooConfig.from_dict)
# 5: config has flush_subnormals (older zoos read as False)
# 6: config has precision (older zoos read as "fp32")
FORMAT_VERSION = 6
META_FILE = "zoo.json"
WEIGHTS_FILE = "weights.npy"
PROPERTIES_DIR = "properties"
PROGRESS_FILE = "progress.json"
STATE_DIR = "state"
_METRICS = ("train_loss", "train_acc", "test_loss", "test_acc", "test_f1", "diverged")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _bytes(shape: Sequence[int]) -> int:
    return 4 * int(np.prod(shape))  # float32


def _state_bytes(chunks: Sequence[Sequence[int]], arch: Architecture) -> int:
    """A population's resume state: weights and two optimizer moments per model."""
    return 3 * _bytes((max(len(c) for c in chunks), arch.n_params))


def is_zoo(path: Path) -> bool:
    """True if `path` is a folder holding a hyperrep zoo."""
    meta = path / META_FILE
    if not meta.is_file():
        return False
    try:
        data = read_json(meta)
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == FORMAT


class ZooWriter:
    """Creates a zoo folder, or reopens one to resume it, and writes finished chunks."""

    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        self.path = path
        self.meta = meta
        # checked first: mapping a short file read-write would silently zero-extend it
        check_weights_file(path / WEIGHTS_FILE, tuple(meta["weights"]["shape"]))
        reserve_space(path / WEIGHTS_FILE)  # a full disk: ENOSPC now, not SIGBUS mid-build
        self.weights = np.load(path / WEIGHTS_FILE, mmap_mode="r+", allow_pickle=False)
        progress = read_json(path / PROGRESS_FILE)
        self.done: set[int] = set(progress["done"])
        self.checksums: dict[str, str] = dict(progress.get("checksums", {}))
        for chunk in self.done:  # a kill between marking a chunk done and removing its state
            self._remove_state(chunk)

    @classmethod
    def open(
        cls,
        path: str | Path,
        config: ZooConfig,
        arch: Architecture,
        chunks: Sequence[Sequence[int]],
        version: str,
        grow: bool = False,
    ) -> ZooWriter:
        """Start a new zoo at `path`, or resume the same zoo if it is already there.

        With `grow`, the zoo at `path` is first enlarged to `chunks` (see `stored_plan`).
        """
        path = Path(path)
        config_dict = config.to_dict()
        if is_zoo(path):
            meta = read_json(path / META_FILE)
            if grow:
                cls._grow(path, meta, config_dict, chunks)
            stored_config = ZooConfig.from_dict(meta["config"]).to_dict()
            stored_arch = Architecture.from_dict(meta["architecture"]).to_dict()
            if stored_config != config_dict or stored_arch != arch.to_dict():
                differ = [
                    f"{k}: {_short(stored_config.get(k))} there, {_short(v)} asked"
                    for k, v in config_dict.items()
                    if stored_config.get(k) != v
                ]
                if stored_arch != arch.to_dict():
                    differ.append(f"architecture: {stored_arch['name']} there, {arch.name} asked")
                raise HyperrepError(
                    f"{path} holds another zoo ({meta['config']['preset']}; "
                    f"{'; '.join(differ[:3])}); choose another --out"
                )
            if meta["chunks"] != [list(c) for c in chunks]:
                raise HyperrepError(
                    f"{path} was started with another population size; resume with "
                    f"--population {len(meta['chunks'][0])}"
                )
            cls._create_files(path, meta)  # an interrupted start may lack them
            return cls(path, meta)
        if path.exists() and (not path.is_dir() or not is_unclaimed(path)):
            raise HyperrepError(f"{path} exists and is not an empty folder or a hyperrep zoo")
        n_models = sum(len(c) for c in chunks)
        shape = (n_models, config.epochs + 1, arch.n_params)
        check_free_space(path, _bytes(shape) + _state_bytes(chunks, arch), "the zoo's weights")
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "hyperrep_version": version,
            "config": config_dict,
            "architecture": arch.to_dict(),
            "weights": {
                "file": WEIGHTS_FILE,
                "dtype": "float32",
                "shape": list(shape),
                "axes": ["model", "epoch", "param"],
            },
            "chunks": [list(c) for c in chunks],
            "complete": False,
        }
        try:
            path.mkdir(parents=True, exist_ok=True)
            write_json_atomic(path / META_FILE, meta)  # first: the folder is ours from now on
            cls._create_files(path, meta)
        except OSError as err:
            raise HyperrepError(f"cannot write a zoo to {path}: {err.strerror or err}") from err
        return cls(path, meta)

    @staticmethod
    def _grow(
        path: Path, meta: dict[str, Any], config: dict[str, Any], chunks: Sequence[Sequence[int]]
    ) -> None:
        """Make room for more models: copy the weights into a larger array, then update
        zoo.json (a crash in between leaves a larger array whose first rows are the zoo)."""
        old_count = meta["weights"]["shape"][0]
        shape = (sum(len(c) for c in chunks), *meta["weights"]["shape"][1:])
        check_weights_file(path / WEIGHTS_FILE, tuple(meta["weights"]["shape"]))
        check_free_space(path, _bytes(shape), "the grown zoo's weights (copied, then swapped)")
        old = np.load(path / WEIGHTS_FILE, mmap_mode="r", allow_pickle=False)
        tmp = path / f".{WEIGHTS_FILE}.tmp"
        np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=shape).flush()
        reserve_space(tmp)
        new = np.load(tmp, mmap_mode="r+", allow_pickle=False)
        for start in range(0, old_count, 64):
            stop = min(start + 64, old_count)
            new[start:stop] = old[start:stop]
        new.flush()
        del new, old
        os.replace(tmp, path / WEIGHTS_FILE)
        meta.update(
            config=config,
            chunks=[list(c) for c in chunks],
            complete=False,
            format_version=FORMAT_VERSION,
        )
        meta["weights"]["shape"] = list(shape)
        meta.pop("summary", None)
        write_json_atomic(path / META_FILE, meta)

    @staticmethod
    def _create_files(path: Path, meta: dict[str, Any]) -> None:
        """The weight array and progress file, where they do not exist yet."""
        (path / PROPERTIES_DIR).mkdir(exist_ok=True)
        weights = path / WEIGHTS_FILE
        if not weights.is_file():
            tmp = path / f".{WEIGHTS_FILE}.tmp"
            shape = tuple(meta["weights"]["shape"])
            np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=shape).flush()
            reserve_space(tmp)
            os.replace(tmp, weights)
        if not (path / PROGRESS_FILE).is_file():
            write_json_atomic(path / PROGRESS_FILE, {"done": []})

    def write_weights(self, rows: Sequence[int], epoch: int, weights: np.ndarray) -> None:
        """Store one epoch's weights of the models at `rows`."""
        self.weights[np.asarray(rows), epoch] = weights

    def _state_path(self, chunk: int) -> Path:
        return state_path(self.path, chunk)

    def save_state(
        self, chunk: int, state: dict[str, torch.Tensor], records: Sequence[EpochRecord]
    ) -> None:
        """Make a chunk's progress durable: flush its weights, then replace its state file."""
        self.weights.flush()
        save_chunk_state(self._state_path(chunk), state, records)

    def load_state(self, chunk: int) -> tuple[dict[str, torch.Tensor], list[EpochRecord]] | None:
        """The saved trainer state and metric records of a chunk in flight, if any."""
        saved = load_chunk_state(self._state_path(chunk))
        task_weights = chunk_weights_path(self.path, chunk)
        if saved is not None and task_weights.is_file():  # left by a Ray task: take it over
            rows = self.meta["chunks"][chunk]
            check_weights_file(task_weights, (len(rows), *self.weights.shape[1:]))
            self.weights[np.asarray(rows)] = np.load(
                task_weights, mmap_mode="r", allow_pickle=False
            )
            self.weights.flush()
            task_weights.unlink()
        return saved

    def commit_chunk(self, chunk: int, table: pd.DataFrame) -> None:
        """Make a chunk final: flush its weights, write its properties, mark it done, and
        remove its resume state."""
        self.weights.flush()
        final = self.path / PROPERTIES_DIR / f"chunk-{chunk:05d}.parquet"
        with atomic_path(final) as tmp:
            table.to_parquet(tmp, index=False)
        self.done.add(chunk)
        self.checksums[str(chunk)] = chunk_checksum(self.weights, self.meta["chunks"][chunk])
        write_json_atomic(self.path / PROGRESS_FILE, self.progress())
        self._remove_state(chunk)

    def _remove_state(self, chunk: int) -> None:
        self._state_path(chunk).unlink(missing_ok=True)
        chunk_weights_path(self.path, chunk).unlink(missing_ok=True)  # Ray tasks' weights

    def progress(self) -> dict[str, Any]:
        """The content of progress.json: finished chunks, their weight checksums, and a
        digest of the architecture they were trained with."""
        checksums = dict(sorted(self.checksums.items(), key=lambda kv: int(kv[0])))
        arch = Architecture.from_dict(self.meta["architecture"])
        return {
            "done": sorted(self.done),
            "checksums": checksums,
            "architecture": architecture_digest(arch),
        }

    def finish(self, summary: dict[str, Any]) -> None:
        """Mark the zoo complete and store its summary."""
        self.meta["complete"] = True
        self.meta["summary"] = summary
        write_json_atomic(self.path / META_FILE, self.meta)


def state_path(zoo: Path, chunk: int) -> Path:
    """The resume state of a chunk in flight."""
    return zoo / STATE_DIR / f"chunk-{chunk:05d}.safetensors"


def chunk_weights_path(zoo: Path, chunk: int) -> Path:
    """Weights of a chunk in flight on a Ray task: (models, epochs + 1, n_params) float32."""
    return zoo / STATE_DIR / f"chunk-{chunk:05d}.weights.npy"


def save_chunk_state(
    path: Path, state: dict[str, torch.Tensor], records: Sequence[EpochRecord]
) -> None:
    """Replace a chunk's state file (trainer state and metric records) atomically."""
    tensors = dict(state)
    for name in _METRICS:
        stacked = np.stack([getattr(r, name) for r in records])
        tensors[f"metrics.{name}"] = torch.from_numpy(np.ascontiguousarray(stacked))
    path.parent.mkdir(exist_ok=True)
    with atomic_path(path) as tmp:
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp))


def load_chunk_state(path: Path) -> tuple[dict[str, torch.Tensor], list[EpochRecord]] | None:
    """The trainer state and metric records in a chunk's state file, if there is one."""
    if not path.is_file():
        return None
    tensors = load_file(str(path))
    metrics = {n: tensors.pop(f"metrics.{n}").numpy() for n in _METRICS}
    records = [
        EpochRecord(epoch, np.empty(0, np.float32), **{n: metrics[n][epoch] for n in _METRICS})
        for epoch in range(len(metrics["diverged"]))
    ]
    return tensors, records


def chunk_table(
    rows: Sequence[int], specs: Sequence[ModelSpec], records: Sequence[Any]
) -> pd.DataFrame:
    """One row per (model, epoch) of a chunk: hyperparameters and recorded metrics."""
    final_diverged = records[-1].diverged
    first_bad = np.full(len(rows), -1)
    for rec in reversed(records):
        first_bad[rec.diverged] = rec.epoch
    frames = []
    for rec in records:
        frame = pd.DataFrame(
            {
                "model_index": np.asarray(rows, dtype=np.int64),
                "model_id": [s.model_id for s in specs],
                "epoch": rec.epoch,
                "seed": [s.seed for s in specs],
                "init": [s.init for s in specs],
                "optimizer": [s.optimizer for s in specs],
                "activation": [s.activation for s in specs],
                "lr": [s.lr for s in specs],
                "weight_decay": [s.weight_decay for s in specs],
                "dropout": [s.dropout for s in specs],
                "train_loss": rec.train_loss,
                "train_acc": rec.train_acc,
                "test_loss": rec.test_loss,
                "test_acc": rec.test_acc,
                "ggap": rec.train_acc - rec.test_acc,
            }
        )
        for c in range(rec.test_f1.shape[1]):
            frame[f"f1_{c}"] = rec.test_f1[:, c]
        frame["diverged"] = final_diverged
        frame["diverged_epoch"] = first_bad
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
