"""Are samples new models? Distances in weight space to the zoo's training checkpoints,
against the distances between the training models themselves."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from hyperrep.sampling._sample import Samples
from hyperrep.zoo import Zoo, load_checkpoints

PAIRS = 2000  # random pairs of training models behind the typical distance


def nearest_distances(
    queries: np.ndarray,
    points: np.ndarray,
    *,
    query_groups: np.ndarray | None = None,
    point_groups: np.ndarray | None = None,
    chunk: int = 1024,
) -> np.ndarray:
    """Euclidean distance from each row of `queries` to its nearest row of `points`; with
    groups, points of the query's own group are left out."""
    q = torch.from_numpy(np.ascontiguousarray(queries, np.float64))
    best = torch.full((len(q),), float("inf"), dtype=torch.float64)
    for start in range(0, len(points), chunk):
        p = torch.from_numpy(np.ascontiguousarray(points[start : start + chunk], np.float64))
        # differences, not |q|^2 + |p|^2 - 2 q.p: that form leaves a rounding residue
        # whose square root is ~1e-7 for a copy (seen on one machine, not another)
        d = torch.cdist(q, p, compute_mode="donot_use_mm_for_euclid_dist")
        if query_groups is not None and point_groups is not None:
            same = query_groups[:, None] == point_groups[None, start : start + chunk]
            d[torch.from_numpy(same)] = float("inf")
        best = torch.minimum(best, d.min(dim=1).values)
    return best.numpy()


def sample_diversity(
    samples: Samples,
    zoo: Zoo,
    *,
    split_seed: int,
    seed: int = 0,
    weight_limit: float | None = None,
) -> dict[str, Any]:
    """How far the samples are from the zoo's training split, in raw weights (L2):

    - ``sample_nearest``: median over samples of the distance to the nearest training
      checkpoint (any epoch); near 0 means copies;
    - ``model_nearest``: the same for each training model's checkpoint at the last source
      epoch, nearest among the other training models' checkpoints (any epoch): how close
      distinct models of the zoo come to each other;
    - ``model_pair``: median distance between two training models at the same source
      epoch (`PAIRS` random pairs);
    - ``sample_pair``: median distance between two samples;
    - the samples' test accuracy spread, where they were evaluated.
    """
    data = load_checkpoints(zoo, split_seed, weight_limit=weight_limit)
    table = data.table
    train = (table["split"] == "train").to_numpy()
    weights = data.weights.numpy()
    models = table["model_id"].to_numpy()
    epoch = table["epoch"].to_numpy()
    source_epochs = samples.source["epochs"]
    rng = np.random.default_rng(seed)

    last = np.flatnonzero(train & (epoch == max(source_epochs)))
    own = nearest_distances(
        weights[last], weights[train], query_groups=models[last], point_groups=models[train]
    )
    at_source = np.flatnonzero(train & np.isin(epoch, source_epochs))
    a, b = rng.choice(at_source, PAIRS), rng.choice(at_source, PAIRS)
    same = (epoch[a] == epoch[b]) & (models[a] != models[b])
    pair = np.linalg.norm(weights[a[same]] - weights[b[same]], axis=1)
    n = len(samples.weights)
    i, j = np.triu_indices(n, 1)
    sample_pair = np.linalg.norm(samples.weights[i] - samples.weights[j], axis=1)
    result: dict[str, Any] = {
        "sample_nearest": float(np.median(nearest_distances(samples.weights, weights[train]))),
        "model_nearest": float(np.median(own)),
        "model_pair": float(np.median(pair)) if len(pair) else float("nan"),
        "sample_pair": float(np.median(sample_pair)) if n > 1 else float("nan"),
    }
    if samples.test_acc is not None:
        acc = np.asarray(samples.test_acc, np.float64)
        q = np.percentile(acc, [0, 25, 50, 75, 100])
        result["test_acc"] = dict(
            zip(("min", "q25", "median", "q75", "max"), map(float, q), strict=True)
        )
        result["test_acc"]["std"] = float(acc.std())
    return result
