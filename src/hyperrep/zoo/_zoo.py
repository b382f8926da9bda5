"""Reading a zoo: weights memory-mapped, properties as a pandas table."""

from __future__ import annotations

import copy
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hyperrep._errors import HyperrepError
from hyperrep.arch import Architecture
from hyperrep.zoo._config import ZooConfig
from hyperrep.zoo._integrity import (
    architecture_digest,
    check_weights_file,
    table_problems,
    verify_chunks,
)
from hyperrep.zoo._storage import (
    FORMAT,
    FORMAT_VERSION,
    META_FILE,
    PROGRESS_FILE,
    PROPERTIES_DIR,
    WEIGHTS_FILE,
    read_json,
)


class Zoo:
    """A zoo on disk. Nothing large is read until asked for, and weights never whole."""

    model_limit: int | None = None  # set on the views `first` returns

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        meta_path = self.path / META_FILE
        if not meta_path.is_file():
            raise HyperrepError(f"{self.path} is not a hyperrep zoo (no {META_FILE})")
        try:
            self.meta: dict[str, Any] = read_json(meta_path)
        except (OSError, ValueError) as err:
            raise HyperrepError(f"cannot read {meta_path}: {err}") from err
        if not isinstance(self.meta, dict) or self.meta.get("format") != FORMAT:
            raise HyperrepError(f"{self.path} is not a hyperrep zoo")
        missing = [k for k in ("config", "architecture", "weights") if k not in self.meta]
        if missing or not (self.path / PROGRESS_FILE).is_file():
            raise HyperrepError(
                f"{self.path} is a damaged zoo (missing {missing or PROGRESS_FILE})"
            )
        if self.meta.get("format_version", 0) > FORMAT_VERSION:
            raise HyperrepError(
                f"{self.path} has zoo format {self.meta['format_version']}; this hyperrep reads "
                f"up to {FORMAT_VERSION}: upgrade hyperrep"
            )
        try:
            shape = tuple(int(n) for n in self.meta["weights"]["shape"])
            if len(shape) != 3:
                raise ValueError
        except (TypeError, ValueError, KeyError):
            raise HyperrepError(f"{meta_path} is damaged (weights.shape)") from None
        try:
            arch, config = self.architecture, self.config
        except HyperrepError as err:
            raise HyperrepError(f"{meta_path} is damaged ({err})") from None
        except Exception as err:  # any malformed field of zoo.json
            raise HyperrepError(
                f"{meta_path} is damaged ({type(err).__name__}: {str(err)[:100]})"
            ) from None
        chunks = self.meta.get("chunks")
        planned = sum(len(c) for c in chunks) if isinstance(chunks, list) else -1
        if shape != (planned, config.epochs + 1, arch.n_params):
            raise HyperrepError(
                f"{meta_path} is inconsistent: weights {shape}, but "
                f"{planned} models x {config.epochs + 1} epochs x "
                f"{arch.n_params} parameters of {arch.name}"
            )
        check_weights_file(self.path / WEIGHTS_FILE, shape)

    @cached_property
    def config(self) -> ZooConfig:
        return ZooConfig.from_dict(self.meta["config"])

    @cached_property
    def architecture(self) -> Architecture:
        return Architecture.from_dict(self.meta["architecture"])

    @property
    def complete(self) -> bool:
        """All planned models trained (of a `first` view: all of its models)."""
        if self.model_limit is None:
            return bool(self.meta.get("complete"))
        done = set(self.progress["done"])
        return all(
            i in done
            for i, chunk in enumerate(self.meta["chunks"])
            if chunk and min(chunk) < self.model_limit
        )

    @property
    def finished_prefix(self) -> int:
        """How many models, counted from index 0, are all trained (what `first` can take
        while the zoo grows)."""
        done = set(self.progress["done"])
        pending = [min(c) for i, c in enumerate(self.meta["chunks"]) if c and i not in done]
        planned = self.model_limit or int(self.meta["weights"]["shape"][0])
        return min([planned, *pending])

    def first(self, n_models: int) -> Zoo:
        """The zoo's first `n_models` models (by index) as a zoo of their own.

        The view is complete once those models are trained, so a zoo that is still
        growing can be learned from and probed on a fixed set of models.
        """
        planned = int(self.meta["weights"]["shape"][0])
        if (
            isinstance(n_models, bool)
            or not isinstance(n_models, int)
            or not (3 <= n_models <= planned)
        ):
            raise HyperrepError(
                f"{self.path} plans {planned} models: the number of models "
                f"to use must be 3..{planned}, not {n_models}"
            )
        view = copy.copy(self)
        view.__dict__.pop("properties", None)
        view.model_limit = n_models
        return view

    @cached_property
    def weights(self) -> np.ndarray:
        """All weights, (models, epochs + 1, n_params) float32, memory-mapped read-only."""
        arr = np.load(self.path / WEIGHTS_FILE, mmap_mode="r", allow_pickle=False)
        expected = tuple(self.meta["weights"]["shape"])
        if arr.shape != expected or arr.dtype != np.float32:
            raise HyperrepError(
                f"{self.path / WEIGHTS_FILE} has shape {arr.shape} {arr.dtype}, "
                f"zoo.json says {expected} float32"
            )
        return arr

    @cached_property
    def progress(self) -> dict[str, Any]:
        """progress.json: the finished chunks and their checksums."""
        try:
            progress = read_json(self.path / PROGRESS_FILE)
            done = [int(c) for c in progress["done"]]
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise HyperrepError(f"{self.path / PROGRESS_FILE} is damaged: {err}") from None
        if any(not 0 <= c < len(self.meta.get("chunks", [])) for c in done):
            raise HyperrepError(f"{self.path / PROGRESS_FILE} names chunks the zoo does not have")
        trained = progress.get("architecture")
        if trained is not None and trained != architecture_digest(self.architecture):
            raise HyperrepError(
                f"{self.path / META_FILE} describes another architecture than its models "
                "were trained with: the zoo is damaged"
            )
        return {
            "done": done,
            "checksums": dict(progress.get("checksums", {})),
            "architecture": trained,
        }

    def chunk_table(self, chunk: int) -> pd.DataFrame:
        """The properties of one finished chunk."""
        path = self.path / PROPERTIES_DIR / f"chunk-{chunk:05d}.parquet"
        try:
            table = pd.read_parquet(path)
        except FileNotFoundError:
            raise HyperrepError(f"{path} is missing: the zoo is damaged") from None
        except Exception as err:  # pyarrow raises several types for damaged files
            reason = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
            raise HyperrepError(f"{path} is unreadable ({reason}): the zoo is damaged") from None
        problems = table_problems(table, self.meta["chunks"][chunk], self.config.epochs)
        if problems:
            raise HyperrepError(f"the properties in {path} {problems[0]}: the zoo is damaged")
        return table

    @cached_property
    def properties(self) -> pd.DataFrame:
        """One row per recorded (model, epoch) of every finished chunk."""
        parts = [self.chunk_table(c) for c in self.progress["done"]]
        if not parts:
            return pd.DataFrame()
        table = pd.concat(parts, ignore_index=True)
        if self.model_limit is not None:
            table = table[table["model_index"] < self.model_limit]
        return table.sort_values(["model_index", "epoch"], ignore_index=True)

    def verify(self) -> list[str]:
        """Problems of the finished chunks (checksums, property tables, empty or
        non-finite checkpoints of healthy models); empty if none. Reads every weight."""
        return verify_chunks(
            self.weights,
            self.meta["chunks"],
            self.progress["done"],
            self.progress["checksums"],
            self.chunk_table,
            self.config.epochs,
        )

    def check(self) -> None:
        """Raise a one-line error if `verify` finds a problem (done once per Zoo object)."""
        if getattr(self, "_checked", False):
            return
        problems = self.verify()
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise HyperrepError(
                f"{self.path} is damaged: {problems[0]}{more}; see "
                f"`hyperrep zoo verify {self.path}`"
            )
        self._checked = True

    def checkpoints(
        self, include_diverged: bool = False, include_init: bool = False
    ) -> pd.DataFrame:
        """Properties of the checkpoints to learn from: epochs 1..E of the healthy models.

        As in the authors' data sets (1,000 x 25 MNIST samples), the initialisation (epoch 0)
        is left out unless `include_init`; diverged models unless `include_diverged`;
        checkpoints an imported source lacks (the optional `missing` column) always.
        """
        table = self.properties
        if table.empty:
            return table
        keep = np.ones(len(table), dtype=bool)
        if not include_diverged:
            keep &= ~table["diverged"].to_numpy()
        if not include_init:
            keep &= table["epoch"].to_numpy() > 0
        if "missing" in table:  # imported zoos: steps the source lacks
            keep &= ~table["missing"].to_numpy(bool)
        return table[keep].reset_index(drop=True)

    def _training_line(self) -> str:
        c = self.config
        data = c.dataset + (
            f" less {c.holdout:,} held out (seed {c.holdout_seed})" if c.holdout else ""
        )
        if c.dataset_options:
            data += " " + ", ".join(f"{k}={v}" for k, v in c.dataset_options.items())
        if c.source is not None:
            return f"imported from {c.source} ({c.dataset})"
        line = f"batch {c.batch_size} on {data}; init scheme {c.init_scheme}"
        return line + ("; bf16 training steps" if c.precision == "bf16" else "")

    def load_weights(self, table: pd.DataFrame) -> np.ndarray:
        """Weights (rows, n_params) of the checkpoints listed in `table`, read on demand."""
        return self.weights[table["model_index"].to_numpy(), table["epoch"].to_numpy()]

    def summary(self) -> dict[str, Any]:
        """Counts and accuracy range per epoch, from the recorded properties."""
        table = self.properties
        out: dict[str, Any] = {
            "preset": self.config.preset,
            "architecture": self.architecture.name,
            "n_params": self.architecture.n_params,
            "models_planned": self.model_limit or int(self.meta["weights"]["shape"][0]),
            "epochs": self.config.epochs,
            "complete": self.complete,
            "finished_prefix": self.finished_prefix,
            "training": self._training_line(),
            "ggap": _GGAP[self.config.train_metrics],
        }
        if table.empty:
            return out | {"models_done": 0, "diverged": 0, "missing": 0}
        per_model = table.groupby("model_index")["diverged"].first()
        healthy = table[~table["diverged"]]
        acc = healthy.groupby("epoch")["test_acc"].describe()[["min", "25%", "50%", "75%", "max"]]
        return out | {
            "models_done": int(per_model.size),
            "diverged": int(per_model.sum()),
            "missing": int(table["missing"].sum()) if "missing" in table else 0,
            "test_acc_by_epoch": acc,
            "test_acc_by_hyperparameter": _by_hyperparameter(healthy),
        }


