"""Everything a probe report shows, computed once and saved as plain files, so that a
report can be rendered (and rendered again) from a results folder without refitting.

A results folder holds

- ``results.json``: the zoos probed (paths, presets) and the file list;
- ``results.csv`` / ``results_ood.csv``: R² in % (accuracy in % for categorical tasks),
  tasks x representations, with the reconstruction R² as the first row (Rec) for runs
  with a decoder; a representation's gradient-boosted probes are the column
  ``<representation> [gbm]``;
- ``results_kendall_tau.csv`` / ``results_ood_kendall_tau.csv``: Kendall's tau;
- ``predictions.parquet``: one row per test checkpoint, representation, probe family and
  regression task: ``representation, family, task, column, domain, y_true, y_pred,
  model_index, epoch`` (folders written before the gbm probes lack ``family``: linear);
- ``classifications.parquet``: the same for the categorical tasks, with ``y_true`` and
  ``y_pred`` the class labels as strings (folders written before 2026-12-05 lack it);
- ``probes.safetensors`` / ``probes.json``: the fitted probes (`hyperrep predict`; see
  `_bundle.py`);
- ``checkpoints.parquet``: per probed checkpoint ``zoo, epoch, test_acc, mean_weight``;
- ``embeddings.parquet`` (when UMAP is asked for): ``representation, x, y`` and the
  colouring columns (epoch, test_acc, varied categorical hyperparameters).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from hyperrep._errors import HyperrepError
from hyperrep._io import read_json, write_json_atomic
from hyperrep.arch import Architecture
from hyperrep.probes._bundle import save_bundle
from hyperrep.probes._evaluate import (
    CheckpointFeatures,
    Prediction,
    evaluate_probes,
    probe_families,
    results_table,
    scores,
    tau_table,
)
from hyperrep.probes._sources import averaged_label, run_labels, zoo_features
from hyperrep.probes._tasks import Task, tasks_for
from hyperrep.representation import TrainedRun, reconstruction_r2
from hyperrep.zoo import CheckpointData, Zoo, load_checkpoints

RESULTS_FILE = "results.json"
_COLOURS = ("activation", "init", "optimizer")


@dataclass
class ProbeResults:
    """R² and tau tables by domain ("id", "ood"), test-split predictions, per-checkpoint
    accuracy and mean weight, optional 2-D embeddings, and what was probed."""

    tables: dict[str, pd.DataFrame]
    taus: dict[str, pd.DataFrame]
    predictions: pd.DataFrame
    checkpoints: pd.DataFrame
    embeddings: pd.DataFrame | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    # the fitted probes, their architecture and the run folders (saved as a bundle)
    fitted: list[Prediction] | None = None
    architecture: Architecture | None = None
    runs: dict[str, str] = field(default_factory=dict)
    # averaged latents: column name -> number of input permutations
    permutations: dict[str, int] = field(default_factory=dict)
    # categorical tasks' test predictions, as `predictions` (labels as strings)
    classifications: pd.DataFrame = field(default_factory=lambda: _empty_frame())

    def save(self, out: str | Path) -> Path:
        out = Path(out)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise HyperrepError(f"cannot write to {out}: {err.strerror or err}") from err
        for domain, table in self.tables.items():
            stem = "results" if domain == "id" else "results_ood"
            table.to_csv(out / f"{stem}.csv")
            self.taus[domain].to_csv(out / f"{stem}_kendall_tau.csv")
        self.predictions.to_parquet(out / "predictions.parquet", index=False)
        self.classifications.to_parquet(out / "classifications.parquet", index=False)
        self.checkpoints.to_parquet(out / "checkpoints.parquet", index=False)
        if self.embeddings is not None:
            self.embeddings.to_parquet(out / "embeddings.parquet", index=False)
        if self.fitted is not None and self.architecture is not None:
            save_bundle(out, self.fitted, self.architecture, self.runs, self.permutations)
        header = {"format": "hyperrep-probe-results", "domains": list(self.tables)}
        write_json_atomic(out / RESULTS_FILE, {**header, **self.meta})
        return out

    @classmethod
    def load(cls, folder: str | Path) -> ProbeResults:
        folder = Path(folder)
        try:
            meta = read_json(folder / RESULTS_FILE)
            domains = meta.pop("domains")
            meta.pop("format")
            tables, taus = {}, {}
            for domain in domains:
                stem = "results" if domain == "id" else "results_ood"
                tables[domain] = pd.read_csv(folder / f"{stem}.csv", index_col=0)
                taus[domain] = pd.read_csv(folder / f"{stem}_kendall_tau.csv", index_col=0)
            embeddings = folder / "embeddings.parquet"
            classes = folder / "classifications.parquet"
            return cls(
                tables,
                taus,
                pd.read_parquet(folder / "predictions.parquet"),
                pd.read_parquet(folder / "checkpoints.parquet"),
                pd.read_parquet(embeddings) if embeddings.is_file() else None,
                meta,
                classifications=pd.read_parquet(classes) if classes.is_file() else _empty_frame(),
            )
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise HyperrepError(
                f"{folder} is not a readable probe results folder "
                f"({type(err).__name__}: {str(err)[:100]})"
            ) from None

    def prediction_list(self) -> list[Prediction]:
        """The saved regression predictions as `Prediction`s (scores recomputed)."""
        frame = self.predictions
        if "family" not in frame:  # results saved before gradient-boosted probes
            frame = frame.assign(family="linear")
        out = []
        for (rep, name, column, domain, family), rows in frame.groupby(
            ["representation", "task", "column", "domain", "family"], sort=False
        ):
            task = Task(name, column, "regression")
            y_true, y_pred = rows["y_true"].to_numpy(), rows["y_pred"].to_numpy()
            score = scores(task, y_true, y_pred)
            out.append(Prediction(rep, task, domain, y_true, y_pred, score, family=family))
        return out


def probe_zoo(
    zoo: Zoo,
    runs: list[TrainedRun] = (),
    *,
    ood: Zoo | None = None,
    umap_points: int = 3000,
    include_init: bool = False,
    progress: bool = False,
    permutations: int = 1,
    families: Sequence[str] = ("linear",),
    weight_limit: float | None = None,
) -> ProbeResults:
    """Probe W, s(W) and each run's latent on `zoo` (and, unchanged, on `ood`) with each
    probe family (`PROBE_FAMILIES`: linear, gbm); with `permutations` K > 1 also each run's
    latent averaged over K input permutations.

    Checkpoints are epochs 1..E, and epoch 0 with `include_init`; the Rec row is each
    decoder run's test reconstruction R²; those with a |weight| above `weight_limit`
    (by default the runs') are left out and counted (`load_checkpoints`).
    """
    if umap_points < 0:
        raise HyperrepError(f"--umap-points must be >= 0, got {umap_points}")
    if not isinstance(permutations, int) or permutations < 1:
        raise HyperrepError(f"--permutation-average must be >= 1, got {permutations}")
    features = partial(
        zoo_features,
        runs=runs,
        include_init=include_init,
        permutations=permutations,
        weight_limit=weight_limit,
    )
    source = features(zoo)
    target = None
    if ood is not None:
        if not ood.architecture.same_layout(zoo.architecture):
            raise HyperrepError(f"{ood.path} has another architecture than {zoo.path}")
        target = features(ood)
    predictions = evaluate_probes(
        source, tasks_for(source.table), ood=target, families=families, progress=progress
    )
    tables, taus = {}, {}
    for domain in ["id"] + (["ood"] if target is not None else []):
        table = results_table(predictions, domain)
        if any(r.config.train.has_decoder for r in runs):
            other = ood if domain == "ood" and ood is not None else zoo
            rec = _reconstruction_row(runs, other, table.columns, include_init, source.weight_limit)
            table = pd.concat([rec, table])
        tables[domain] = table.round(1)
        taus[domain] = tau_table(predictions, domain).round(3)
    per_zoo = {zoo.config.preset: source}
    if ood is not None and target is not None:
        per_zoo[f"{ood.config.preset} (OOD)"] = target
    meta = {
        "zoo": str(zoo.path),
        "preset": zoo.config.preset,
        "split_models": _split_sizes(source),
        "ood_split_models": _split_sizes(target) if target is not None else None,
        "ood": str(ood.path) if ood is not None else None,
        "ood_preset": ood.config.preset if ood is not None else None,
        "permutation_average": permutations if runs else 1,
        "probe_families": list(probe_families(families)),
        "weight_limit": source.weight_limit,
        "over_limit": source.over_limit,
        "ood_over_limit": target.over_limit if target is not None else None,
    }
    tested = {"id": _test_rows(source), "ood": _test_rows(target) if target is not None else None}
    labels = {
        label: str(run.path.resolve()) for run, label in zip(runs, run_labels(runs), strict=True)
    }
    averaged: dict[str, int] = {}
    for label in list(labels) if permutations > 1 else []:
        averaged[averaged_label(label, permutations)] = permutations
        labels[averaged_label(label, permutations)] = labels[label]
    return ProbeResults(
        tables,
        taus,
        _prediction_frame(predictions, tested, "regression"),
        _checkpoint_frame(per_zoo),
        umap_embeddings(source, umap_points, progress=progress) if umap_points else None,
        meta,
        predictions,
        zoo.architecture,
        labels,
        averaged,
        _prediction_frame(predictions, tested, "classification"),
    )


MIN_TEST_MODELS = 10  # below this, R² on the test split is noise (a warning says so)


def _split_sizes(features: CheckpointFeatures) -> dict[str, int]:
    """Models per split."""
    counts = features.table.groupby("split")["model_index"].nunique()
    return {name: int(counts.get(name, 0)) for name in ("train", "val", "test")}


def split_warning(sizes: dict[str, int] | None, where: str) -> str | None:
    """A warning line when a test split is too small for its scores to mean much."""
    if sizes is None or sizes["test"] >= MIN_TEST_MODELS:
        return None
    return (
        f"warning: {where} has only {sizes['test']} test models (fewer than "
        f"{MIN_TEST_MODELS}); its R² values are not reliable"
    )


def _test_rows(features: CheckpointFeatures) -> pd.DataFrame:
    table = features.table
    return table.loc[table["split"] == "test", ["model_index", "epoch"]].reset_index(drop=True)


_PREDICTION_COLUMNS = [
    "representation",
    "family",
    "task",
    "column",
    "domain",
    "y_true",
    "y_pred",
    "model_index",
    "epoch",
]


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame(columns=_PREDICTION_COLUMNS)


def _prediction_frame(
    predictions: list[Prediction], tested: dict[str, pd.DataFrame | None], kind: str
) -> pd.DataFrame:
    """The test predictions of one kind of task ("regression": floats, "classification":
    labels as strings), with the model and epoch of each test checkpoint."""
    value = float if kind == "regression" else str
    frames = []
    for p in predictions:
        if p.task.kind != kind:
            continue
        frame = pd.DataFrame(
            {
                "representation": p.representation,
                "family": p.family,
                "task": p.task.name,
                "column": p.task.column,
                "domain": p.domain,
                "y_true": np.asarray(p.y_true).astype(value),
                "y_pred": np.asarray(p.y_pred).astype(value),
            }
        )
        frames.append(pd.concat([frame, tested[p.domain]], axis=1))
    return pd.concat(frames, ignore_index=True) if frames else _empty_frame()


def _checkpoint_frame(per_zoo: dict[str, CheckpointFeatures]) -> pd.DataFrame:
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "zoo": name,
                    "epoch": f.table["epoch"].to_numpy(),
                    "test_acc": f.table["test_acc"].to_numpy(),
                    "mean_weight": f.values["W"].mean(axis=1, dtype=np.float64),
                }
            )
            for name, f in per_zoo.items()
        ],
        ignore_index=True,
    )


def fit_umap(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """2-D UMAP (15 neighbours, one thread, seeded) of the rows of `x`: the settings every
    report and figure uses."""
    import umap

    return umap.UMAP(random_state=seed, n_neighbors=15, n_jobs=1).fit_transform(x)


def umap_embeddings(
    features: CheckpointFeatures, max_points: int = 3000, *, seed: int = 0, progress: bool = False
) -> pd.DataFrame:
    """2-D UMAP of each representation on the same `max_points` checkpoints, with the
    columns to colour them by (epoch, test accuracy, varied categorical hyperparameters)."""
    table = features.table
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(len(table), size=min(max_points, len(table)), replace=False))
    colours = ["epoch", "test_acc"] + [c for c in _COLOURS if c in table and table[c].nunique() > 1]
    frames = []
    bar = tqdm(
        features.values.items(),
        total=len(features.values),
        desc="UMAP",
        unit="representation",
        disable=not progress,
        dynamic_ncols=True,
    )
    for name, x in bar:
        x = np.nan_to_num(np.asarray(x, dtype=np.float32)[keep])
        x = (x - x.mean(0)) / np.where(x.std(0) > 0, x.std(0), 1)
        xy = fit_umap(x, seed)
        frame = pd.DataFrame({"representation": name, "x": xy[:, 0], "y": xy[:, 1]})
        for c in colours:
            frame[c] = table[c].to_numpy()[keep]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _reconstruction_row(
    runs: list[TrainedRun],
    zoo: Zoo,
    columns: pd.Index,
    include_init: bool,
    weight_limit: float | None,
) -> pd.DataFrame:
    loaded: dict[int, CheckpointData] = {}  # one load of the zoo per split seed
    row = {}
    for run, label in zip(runs, run_labels(runs), strict=True):
        if run.config.train.has_decoder:
            seed = run.config.train.split_seed
            if seed not in loaded:
                loaded[seed] = load_checkpoints(
                    zoo, seed, include_init=include_init, weight_limit=weight_limit
                )
            row[label] = 100 * reconstruction_r2(run, zoo, data=loaded[seed])
    return pd.DataFrame([row], index=["Rec"], columns=columns, dtype=float)
