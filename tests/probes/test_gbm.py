"""Gradient-boosted probes: they fit what a linear probe cannot, the shared binning of
`fit_gbms` gives each task the probe it would get alone, labels come back as given, and
a fit is reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from hyperrep.probes import fit_gbm, fit_gbms, fit_ridge
from hyperrep.probes._gbm import GBM_LEAVES


def _r2(y, pred):
    return 1 - ((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum()


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 6)).astype(np.float32)
    step = np.where(x[:, 0] > 0.3, 2.0, -1.0) + np.where(np.abs(x[:, 1]) < 0.5, 1.0, 0.0)
    label = np.array(["relu", "tanh", "gelu"])[(x[:, 2] > 0).astype(int) + (x[:, 3] > 1)]
    return x, step + rng.normal(0, 0.05, 500), label


def test_trees_fit_a_step_function_a_ridge_cannot(data):
    x, y, _ = data
    tr, va, te = slice(0, 300), slice(300, 400), slice(400, None)
    gbm = fit_gbm(x[tr], y[tr], x[va], y[va], kind="regression")
    ridge = fit_ridge(x[tr], y[tr], x[va], y[va])
    assert _r2(y[te], gbm.predict(x[te])) > 0.95
    assert _r2(y[te], ridge.predict(x[te])) < 0.75
    assert gbm.leaves in GBM_LEAVES and 1 <= gbm.trees <= 400


def test_classes_come_back_as_the_labels_given(data):
    x, _, label = data
    probe = fit_gbm(x[:300], label[:300], x[300:400], label[300:400], kind="classification")
    pred = probe.predict(x[400:])
    assert set(pred) <= {"relu", "tanh", "gelu"} and probe.classes == ["gelu", "relu", "tanh"]
    assert np.mean(pred == label[400:]) > 0.9


def test_shared_binning_gives_each_task_its_own_probe(data):
    x, y, label = data
    tr, va = slice(0, 300), slice(300, 400)
    together = fit_gbms(
        x[tr],
        x[va],
        [(y[tr], y[va], "regression"), (label[tr], label[va], "classification")],
    )
    alone = [
        fit_gbm(x[tr], y[tr], x[va], y[va], kind="regression"),
        fit_gbm(x[tr], label[tr], x[va], label[va], kind="classification"),
    ]
    for a, b in zip(together, alone, strict=True):
        assert (a.leaves, a.trees) == (b.leaves, b.trees)
        np.testing.assert_array_equal(a.predict(x[400:]), b.predict(x[400:]))


def test_the_same_seed_gives_the_same_model(data):
    x, y, _ = data
    first = fit_gbm(x[:300], y[:300], x[300:400], y[300:400], kind="regression", seed=3)
    again = fit_gbm(x[:300], y[:300], x[300:400], y[300:400], kind="regression", seed=3)
    assert first.model == again.model
