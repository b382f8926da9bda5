"""The data-set view of a zoo: the weight limit that leaves exploded checkpoints out."""

import math

import numpy as np
import pytest

from hyperrep._errors import HyperrepError
from hyperrep.zoo import load_checkpoints


def _largest_magnitudes(weights: np.ndarray) -> list[float]:
    """max |w| of each row, by a plain loop (independent of the vectorised code)."""
    out = []
    for row in weights:
        largest = 0.0
        for value in row:
            largest = max(largest, abs(float(value)))
        out.append(largest)
    return out


def test_weight_limit_leaves_out_exactly_the_checkpoints_above_it(tiny_zoo):
    full = load_checkpoints(tiny_zoo)
    largest = _largest_magnitudes(full.weights.numpy())
    limit = float(np.median(largest))
    limited = load_checkpoints(tiny_zoo, weight_limit=limit)

    expected = [i for i, m in enumerate(largest) if m <= limit]
    assert 0 < len(expected) < len(largest)  # the case tests both sides of the limit
    assert limited.over_limit == len(largest) - len(expected)
    assert full.over_limit == 0
    kept = full.table.iloc[expected].reset_index(drop=True)
    columns = ["model_id", "epoch", "split"]
    assert limited.table[columns].equals(kept[columns])  # the same rows, splits unchanged
    assert np.array_equal(limited.weights.numpy(), full.weights.numpy()[expected])


@pytest.mark.parametrize("limit", [0.0, -1.0, math.nan, math.inf])
def test_weight_limit_must_be_a_positive_number(tiny_zoo, limit):
    from hyperrep.representation import TrainConfig

    with pytest.raises(HyperrepError, match="weight limit must be a positive number"):
        load_checkpoints(tiny_zoo, weight_limit=limit)
    with pytest.raises(HyperrepError, match="weight limit must be a positive number"):
        TrainConfig(weight_limit=limit)


def test_a_limit_below_every_weight_is_a_one_line_error(tiny_zoo):
    with pytest.raises(HyperrepError, match="every checkpoint .* has a weight above"):
        load_checkpoints(tiny_zoo, weight_limit=1e-9)


def test_runs_and_probes_read_the_limited_data_set(tiny_zoo, tiny_run_config, tmp_path):
    """A run trained with a weight limit learns from, and is probed on, the same
    checkpoints as `load_checkpoints` with that limit; a report says how many it left out."""
    from dataclasses import replace

    from hyperrep.probes import probe_zoo, zoo_features
    from hyperrep.representation import load_run, train_representation

    full = load_checkpoints(tiny_zoo)
    limit = float(np.quantile(_largest_magnitudes(full.weights.numpy()), 0.8))
    expected = load_checkpoints(tiny_zoo, weight_limit=limit)
    config = tiny_run_config("ecd")
    config = replace(config, train=replace(config.train, weight_limit=limit))
    train_representation(tiny_zoo, config, tmp_path / "run", progress=False)
    run = load_run(tmp_path / "run")
    assert run.config.train.weight_limit == limit  # stored with the run

    features = zoo_features(tiny_zoo, [run])
    columns = ["model_id", "epoch", "split"]
    assert features.table[columns].reset_index(drop=True).equals(expected.table[columns])
    assert features.over_limit == expected.over_limit > 0
    baseline = zoo_features(tiny_zoo)  # no run, no limit: every checkpoint
    assert len(baseline.table) == len(full.table) and baseline.over_limit == 0

    results = probe_zoo(tiny_zoo, [run], umap_points=0)
    assert results.meta["weight_limit"] == limit
    assert results.meta["over_limit"] == expected.over_limit
