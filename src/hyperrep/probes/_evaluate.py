"""Fitting a probe per task and representation, and scoring it in and out of distribution."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import kendalltau
from sklearn.metrics import accuracy_score, r2_score
from tqdm.auto import tqdm

from hyperrep._errors import HyperrepError
from hyperrep.probes._gbm import fit_gbms
from hyperrep.probes._linear import fit_ridges, fit_softmax
from hyperrep.probes._tasks import Task

PROBE_FAMILIES = ("linear", "gbm")  # ridge / softmax; gradient-boosted trees (LightGBM)


@dataclass
class CheckpointFeatures:
    """One representation of a zoo's checkpoints: rows aligned with `table`."""

    table: pd.DataFrame  # properties with a "split" column
    values: Mapping[str, np.ndarray]  # representation name -> (rows, features)
    weight_limit: float | None = None  # checkpoints with a |weight| above it left out
    over_limit: int = 0  # how many


@dataclass
class Prediction:
    """Test-split targets and predictions of one probe, in or out of distribution."""

    representation: str
    task: Task
    domain: str  # "id" or "ood"
    y_true: np.ndarray
    y_pred: np.ndarray
    scores: dict[str, float] = field(default_factory=dict)
    probe: Any = None  # the fitted probe (RidgeProbe, SoftmaxProbe or GbmProbe)
    family: str = "linear"  # one of PROBE_FAMILIES

    @property
    def label(self) -> str:
        """The column of the results tables: the representation, marked for trees."""
        return probe_label(self.representation, self.family)


def probe_label(representation: str, family: str) -> str:
    """A results table's column name: `s(W)` for the linear probe, `s(W) [gbm]` for trees."""
    return representation if family == "linear" else f"{representation} [{family}]"


def probe_families(spec: str | Sequence[str]) -> tuple[str, ...]:
    """The probe families of a comma-separated list such as ``"linear,gbm"``."""
    names = [n.strip() for n in spec.split(",")] if isinstance(spec, str) else list(spec)
    unknown = [n for n in names if n not in PROBE_FAMILIES]
    if unknown or not names:
        raise HyperrepError(
            f"unknown probe family {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(PROBE_FAMILIES)}"
        )
    return tuple(dict.fromkeys(names))


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
    families: Sequence[str] = ("linear",),
    progress: bool = False,
) -> list[Prediction]:
    """Fit each probe family on the source's train split (strength, or tree size and
    count, picked on validation), score on its test split and, unchanged, on the test
    split of the out-of-distribution zoo."""
    families = probe_families(families)
    split = source.table["split"].to_numpy()
    train, val, test = (split == s for s in ("train", "val", "test"))
    ood_test = ood.table["split"].to_numpy() == "test" if ood is not None else None
    results = []
    bar = tqdm(
        total=len(source.values) * len(families),
        desc="probes",
        unit="probe set",
        disable=not progress,
        dynamic_ncols=True,
    )
    targets = {
        t: source.table[t.column].to_numpy(float if t.kind == "regression" else None) for t in tasks
    }
    for name, x in source.values.items():
        x_train, x_val, x_test = x[train], x[val], x[test]
        x_ood = ood.values[name][ood_test] if ood is not None and name in ood.values else None
        for family in families:
            bar.set_postfix_str(probe_label(name, family))
            probes = _fit(family, x_train, x_val, tasks, targets, train, val)
            for task in tasks:
                checks = [("id", targets[task][test], x_test)]
                if x_ood is not None and task.column in ood.table:
                    checks.append(("ood", ood.table[task.column].to_numpy()[ood_test], x_ood))
                for domain, y_true, x_eval in checks:
                    y_pred = probes[task].predict(x_eval)
                    score = scores(task, y_true, y_pred)
                    results.append(
                        Prediction(name, task, domain, y_true, y_pred, score, probes[task], family)
                    )
            bar.update()
        del x_train, x_val, x_test, x_ood
    bar.close()
    return results


def _fit(family, x_train, x_val, tasks, targets, train, val) -> dict[Task, Any]:
    """Every task's probe of one family on one representation."""
    if family == "gbm":
        fitted = fit_gbms(
            x_train, x_val, [(targets[t][train], targets[t][val], t.kind) for t in tasks]
        )
        return dict(zip(tasks, fitted, strict=True))
    probes: dict[Task, Any] = {}
    regressions = [t for t in tasks if t.kind != "classification"]
    if regressions:  # one fit serves every regression target
        y = np.stack([targets[t] for t in regressions], axis=1)
        probes = dict(zip(regressions, fit_ridges(x_train, y[train], x_val, y[val]), strict=True))
    for task in tasks:
        if task not in probes:
            y = targets[task]
            probes[task] = fit_softmax(x_train, y[train], x_val, y[val])
    return probes


def results_table(predictions: list[Prediction], domain: str = "id") -> pd.DataFrame:
    """Rows = tasks, columns = representations: R^2 in % (accuracy in % for categorical
    tasks), the layout of appendix Tables 5 and 6."""
    rows: dict[str, dict[str, float]] = {}
    for p in predictions:
        if p.domain != domain:
            continue
        value = p.scores.get("r2", p.scores.get("accuracy"))
        rows.setdefault(p.task.name, {})[p.label] = 100 * value
    return pd.DataFrame(rows).T


def tau_table(predictions: list[Prediction], domain: str = "id") -> pd.DataFrame:
    """Kendall's tau of the regression tasks, rows = tasks, columns = representations."""
    rows: dict[str, dict[str, float]] = {}
    for p in predictions:
        if p.domain == domain and "kendall_tau" in p.scores:
            rows.setdefault(p.task.name, {})[p.label] = p.scores["kendall_tau"]
    return pd.DataFrame(rows).T
