"""Diversity of samples (distances to the zoo's training checkpoints) against plain loops,
and the B_KDE30 baseline (weights-kde30) end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hyperrep.arch import to_module
from hyperrep.cli.main import main
from hyperrep.representation import load_run
from hyperrep.sampling import Samples, nearest_distances, sample_diversity, sample_models
from hyperrep.zoo import load_checkpoints


def test_nearest_distances_equal_a_plain_loop_with_and_without_groups():
    rng = np.random.default_rng(0)
    queries, points = rng.normal(size=(7, 5)), rng.normal(size=(2500, 5))
    qg, pg = rng.integers(0, 3, 7), rng.integers(0, 3, 2500)
    plain = [min(np.linalg.norm(q - p) for p in points) for q in queries]
    grouped = [
        min(np.linalg.norm(q - p) for p, g in zip(points, pg, strict=True) if g != group)
        for q, group in zip(queries, qg, strict=True)
    ]
    np.testing.assert_allclose(nearest_distances(queries, points, chunk=1000), plain)
    np.testing.assert_allclose(
        nearest_distances(queries, points, query_groups=qg, point_groups=pg, chunk=1000), grouped
    )


def test_copies_of_training_checkpoints_are_at_distance_zero(tiny_ecd_run, tiny_zoo):
    run = load_run(tiny_ecd_run)
    data = load_checkpoints(tiny_zoo, run.config.train.split_seed)
    table, weights = data.table, data.weights.numpy()
    train = (table["split"] == "train").to_numpy()
    rows = np.flatnonzero(train & (table["epoch"] == 4).to_numpy())[:3]
    copies = Samples("kde", 0, np.zeros((3, 0)), weights[rows], "tanh", {"epochs": [3, 4]})
    d = sample_diversity(copies, tiny_zoo, split_seed=run.config.train.split_seed)
    assert d["sample_nearest"] == 0.0
    last = np.flatnonzero(train & (table["epoch"] == 4).to_numpy())
    models = table["model_id"].to_numpy()
    own = [
        min(
            np.linalg.norm(weights[r] - weights[o])
            for o in np.flatnonzero(train & (models != models[r]))
        )
        for r in last
    ]
    assert d["model_nearest"] == pytest.approx(np.median(own), rel=1e-6)
    assert d["model_pair"] > 0 and d["sample_pair"] > 0


def test_weights_kde30_draws_weights_from_the_top_checkpoints(tiny_ecd_run, tiny_zoo, tmp_path):
    run = load_run(tiny_ecd_run)
    samples = sample_models(run, tiny_zoo, 4000, method="weights-kde30", seed=1)
    assert samples.latents.shape == (4000, 0)
    data = load_checkpoints(tiny_zoo, run.config.train.split_seed)
    table = data.table
    keep = (table["split"] == "train").to_numpy() & (table["epoch"] >= 1).to_numpy()
    threshold = samples.source["test_acc_threshold"]
    top = data.weights.numpy()[keep & (table["test_acc"] >= threshold).to_numpy()]
    # a per-dimension KDE's mean is its sources' mean (4000 draws: within 4 standard errors)
    spread = top.std(0) + 1e-3
    assert np.all(np.abs(samples.weights.mean(0) - top.mean(0)) < 4 * spread / np.sqrt(4000) + 1e-3)

    out = tmp_path / "b-kde30"
    argv = ["sample", str(tiny_ecd_run), str(tiny_zoo.path), "--n", "5", "--out", str(out)]
    assert main([*argv, "--method", "weights-kde30"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["method"] == "weights-kde30" and manifest["samples"][0]["latent"] == []
    assert set(manifest["diversity"]) >= {"sample_nearest", "model_nearest", "model_pair"}
    model = to_module(tiny_zoo.architecture, manifest["activation"])
    model.load_state_dict(torch.load(out / "sample-0000.pt", weights_only=True))
