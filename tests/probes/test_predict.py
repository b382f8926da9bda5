"""`hyperrep predict` on checkpoints saved as files equals the report's own predictions,
and refuses what it cannot read safely with one line."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import save_file

from hyperrep.arch import vector_to_state_dict
from hyperrep.cli.main import main


@pytest.fixture(scope="module")
def report(tiny_zoo, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    argv = ["evaluate", "baselines", str(tiny_zoo.path), "--out", str(out), "--umap-points", "0"]
    assert main([*argv, "--probes", "linear,gbm"]) == 0
    return out


def _save(zoo, model, epoch, path):
    vector = torch.from_numpy(np.array(zoo.weights[model, epoch]))
    state = vector_to_state_dict(zoo.architecture, vector)
    if path.suffix == ".safetensors":
        save_file(state, str(path))
    else:
        torch.save(state, path)
    return path


@pytest.mark.parametrize("family", ["linear", "gbm"])
def test_predictions_of_saved_checkpoints_equal_the_reports(
    report, tiny_zoo, tmp_path, capsys, family
):
    saved = pd.read_parquet(report / "predictions.parquet")
    rows = saved[
        (saved["representation"] == "s(W)")
        & (saved["domain"] == "id")
        & (saved["family"] == family)
    ]
    picked = rows.drop_duplicates(["model_index", "epoch"]).head(3)
    files = []
    for i, (m, e) in enumerate(zip(picked["model_index"], picked["epoch"], strict=True)):
        suffix = ".safetensors" if i == 0 else ".pt"
        files.append(_save(tiny_zoo, int(m), int(e), tmp_path / f"m{m}-e{e}{suffix}"))
    out = tmp_path / "predicted.csv"
    assert (
        main(
            [
                "predict",
                str(report),
                *map(str, files),
                "--representation",
                "s(W)",
                "--probes",
                family,
                "--out",
                str(out),
            ]
        )
        == 0
    )
    predicted = pd.read_csv(out, index_col=0)
    for path, (m, e) in zip(
        files, zip(picked["model_index"], picked["epoch"], strict=True), strict=True
    ):
        for task in ("Acc", "GGap", "Eph"):
            expected = rows[
                (rows["model_index"] == m) & (rows["epoch"] == e) & (rows["task"] == task)
            ]["y_pred"].item()
            assert predicted.loc[str(path), task] == pytest.approx(expected, rel=1e-6, abs=1e-9)
    assert (predicted["Acc ±"] > 0).all()
    assert f"the {family} probes on s(W)" in capsys.readouterr().out


class _Payload:
    def __reduce__(self):
        return (print, ("code ran",))


def _pickled_code(path):
    torch.save({"0.weight": _Payload()}, path)


def _other_architecture(path):
    torch.save({"0.weight": torch.zeros(3, 3)}, path)


def _nan(path, zoo):
    _save(zoo, 0, 1, path)
    state = torch.load(path, weights_only=True)
    next(iter(state.values()))[0] = float("nan")
    torch.save(state, path)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("pickled code", "not a plain state_dict"),
        ("other architecture", "not a tetris-mlp"),
        ("nan", "NaN"),
        ("random bytes", "not a plain state_dict"),
    ],
)
def test_unreadable_checkpoints_are_one_line(report, tiny_zoo, tmp_path, capsys, damage, message):
    path = tmp_path / "bad.pt"
    if damage == "pickled code":
        _pickled_code(path)
    elif damage == "other architecture":
        _other_architecture(path)
    elif damage == "nan":
        _nan(path, tiny_zoo)
    else:
        path.write_bytes(np.random.default_rng(0).bytes(300))
    assert main(["predict", str(report), str(path)]) == 2
    captured = capsys.readouterr()
    assert "code ran" not in captured.out
    assert captured.err.count("\n") == 1 and message in captured.err, captured.err


def test_a_folder_without_probes_is_refused(tmp_path, capsys):
    assert main(["predict", str(tmp_path), str(tmp_path)]) == 2
    assert "no readable probe bundle" in capsys.readouterr().err


def test_latents_averaged_over_permutations_are_probed_and_predicted(tiny_zoo, tmp_path, capsys):
    from hyperrep.probes import load_bundle
    from hyperrep.representation import load_run

    run_dir, out = tmp_path / "run", tmp_path / "report"
    assert (
        main(
            [
                "train",
                str(tiny_zoo.path),
                "--out",
                str(run_dir),
                "--epochs",
                "1",
                "--d-model",
                "16",
                "--quiet",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "evaluate",
                str(run_dir),
                str(tiny_zoo.path),
                "--out",
                str(out),
                "--umap-points",
                "0",
                "--permutation-average",
                "3",
                "--quiet",
            ]
        )
        == 0
    )
    table = pd.read_csv(out / "results.csv", index_col=0)
    assert list(table.columns)[-2:] == ["E_cD c=2", "E_cD c=2 avg3"]
    assert not np.isnan(table.loc["Rec", "E_cD c=2"])
    assert np.isnan(table.loc["Rec", "E_cD c=2 avg3"])  # no decoder reads an average
    assert table.loc["Acc", "E_cD c=2 avg3"] != table.loc["Acc", "E_cD c=2"]
    bundle = load_bundle(out)
    assert bundle.permutations == {"E_cD c=2 avg3": 3}
    assert bundle.runs["E_cD c=2 avg3"] == bundle.runs["E_cD c=2"]

    saved = pd.read_parquet(out / "predictions.parquet")
    rows = saved[
        (saved["representation"] == "E_cD c=2 avg3")
        & (saved["domain"] == "id")
        & (saved["task"] == "Acc")
    ].head(2)
    files = [
        _save(tiny_zoo, int(m), int(e), tmp_path / f"m{m}-e{e}.pt")
        for m, e in zip(rows["model_index"], rows["epoch"], strict=True)
    ]
    predicted_csv = tmp_path / "predicted.csv"
    assert (
        main(
            [
                "predict",
                str(out),
                *map(str, files),
                "--representation",
                "E_cD c=2 avg3",
                "--out",
                str(predicted_csv),
            ]
        )
        == 0
    )
    predicted = pd.read_csv(predicted_csv, index_col=0)
    # the same permutations for every checkpoint: the report's predictions exactly
    for path, expected in zip(files, rows["y_pred"], strict=True):
        assert predicted.loc[str(path), "Acc"] == pytest.approx(expected, rel=1e-6, abs=1e-9)
    probe = next(
        p for p in bundle.probes if p.representation == "E_cD c=2 avg3" and p.task == "Acc"
    )
    model, epoch = int(rows["model_index"].iloc[0]), int(rows["epoch"].iloc[0])
    weights = torch.from_numpy(np.array(tiny_zoo.weights[model, epoch]))[None]
    unaveraged = probe.predict(load_run(run_dir).encode(weights).numpy())[0]
    assert predicted.loc[str(files[0]), "Acc"] != pytest.approx(unaveraged, rel=1e-5)


@pytest.mark.parametrize("bad", ["0", "2000", "x"])
def test_a_permutation_average_out_of_range_is_refused(tiny_zoo, tmp_path, capsys, bad):
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "evaluate",
                "baselines",
                str(tiny_zoo.path),
                "--out",
                str(tmp_path / "r"),
                "--permutation-average",
                bad,
            ]
        )
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --permutation-average" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_a_bundle_saved_before_permutation_averaging_still_loads(report, tmp_path):
    from hyperrep.probes import load_bundle

    old = tmp_path / "old"
    shutil.copytree(report, old)
    meta = json.loads((old / "probes.json").read_text())
    del meta["permutations"]
    (old / "probes.json").write_text(json.dumps(meta))
    bundle = load_bundle(old)
    assert bundle.permutations == {} and len(bundle.probes) == len(load_bundle(report).probes)


def test_the_report_shows_both_probe_families_side_by_side(report):
    table = pd.read_csv(report / "results.csv", index_col=0)
    assert list(table.columns)[:4] == ["W", "W [gbm]", "s(W)", "s(W) [gbm]"]
    assert table.loc["Eph"].notna().all()
    assert "[gbm]: gradient-boosted trees" in (report / "results.md").read_text()


def test_predict_with_a_family_the_report_lacks_is_one_line(tiny_zoo, tmp_path, capsys):
    out = tmp_path / "linear-only"
    argv = ["evaluate", "baselines", str(tiny_zoo.path), "--out", str(out), "--umap-points", "0"]
    assert main([*argv, "--quiet"]) == 0
    checkpoint = _save(tiny_zoo, 0, 1, tmp_path / "m.pt")
    capsys.readouterr()
    assert main(["predict", str(out), str(checkpoint), "--probes", "gbm"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no gbm probes" in err and "--probes gbm" in err, err
    assert main([*argv, "--probes", "linear,forest"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown probe family forest" in err, err


def test_predict_flags_checkpoints_above_the_reports_weight_limit(tiny_zoo, tmp_path, capsys):
    from hyperrep.zoo import load_checkpoints

    data = load_checkpoints(tiny_zoo)
    largest = data.weights.abs().amax(dim=1)
    limit = float(largest.median())
    out = tmp_path / "report"
    argv = ["evaluate", "baselines", str(tiny_zoo.path), "--out", str(out), "--umap-points", "0"]
    assert main([*argv, "--weight-limit", repr(limit), "--quiet"]) == 0
    above, below = int(largest.argmax()), int(largest.argmin())
    files = []
    for name, row in (("above", above), ("below", below)):
        m, e = (int(data.table[k].iloc[row]) for k in ("model_index", "epoch"))
        files.append(_save(tiny_zoo, m, e, tmp_path / f"{name}.pt"))
    capsys.readouterr()
    assert main(["predict", str(out), *map(str, files), "--representation", "s(W)"]) == 0
    printed = capsys.readouterr().out
    assert "warning: 1 checkpoint(s) hold a weight above the report's weight limit" in printed
    assert (
        str(files[0]) in printed.splitlines()[-1] and str(files[1]) not in printed.splitlines()[-1]
    )
