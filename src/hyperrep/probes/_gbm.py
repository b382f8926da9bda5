"""Gradient-boosted tree probes (LightGBM), the strong simple baseline of Unterthiner et al.
2020: a regressor per regression task, a multiclass classifier per categorical task, the
tree size and the number of trees chosen on the validation split.

A fitted probe is kept as LightGBM's text model format (no pickle), which
`probes.safetensors` stores as bytes (see `_bundle.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

GBM_LEAVES = (7, 31)  # the tree sizes tried; the validation split picks one
GBM_MAX_TREES = 400
GBM_LEARNING_RATE = 0.1
GBM_PATIENCE = 25  # rounds without a validation improvement before stopping


def _params(kind: str, leaves: int, classes: int, seed: int) -> dict:
    objective = (
        {"objective": "multiclass", "num_class": classes}
        if kind == "classification"
        else {"objective": "regression"}
    )
    return {
        **objective,
        "num_leaves": leaves,
        "learning_rate": GBM_LEARNING_RATE,
        "min_data_in_leaf": 10,
        "feature_fraction": 0.5,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": torch.get_num_threads(),  # the process's --threads
        "verbosity": -1,
    }


@dataclass
class GbmProbe:
    """A LightGBM model (its text format) for one task; `classes` for classification."""

    model: str
    kind: str  # "regression" or "classification"
    classes: list | None  # the labels, in the order of the model's class indices
    leaves: int
    trees: int

    @cached_property
    def _booster(self):  # parsed once per probe
        import lightgbm

        return lightgbm.Booster(model_str=self.model)

    def predict(self, x: np.ndarray) -> np.ndarray:
        out = self._booster.predict(np.asarray(x, np.float32))
        if self.kind == "regression":
            return np.asarray(out, np.float64)
        return np.asarray(self.classes, dtype=object)[np.argmax(out, axis=1)]


_BINNING = {"max_bin": 63, "min_data_in_leaf": 10, "feature_pre_filter": False, "verbosity": -1}


def fit_gbms(
    x_train: np.ndarray,
    x_val: np.ndarray,
    targets: list[tuple[np.ndarray, np.ndarray, str]],
    *,
    seed: int = 0,
) -> list[GbmProbe]:
    """One probe per target `(y_train, y_val, kind)`, all on the same features (binned
    once). For each tree size in `GBM_LEAVES`, trees are added until the validation loss
    has not improved for `GBM_PATIENCE` rounds; the size with the better validation score
    (R² or accuracy) wins."""
    import lightgbm

    train = lightgbm.Dataset(np.asarray(x_train, np.float32), params=_BINNING, free_raw_data=False)
    train.set_label(np.zeros(len(x_train))).construct()
    valid = lightgbm.Dataset(np.asarray(x_val, np.float32), reference=train, params=_BINNING)
    valid.set_label(np.zeros(len(x_val))).construct()
    return [_fit_one(train, valid, x_val, *target, seed=seed) for target in targets]


def fit_gbm(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    *,
    kind: str,
    seed: int = 0,
) -> GbmProbe:
    """One gradient-boosted probe (see `fit_gbms`)."""
    return fit_gbms(x_train, x_val, [(y_train, y_val, kind)], seed=seed)[0]


def _fit_one(train, valid, x_val, y_train, y_val, kind: str, *, seed: int) -> GbmProbe:
    import lightgbm

    classes = None
    if kind == "classification":
        classes = sorted({_plain(v) for v in (*y_train, *y_val)}, key=str)
        index = {c: i for i, c in enumerate(classes)}
        train.set_label(np.array([index[_plain(v)] for v in y_train]))
        valid.set_label(np.array([index[_plain(v)] for v in y_val]))
    else:
        train.set_label(np.asarray(y_train, np.float64))
        valid.set_label(np.asarray(y_val, np.float64))
    best: tuple[float, GbmProbe] | None = None
    for leaves in GBM_LEAVES:
        booster = lightgbm.train(
            {**_BINNING, **_params(kind, leaves, len(classes or ()), seed)},
            train,
            num_boost_round=GBM_MAX_TREES,
            valid_sets=[valid],
            callbacks=[lightgbm.early_stopping(GBM_PATIENCE, verbose=False)],
        )
        trees = booster.best_iteration or booster.current_iteration()
        probe = GbmProbe(booster.model_to_string(num_iteration=trees), kind, classes, leaves, trees)
        score = _validation_score(probe, x_val, y_val)
        if best is None or score > best[0]:
            best = (score, probe)
    assert best is not None
    return best[1]


def _plain(value: object) -> object:
    """A label as a JSON value (numpy scalars unwrapped)."""
    return value.item() if hasattr(value, "item") else value


def _validation_score(probe: GbmProbe, x_val: np.ndarray, y_val: np.ndarray) -> float:
    pred = probe.predict(x_val)
    if probe.kind == "classification":
        return float(np.mean(pred == np.asarray([_plain(v) for v in y_val], dtype=object)))
    y = np.asarray(y_val, np.float64)
    total = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float(((y - pred) ** 2).sum()) / total if total > 0 else -float("inf")
