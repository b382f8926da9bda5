"""The report is rendered from saved results alone: no zoo, no refitting."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from hyperrep import HyperrepError
from hyperrep.probes import ProbeResults, probe_zoo
from hyperrep.report import render_report
from hyperrep.zoo import create_zoo, create_zoo_config


def test_saved_results_load_back_and_render_without_the_zoo(tiny_zoo, tmp_path, assert_plot):
    results = probe_zoo(tiny_zoo, umap_points=40)
    results.save(tmp_path / "saved")
    loaded = ProbeResults.load(tmp_path / "saved")
    for domain, table in results.tables.items():
        pd.testing.assert_frame_equal(loaded.tables[domain], table, check_dtype=False)
        pd.testing.assert_frame_equal(loaded.taus[domain], results.taus[domain], check_dtype=False)
    pd.testing.assert_frame_equal(loaded.predictions, results.predictions)
    assert loaded.meta == results.meta
    # the recomputed scores of the saved predictions are the table's
    for p in loaded.prediction_list():
        assert 100 * p.scores["r2"] == pytest.approx(
            results.tables["id"].loc[p.task.name, p.representation], abs=0.051
        )
    moved = tmp_path / "elsewhere"
    shutil.copytree(tmp_path / "saved", moved)
    render_report(ProbeResults.load(moved), moved)
    assert "| Acc |" in (moved / "results.md").read_text()
    for png in (
        "predictions_sW.png",
        "accuracy_over_epochs.png",
        "accuracy_over_mean_weight.png",
        "umap.png",
    ):
        assert_plot(moved / png)


def test_categorical_predictions_are_saved_and_score_as_the_table(tmp_path):
    config = create_zoo_config(
        "tetris-hyp", n_models=30, epochs=2, dataset_options={"n_train": 128, "n_test": 64}
    )
    results = probe_zoo(create_zoo(config, tmp_path / "zoo", progress=False), umap_points=0)
    results.save(tmp_path / "saved")
    saved = ProbeResults.load(tmp_path / "saved").classifications
    table = results.tables["id"]
    assert set(saved["task"]) == {"Act", "Init"} == set(table.index) & {"Act", "Init", "Opt"}
    assert set(saved["representation"]) == set(table.columns)
    for (task, rep), rows in saved.groupby(["task", "representation"]):
        assert rows["y_true"].map(type).eq(str).all()
        accuracy = 100 * (rows["y_true"] == rows["y_pred"]).mean()  # by hand, not sklearn
        assert accuracy == pytest.approx(table.loc[task, rep], abs=0.051)


def test_a_folder_without_results_is_one_clear_error(tmp_path):
    with pytest.raises(HyperrepError, match="not a readable probe results folder"):
        ProbeResults.load(tmp_path)
