import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score

from hyperrep.probes import (
    CheckpointFeatures,
    evaluate_probes,
    fit_ridge,
    fit_ridges,
    fit_softmax,
    results_table,
    tasks_for,
    zoo_features,
)
from hyperrep.representation import load_checkpoints
from hyperrep.weights import weight_statistics
from hyperrep.zoo import create_zoo, create_zoo_config


def _table(n_models=60, epochs=5, seed=0):
    rng = np.random.default_rng(seed)
    rows = [(m, e) for m in range(n_models) for e in range(epochs)]
    table = pd.DataFrame(rows, columns=["model_id", "epoch"])
    splits = rng.permutation(["train"] * 42 + ["val"] * 9 + ["test"] * 9)
    table["split"] = splits[table["model_id"]]
    return table


def test_ridge_recovers_a_linear_target_and_not_noise():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 12)) * rng.uniform(0.1, 10, size=12)
    y = x @ rng.normal(size=12) + 3.0
    probe = fit_ridge(x[:400], y[:400], x[400:500], y[400:500])
    pred = probe.predict(x[500:])
    assert 1 - ((pred - y[500:]) ** 2).sum() / ((y[500:] - y[500:].mean()) ** 2).sum() > 0.999
    noise = rng.normal(size=600)
    probe = fit_ridge(x[:400], noise[:400], x[400:500], noise[400:500])
    pred = probe.predict(x[500:])
    r2 = 1 - ((pred - noise[500:]) ** 2).sum() / ((noise[500:] - noise[500:].mean()) ** 2).sum()
    assert r2 < 0.05


def test_ridge_matches_sklearn_for_a_fixed_alpha():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(200, 5)), rng.normal(size=200)
    probe = fit_ridge(x, y, x[:10], y[:10], alphas=np.array([3.0]))
    xs = (x - x.mean(0)) / x.std(0)
    reference = Ridge(alpha=3.0).fit(xs, y)
    np.testing.assert_allclose(probe.coef, reference.coef_, rtol=1e-8)
    assert probe.intercept == pytest.approx(reference.intercept_)


def test_ridge_with_fewer_rows_than_features_is_the_closed_form_solution():
    """The n x n dual path against (X^T X + alpha I)^-1 X^T y solved directly, per alpha
    and target; the validation split picks the same alpha as a loop over alphas."""
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(30, 80)), rng.normal(size=(30, 2))
    x_val, y_val = rng.normal(size=(12, 80)), rng.normal(size=(12, 2))
    alphas = np.array([0.1, 10.0, 1000.0])
    probes = fit_ridges(x, y, x_val, y_val, alphas=alphas)
    mean, std = x.mean(0), x.std(0)
    xs, vs = (x - mean) / std, (x_val - mean) / std
    for t, probe in enumerate(probes):
        fits = [
            np.linalg.solve(xs.T @ xs + a * np.eye(80), xs.T @ (y[:, t] - y[:, t].mean()))
            for a in alphas
        ]
        scores = [r2_score(y_val[:, t], vs @ w + y[:, t].mean()) for w in fits]
        best = int(np.argmax(scores))
        assert probe.alpha == alphas[best]
        np.testing.assert_allclose(probe.coef, fits[best], rtol=1e-8, atol=1e-10)
        assert probe.intercept == pytest.approx(y[:, t].mean())


