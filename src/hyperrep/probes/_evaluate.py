"""Fitting a probe per task and representation, and scoring it in and out of distribution."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import kendalltau
from sklearn.metrics import accuracy_score, r2_score
from tqdm.auto import tqdm

from hyperrep.probes._linear import fit_ridges, fit_softmax
from hyperrep.probes._tasks import Task


@dataclass
class CheckpointFeatures:
    """One representation of a zoo's checkpoints: rows aligned with `table`."""

    table: pd.DataFrame  # properties with a "split" column
    values: Mapping[str, np.ndarray]  # representation name -> (rows, features)


@dataclass
class Prediction:
    """Test-split targets and predictions of one probe, in or out of distribution."""

    representation: str
    task: Task
    domain: str  # "id" or "ood"
    y_true: np.ndarray
    y_pred: np.ndarray
    scores: dict[str, float] = field(default_factory=dict)
    probe: Any = None  # the fitted probe (RidgeProbe or SoftmaxProbe)


def scores(task: Task, y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """R² and Kendall's tau of a regression task, accuracy of a classification task."""
    if task.kind == "classification":
        return {"accuracy": float(accuracy_score(y_true, y_pred))}
    tau = kendalltau(y_true, y_pred).statistic if np.ptp(y_true) > 0 else np.nan
    return {"r2": float(r2_score(y_true, y_pred)), "kendall_tau": float(tau)}


def evaluate_probes(
    source: CheckpointFeatures,
    tasks: list[Task],
    *,
    ood: CheckpointFeatures | None = None,
    progress: bool = False,
) -> list[Prediction]:
    """Fit on the source's train split (strength picked on validation), score on its test
    split and, unchanged, on the test split of the out-of-distribution zoo."""
    split = source.table["split"].to_numpy()
    train, val, test = (split == s for s in ("train", "val", "test"))
    ood_test = ood.table["split"].to_numpy() == "test" if ood is not None else None
    results = []
    bar = tqdm(
        source.values.items(),
        total=len(source.values),
        desc="linear probes",
        unit="representation",
        disable=not progress,
        dynamic_ncols=True,
    )
    for name, x in bar:
        bar.set_postfix_str(name)
        x_train, x_val, x_test = x[train], x[val], x[test]
        regressions = [t for t in tasks if t.kind != "classification"]
        probes: dict[Task, Any] = {}
        if regressions:  # one fit serves every regression target
            y = np.stack([source.table[t.column].to_numpy(float) for t in regressions], axis=1)
            fitted = fit_ridges(x_train, y[train], x_val, y[val])
            probes = dict(zip(regressions, fitted, strict=True))
        x_ood = ood.values[name][ood_test] if ood is not None and name in ood.values else None
        for task in tasks:
            y = source.table[task.column].to_numpy()
            probe = probes.get(task) or fit_softmax(x_train, y[train], x_val, y[val])
            y_pred = probe.predict(x_test)
            results.append(
                Prediction(name, task, "id", y[test], y_pred, scores(task, y[test], y_pred), probe)
            )
            if x_ood is not None and task.column in ood.table:
                y_ood = ood.table[task.column].to_numpy()[ood_test]
                p_ood = probe.predict(x_ood)
                results.append(
                    Prediction(name, task, "ood", y_ood, p_ood, scores(task, y_ood, p_ood), probe)
                )
        del x_train, x_val, x_test, x_ood
    return results


def results_table(predictions: list[Prediction], domain: str = "id") -> pd.DataFrame:
    """Rows = tasks, columns = representations: R^2 in % (accuracy in % for categorical
    tasks), the layout of appendix Tables 5 and 6."""
    rows: dict[str, dict[str, float]] = {}
    for p in predictions:
        if p.domain != domain:
            continue
        value = p.scores.get("r2", p.scores.get("accuracy"))
        rows.setdefault(p.task.name, {})[p.representation] = 100 * value
    return pd.DataFrame(rows).T


def tau_table(predictions: list[Prediction], domain: str = "id") -> pd.DataFrame:
    """Kendall's tau of the regression tasks, rows = tasks, columns = representations."""
    rows: dict[str, dict[str, float]] = {}
    for p in predictions:
        if p.domain == domain and "kendall_tau" in p.scores:
            rows.setdefault(p.task.name, {})[p.representation] = p.scores["kendall_tau"]
    return pd.DataFrame(rows).T
