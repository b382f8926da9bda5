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

A `ZooStructure` saves to a small folder (`save_structure`, `load_structure`; format in
docs/zoo.md), so the figure can be drawn again, beside other zoos, without the zoo.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import silhouette_score
from sklearn.neighbors import KNeighborsClassifier

from hyperrep._errors import HyperrepError
from hyperrep._io import atomic_path, write_json_atomic
from hyperrep.probes._linear import Standardizer, fit_softmax
from hyperrep.probes._results import fit_umap
from hyperrep.weights import raw_features
from hyperrep.zoo import HYPERPARAMETER_COLUMNS, Zoo, load_checkpoints

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
    settings: dict[str, float | int | None] = field(default_factory=dict)


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
    settings = {"seed": seed, "umap_points": umap_points, "weight_limit": weight_limit}
    return ZooStructure(name or zoo.config.preset, table, mean_weight, embedding, numbers, settings)


STRUCTURE_FORMAT = 1
_SAVED = ("structure.json", "checkpoints.csv.gz", "umap.csv")
_TABLE_COLUMNS = ("model_id", "epoch", "test_acc", "split")
# what the figure and its numbers read; the zoo's other columns (losses, F1s) are not saved
_SAVED_COLUMNS = (*_TABLE_COLUMNS, "seed", *HYPERPARAMETER_COLUMNS)


def is_saved_structure(folder: str | os.PathLike[str]) -> bool:
    """Whether `folder` holds a structure written by `save_structure`."""
    return (Path(folder) / "structure.json").is_file()


def save_structure(structure: ZooStructure, folder: str | os.PathLike[str]) -> Path:
    """Write `structure` to `folder`: structure.json (name, numbers, settings),
    checkpoints.csv.gz (the table's ids, epoch, test accuracy, split, seed and
    hyperparameters, and each checkpoint's mean weight), umap.csv."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    kept = [c for c in _SAVED_COLUMNS if c in structure.table]
    table = structure.table[kept].reset_index(drop=True).assign(mean_weight=structure.mean_weight)
    with atomic_path(folder / "checkpoints.csv.gz") as tmp:
        table.to_csv(tmp, index=False, compression={"method": "gzip", "mtime": 0})
    with atomic_path(folder / "umap.csv") as tmp:
        structure.embedding.to_csv(tmp, index=False)
    write_json_atomic(
        folder / "structure.json",
        {
            "format": STRUCTURE_FORMAT,
            "name": structure.name,
            "numbers": structure.numbers,
            "settings": structure.settings,
        },
    )
    return folder


def load_structure(folder: str | os.PathLike[str]) -> ZooStructure:
    """A structure written by `save_structure`; a missing or malformed file is a
    `HyperrepError` naming it."""
    folder = Path(folder)
    for name in _SAVED:
        if not (folder / name).is_file():
            raise HyperrepError(f"{folder} is not a saved zoo structure: {name} is missing")
    try:
        meta = json.loads((folder / "structure.json").read_text())
        table = pd.read_csv(folder / "checkpoints.csv.gz")
        embedding = pd.read_csv(folder / "umap.csv")
    except (ValueError, OSError, UnicodeDecodeError) as err:
        raise HyperrepError(f"cannot read the zoo structure in {folder}: {err}") from err
    if not isinstance(meta, dict) or meta.get("format") != STRUCTURE_FORMAT:
        raise HyperrepError(
            f"{folder / 'structure.json'}: not a zoo structure of format {STRUCTURE_FORMAT}"
        )
    numbers = meta.get("numbers")
    if not isinstance(meta.get("name"), str) or not isinstance(numbers, dict):
        raise HyperrepError(f"{folder / 'structure.json'}: needs a name and numbers")
    if not all(isinstance(v, int | float) for v in numbers.values()):
        raise HyperrepError(f"{folder / 'structure.json'}: every number must be a number")
    missing = [c for c in (*_TABLE_COLUMNS, "mean_weight") if c not in table]
    if missing:
        raise HyperrepError(f"{folder / 'checkpoints.csv.gz'} lacks columns {missing}")
    if list(embedding.columns) != ["row", "x", "y"]:
        raise HyperrepError(f"{folder / 'umap.csv'} must have the columns row, x, y")
    rows = embedding["row"].to_numpy()
    if len(rows) and (rows.min() < 0 or rows.max() >= len(table) or np.any(rows % 1)):
        raise HyperrepError(f"{folder / 'umap.csv'}: a row outside checkpoints.csv.gz")
    embedding["row"] = embedding["row"].astype(int)
    mean_weight = table.pop("mean_weight").to_numpy(np.float64)
    return ZooStructure(
        meta["name"],
        table,
        mean_weight,
        embedding,
        {k: float(v) for k, v in numbers.items()},
        dict(meta.get("settings") or {}),
    )


def settings_differ(structure: ZooStructure, **requested: float | int | None) -> list[str]:
    """The requested settings a saved `structure` was not computed with, as 'name: saved
    S, asked R' strings (a setting it does not record is not compared)."""
    differ = []
    for key, asked in requested.items():
        if key not in structure.settings:
            continue
        saved = structure.settings[key]
        if saved != asked:  # JSON keeps floats exactly: equal settings read back equal
            differ.append(f"{key}: saved {saved}, asked {asked}")
    return differ


def structure_table(structures: list[ZooStructure]) -> pd.DataFrame:
    """The numbers of several zoos: rows = zoos, columns = quantities (NaN where a zoo
    does not vary a label)."""
    return pd.DataFrame([s.numbers for s in structures], index=[s.name for s in structures])