HYPERPARAMETER_COLUMNS = ("activation", "optimizer", "init", "lr", "weight_decay", "dropout")
MAX_LEVELS = 12  # more distinct values than this: a range, shown in quartile bins


def _by_hyperparameter(healthy: pd.DataFrame) -> pd.DataFrame:
    """Median test accuracy at the last epoch and model count for each value of every
    hyperparameter the zoo varies (rows: hyperparameter, value); empty for seed zoos."""
    if healthy.empty:
        return pd.DataFrame()
    last = healthy[healthy["epoch"] == healthy["epoch"].max()]
    parts = {}
    for column in HYPERPARAMETER_COLUMNS:
        if column not in last or last[column].nunique() < 2:
            continue
        values = last[column]
        if values.nunique() > MAX_LEVELS and pd.api.types.is_numeric_dtype(values):
            # drawn from a range (imported zoos): quartile bins, labelled by their range
            bins = pd.qcut(values, 4, duplicates="drop")
            labels = [f"[{b.left:.3g}, {b.right:.3g}]" for b in bins.cat.categories]
            values = bins.cat.rename_categories(labels)  # ordered as the ranges are
        groups = last["test_acc"].groupby(values, observed=True)
        parts[column] = pd.DataFrame({"median": groups.median(), "models": groups.size()})
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, names=["hyperparameter", "value"]).assign(
        epoch=int(last["epoch"].iloc[0])
    )


_GGAP = {
    "running": "train accuracy (running mean over the epoch's batches, train mode) - test "
    "accuracy; epoch 0: full pass",
    "full": "train accuracy (full pass over the training set after the epoch) - test accuracy",
}


def open_zoo(path: str | Path) -> Zoo:
    """Open the zoo stored in folder `path`."""
    return Zoo(path)