def test_ridges_in_small_chunks_equal_one_plain_fit_per_target(monkeypatch):
    """The chunked multi-target fit against a dense per-target computation by hand."""
    from hyperrep.probes import _linear

    rng = np.random.default_rng(3)
    x = (rng.normal(size=(300, 8)) * rng.uniform(0.1, 10, size=8)).astype(np.float32)
    y = np.stack([x @ rng.normal(size=8), rng.normal(size=300)], axis=1)
    monkeypatch.setattr(_linear, "CHUNK_ROWS", 7)
    probes = fit_ridges(x[:200], y[:200], x[200:250], y[200:250])
    xs = (x.astype(np.float64) - x[:200].mean(0, dtype=np.float64)) / x[:200].astype(
        np.float64
    ).std(0)
    for t, probe in enumerate(probes):
        a = probe.alpha
        gram = xs[:200].T @ xs[:200] + a * np.eye(8)
        coef = np.linalg.solve(gram, xs[:200].T @ (y[:200, t] - y[:200, t].mean()))
        np.testing.assert_allclose(probe.coef, coef, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(
            probe.predict(x[250:]), xs[250:] @ coef + y[:200, t].mean(), rtol=1e-9
        )
        val_r2 = [
            _r2(
                y[200:250, t],
                fit_ridge(
                    x[:200], y[:200, t], x[200:250], y[200:250, t], alphas=np.array([b])
                ).predict(x[200:250]),
            )
            for b in _linear.RIDGE_ALPHAS
        ]
        assert a == _linear.RIDGE_ALPHAS[int(np.argmax(val_r2))]


def _r2(y, pred):
    return 1 - ((pred - y) ** 2).sum() / ((y - y.mean()) ** 2).sum()


def test_softmax_probe_separates_classes():
    rng = np.random.default_rng(2)
    labels = rng.choice(["tanh", "relu", "gelu"], size=600)
    centers = {"tanh": 0.0, "relu": 3.0, "gelu": -3.0}
    x = rng.normal(size=(600, 4)) + np.array([centers[v] for v in labels])[:, None]
    probe = fit_softmax(x[:400], labels[:400], x[400:500], labels[400:500])
    assert (probe.predict(x[500:]) == labels[500:]).mean() > 0.95


def _softmax_optimum(xs, labels, c):
    """Minimiser of C * cross-entropy + |W|^2 / 2 (intercepts free), by scipy from zero:
    class probabilities of each row."""
    from scipy.optimize import minimize

    classes = np.unique(labels)
    onehot = (labels[:, None] == classes[None]).astype(float)
    k, f = len(classes), xs.shape[1]

    def loss(theta):
        w, b = theta[: k * f].reshape(k, f), theta[k * f :]
        logits = xs @ w.T + b
        logits -= logits.max(1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(1, keepdims=True)
        value = -c * (onehot * np.log(p)).sum() + 0.5 * (w**2).sum()
        grad_logits = c * (p - onehot)
        return value, np.concatenate([(grad_logits.T @ xs + w).ravel(), grad_logits.sum(0)])

    theta = minimize(
        loss,
        np.zeros(k * (f + 1)),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": 1e-10, "ftol": 1e-15, "maxiter": 10000},
    ).x
    w, b = theta[: k * f].reshape(k, f), theta[k * f :]
    logits = xs @ w.T + b
    p = np.exp(logits - logits.max(1, keepdims=True))
    return p / p.sum(1, keepdims=True)


# Newton's method, converged; lbfgs, within its default tolerance
@pytest.mark.parametrize(("features", "atol"), [(3, 1e-6), (400, 1e-3)])
def test_softmax_probe_is_the_optimum_of_its_objective(features, atol):
    rng = np.random.default_rng(5)
    labels = rng.choice(["a", "b", "c"], size=90)
    x = rng.normal(size=(90, features)) + (labels == "b")[:, None] * 0.7
    probe = fit_softmax(x[:60], labels[:60], x[60:], labels[60:], cs=np.array([0.05]))
    xs = probe.standardizer(x[:60])
    np.testing.assert_allclose(
        probe.model.predict_proba(xs), _softmax_optimum(xs, labels[:60], 0.05), atol=atol
    )


def test_softmax_probe_does_not_depend_on_the_thread_count():
    # large enough for lbfgs and for BLAS to split its products over threads: unpinned,
    # the coefficients of 1 and 2 threads differ in the last bits (9e-15 on a 2-core
    # AMD EPYC), and on a 96-model MNIST-HYP zoo such differences flipped the chosen C
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(8)
    x = rng.normal(size=(1500, 700))
    labels = (x[:, :4] @ rng.normal(size=(4, 3))).argmax(1).astype(str)
    fits = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads):
            probe = fit_softmax(x[:1200], labels[:1200], x[1200:], labels[1200:], cs=[1e3])
        fits.append(probe.model.coef_)
    np.testing.assert_array_equal(fits[0], fits[1])


def test_softmax_probe_picks_the_c_with_the_best_validation_accuracy():
    rng = np.random.default_rng(6)
    labels = rng.choice(["a", "b", "c", "d"], size=200)
    x = rng.normal(size=(200, 5)) + (labels == "b")[:, None] * 0.5
    cs = np.logspace(-4, 2, 7)
    val = [
        (
            fit_softmax(x[:120], labels[:120], x[120:], labels[120:], cs=np.array([c])).predict(
                x[120:]
            )
            == labels[120:]
        ).mean()
        for c in cs
    ]
    chosen = fit_softmax(x[:120], labels[:120], x[120:], labels[120:], cs=cs)
    best = cs[int(np.argmax(val))]
    assert best == chosen.C


def test_probe_uses_train_for_fitting_and_never_sees_test():
    table = _table()
    rng = np.random.default_rng(3)
    x = rng.normal(size=(len(table), 6))
    table["test_acc"] = x @ rng.normal(size=6)
    table["ggap"] = rng.normal(size=len(table))
    poisoned = table.copy()
    poisoned.loc[poisoned["split"] == "test", "test_acc"] = 1e6  # changing test targets ...
    a = evaluate_probes(CheckpointFeatures(table, {"X": x}), tasks_for(table))
    b = evaluate_probes(CheckpointFeatures(poisoned, {"X": x}), tasks_for(poisoned))
    acc_a = next(p for p in a if p.task.name == "Acc")
    acc_b = next(p for p in b if p.task.name == "Acc")
    np.testing.assert_array_equal(acc_a.y_pred, acc_b.y_pred)  # ... does not change the probe
    assert acc_a.scores["r2"] > 0.99


def test_ood_evaluation_applies_the_source_probe_unchanged():
    source, target = _table(seed=0), _table(seed=1)
    rng = np.random.default_rng(4)
    w = rng.normal(size=6)
    xs, xt = rng.normal(size=(len(source), 6)), rng.normal(size=(len(target), 6)) + 2.0
    source["test_acc"], target["test_acc"] = xs @ w, xt @ w + 5.0
    predictions = evaluate_probes(
        CheckpointFeatures(source, {"X": xs}),
        tasks_for(source),
        ood=CheckpointFeatures(target, {"X": xt}),
    )
    ood = next(p for p in predictions if p.domain == "ood" and p.task.name == "Acc")
    train, val = source.split == "train", source.split == "val"
    probe = fit_ridge(xs[train], source.test_acc[train], xs[val], source.test_acc[val])
    np.testing.assert_allclose(ood.y_pred, probe.predict(xt[target.split == "test"]))
    assert ood.scores["kendall_tau"] > 0.5 and ood.scores["r2"] < 0.9  # ordered, but biased


def test_zoo_splits_never_share_a_model(tmp_path):
    from hyperrep.zoo import create_zoo, create_zoo_config

    config = create_zoo_config(
        "tetris-hyp", n_models=30, epochs=2, dataset_options={"n_train": 128, "n_test": 64}
    )
    zoo = create_zoo(config, tmp_path / "z", progress=False)
    table = load_checkpoints(zoo).table
    assert (table.groupby("model_id")["split"].nunique() == 1).all()
    features = zoo_features(zoo)
    assert set(features.values) == {"W", "s(W)", "s(W) tensor"}
    names = [t.name for t in tasks_for(features.table)]
    assert {"Eph", "Acc", "GGap", "F_c0", "LR", "Act", "Init"} <= set(names)
    table = results_table(evaluate_probes(features, tasks_for(features.table)))
    assert list(table.columns) == ["W", "s(W)", "s(W) tensor"] and "Act" in table.index


@pytest.mark.slow
def test_evaluate_command_writes_tables_and_plots(tiny_zoo, tmp_path, capsys, assert_plot):
    from hyperrep.cli.main import main

    # a genuinely different zoo for OOD (other learning rates, inits and activations),
    # so that scoring the in-distribution test split as OOD cannot pass unnoticed
    ood_config = create_zoo_config(
        "tetris-hyp", n_models=24, epochs=4, dataset_options={"n_train": 256, "n_test": 128}
    )
    ood = create_zoo(ood_config, tmp_path / "ood", progress=False)
    run_dir = tmp_path / "run"
    assert (
        main(
            [
                "train",
                str(tiny_zoo.path),
                "--out",
                str(run_dir),
                "--variant",
                "ecd",
                "--epochs",
                "1",
                "--d-model",
                "32",
                "--quiet",
            ]
        )
        == 0
    )
    out = tmp_path / "report"
    assert (
        main(
            [
                "evaluate",
                str(run_dir),
                str(tiny_zoo.path),
                "--out",
                str(out),
                "--ood",
                str(ood.path),
            ]
        )
        == 0
    )
    table = pd.read_csv(out / "results.csv", index_col=0)
    assert list(table.columns) == ["W", "s(W)", "s(W) tensor", "E_cD c=2"]
    assert {"Eph", "Acc", "GGap", "F_c0", "F_c3"} <= set(table.index)
    assert (out / "results_ood.csv").is_file() and (out / "results.md").is_file()
    ood_table = pd.read_csv(out / "results_ood.csv", index_col=0)
    shared = table.loc[ood_table.index, ood_table.columns]
    assert not np.allclose(shared.to_numpy(float), ood_table.to_numpy(float), equal_nan=True)
    # the OOD scores are the ID probes applied to the OOD zoo's own test split
    ood_data = load_checkpoints(ood)
    test = ood_data.table["split"].to_numpy() == "test"
    features = weight_statistics(ood.architecture, ood_data.weights.numpy()[test])
    id_features = zoo_features(tiny_zoo)
    split = id_features.table["split"].to_numpy()
    x, y = id_features.values["s(W)"], id_features.table["test_acc"].to_numpy()
    probe = fit_ridge(
        x[split == "train"], y[split == "train"], x[split == "val"], y[split == "val"]
    )
    expected = r2_score(ood_data.table["test_acc"].to_numpy()[test], probe.predict(features))
    assert ood_table.loc["Acc", "s(W)"] == pytest.approx(100 * expected, abs=0.05)  # csv: 0.1
    for png in (
        "predictions_sW.png",
        "predictions_E_cD_c2.png",
        "accuracy_over_epochs.png",
        "accuracy_over_mean_weight.png",
        "umap.png",
    ):
        assert_plot(out / png)
    assert "In distribution" in capsys.readouterr().out


@pytest.mark.slow
def test_runs_of_one_variant_and_ratio_get_their_own_columns(tiny_zoo, tmp_path):
    from hyperrep.cli.main import main

    for name, gamma in (("low", "0.1"), ("high", "0.9")):
        assert (
            main(
                [
                    "train",
                    str(tiny_zoo.path),
                    "--out",
                    str(tmp_path / name),
                    "--epochs",
                    "1",
                    "--d-model",
                    "32",
                    "--gamma",
                    gamma,
                    "--quiet",
                ]
            )
            == 0
        )
    out = tmp_path / "report"
    assert (
        main(
            [
                "evaluate",
                str(tmp_path / "low"),
                str(tmp_path / "high"),
                str(tiny_zoo.path),
                "--out",
                str(out),
                "--umap-points",
                "0",
            ]
        )
        == 0
    )
    table = pd.read_csv(out / "results.csv", index_col=0)
    runs = ["E_cD c=2 (low)", "E_cD c=2 (high)"]
    assert list(table.columns)[-2:] == runs
    assert table.loc["Rec", runs].notna().all()
    assert table.loc["Rec", runs[0]] != table.loc["Rec", runs[1]]  # two models, two columns


def _softmax_by_gradient_descent(x, y, c, steps=20000):
    """Multinomial logistic regression, 0.5 ||W||^2 + C sum CE (intercept unpenalised),
    on x standardised with the training split's mean and std: plain full-batch descent."""
    mean, std = x.mean(0), x.std(0)
    xs = (x - mean) / std
    classes = np.unique(y)
    onehot = (y[:, None] == classes[None, :]).astype(float)
    w, b = np.zeros((x.shape[1], len(classes))), np.zeros(len(classes))
    lr = 1.0 / (1.0 + c * len(x) * (np.linalg.norm(xs, 2) ** 2 + len(x)) / len(x))
    for _ in range(steps):
        logits = xs @ w + b
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        w -= lr * (w + c * xs.T @ (p - onehot))
        b -= lr * c * (p - onehot).sum(0)

    def predict(z):
        return classes[np.argmax(((z - mean) / std) @ w + b, axis=1)]

    return predict


def test_classification_tasks_match_an_independent_softmax_fit(monkeypatch):
    """Act / Init / Opt accuracies: the probe that `evaluate_probes` picks on validation
    and its test accuracy, against plain gradient descent on the same objective and a
    counting loop."""
    import functools

    import hyperrep.probes._evaluate as evaluate

    cs = np.array([0.01, 1.0])
    monkeypatch.setattr(evaluate, "fit_softmax", functools.partial(fit_softmax, cs=cs))
    table = _table(n_models=60, epochs=3, seed=5)
    rng = np.random.default_rng(5)
    acts = np.array(["gelu", "relu", "tanh"])[rng.integers(0, 3, 60)]
    table["activation"] = acts[table["model_id"]]
    centers = {"gelu": (0.0, 1.0), "relu": (1.0, 0.0), "tanh": (-1.0, -1.0)}
    x = rng.normal(scale=0.8, size=(len(table), 2)) + np.array(
        [centers[a] for a in table["activation"]]
    )
    predictions = evaluate_probes(CheckpointFeatures(table, {"X": x}), tasks_for(table))
    (prediction,) = [p for p in predictions if p.task.name == "Act"]
    split = table["split"].to_numpy()
    y = table["activation"].to_numpy()
    train, val, test = (split == s for s in ("train", "val", "test"))
    fits = [_softmax_by_gradient_descent(x[train], y[train], c) for c in cs]
    val_hits = [sum(int(a == b) for a, b in zip(f(x[val]), y[val], strict=True)) for f in fits]
    chosen = fits[val_hits.index(max(val_hits))]
    expected = chosen(x[test])
    np.testing.assert_array_equal(prediction.y_pred, expected)
    hits = sum(int(a == b) for a, b in zip(expected, y[test], strict=True))
    assert prediction.scores["accuracy"] == pytest.approx(hits / int(test.sum()))
    assert 0.5 < prediction.scores["accuracy"] < 1.0  # overlapping classes: a real fit
