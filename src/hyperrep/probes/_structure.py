"""How a zoo's weights are organised (appendix Figure 3 and C.2): the mean-weight /
accuracy shortcut of seed zoos, and clusters of initialisation and activation in weight
space that random seeds are said to disperse. Each claim becomes a number:

- ``pearson_mean_weight_acc`` / ``spearman_mean_weight_acc``: over all checkpoints;
- for each varied label L (``activation``, ``init``): ``knn_L`` (test accuracy of a
  5-nearest-neighbour classifier on standardised W, fitted on the train split's models),
  ``linear_L`` (the softmax probe of `evaluate`, strength picked on validation),
  ``chance_L`` (the test split's most frequent value), ``silhouette_L`` (of L's groups in
  standardised W, on a seeded sample of checkpoints; 1 = tight separate clusters, 0 =
  overlapping).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import silhouette_score
from sklearn.neighbors import KNeighborsClassifier

from hyperrep.probes._linear import Standardizer, fit_softmax
from hyperrep.probes._results import fit_umap
from hyperrep.weights import raw_features
from hyperrep.zoo import Zoo, load_checkpoints

STRUCTURE_LABELS = ("activation", "init")
SILHOUETTE_POINTS = 3000


@dataclass
class ZooStructure:
    """One zoo's checkpoints (epochs 1..E), their mean weight, a 2-D UMAP of W (empty
    without `umap_points`) and the numbers behind Figure 3's claims."""

    name: str
    table: pd.DataFrame  # model_id, epoch, test_acc, split, hyperparameters
    mean_weight: np.ndarray
    embedding: pd.DataFrame  # x, y and the table's row index ("row") of each point
    numbers: dict[str, float]


def weight_space_structure(
    zoo: Zoo,
    name: str | None = None,
    *,
    umap_points: int = 3000,
    neighbours: int = 5,
    seed: int = 0,
    weight_limit: float | None = None,
) -> ZooStructure:
    """Figure 3's quantities for `zoo` (see the module docstring); `seed` fixes the
    split, the samples and UMAP; checkpoints with a |weight| above `weight_limit` are
    left out (`load_checkpoints`)."""
    data = load_checkpoints(zoo, seed, weight_limit=weight_limit)
    table = data.table
    w = raw_features(zoo.architecture, data.weights.numpy())
    mean_weight = w.mean(axis=1, dtype=np.float64)
    acc = table["test_acc"].to_numpy(float)
    numbers: dict[str, float] = {
        "models": float(table["model_id"].nunique()),
        "checkpoints": float(len(table)),
        "pearson_mean_weight_acc": float(np.corrcoef(mean_weight, acc)[0, 1]),
        "spearman_mean_weight_acc": float(spearmanr(mean_weight, acc).statistic),
    }
    split = table["split"].to_numpy()
    train, val, test = (split == s for s in ("train", "val", "test"))
    standardised = Standardizer.fit(w[train])(w).astype(np.float32)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(len(table), min(SILHOUETTE_POINTS, len(table)), replace=False))
    for label in STRUCTURE_LABELS:
        if label not in table or table[label].nunique() < 2:
            continue
        y = table[label].astype(str).to_numpy()
        knn = KNeighborsClassifier(neighbours).fit(standardised[train], y[train])
        linear = fit_softmax(w[train], y[train], w[val], y[val])
        numbers[f"knn_{label}"] = float(np.mean(knn.predict(standardised[test]) == y[test]))
        numbers[f"linear_{label}"] = float(np.mean(linear.predict(w[test]) == y[test]))
        numbers[f"chance_{label}"] = float(pd.Series(y[test]).value_counts(normalize=True).max())
        numbers[f"silhouette_{label}"] = float(silhouette_score(standardised[sample], y[sample]))
    embedding = pd.DataFrame({"row": [], "x": [], "y": []})
    if umap_points:
        shown = np.sort(rng.choice(len(table), min(umap_points, len(table)), replace=False))
        xy = fit_umap(np.nan_to_num(standardised[shown]), seed)
        embedding = pd.DataFrame({"row": shown, "x": xy[:, 0], "y": xy[:, 1]})
    return ZooStructure(name or zoo.config.preset, table, mean_weight, embedding, numbers)


def structure_table(structures: list[ZooStructure]) -> pd.DataFrame:
    """The numbers of several zoos: rows = zoos, columns = quantities (NaN where a zoo
    does not vary a label)."""
    return pd.DataFrame([s.numbers for s in structures], index=[s.name for s in structures])
