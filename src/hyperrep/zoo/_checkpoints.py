"""A zoo's checkpoints as a data set: splits by model, and the checkpoints with them.

Representation training, probes, reports and experiments all read a zoo through these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from hyperrep._errors import HyperrepError
from hyperrep.zoo._zoo import Zoo

SPLITS = ("train", "val", "test")
SPLIT_FRACTIONS = (0.70, 0.15, 0.15)


def split_models(model_ids: np.ndarray, seed: int = 0) -> dict[int, str]:
    """Assign every model to train / val / test (about 70 / 15 / 15), seeded, by model id.

    Each model's split is drawn from (seed, model id) alone, so it never changes when
    other models are added or left out (a partial zoo and the finished zoo agree), and all
    checkpoints of a model share it.
    """
    out = {}
    for model_id in np.unique(np.asarray(model_ids)):
        state = np.random.SeedSequence([seed, int(model_id)]).generate_state(1)[0]
        u = state / 2.0**32
        cut_val = SPLIT_FRACTIONS[0]
        cut_test = SPLIT_FRACTIONS[0] + SPLIT_FRACTIONS[1]
        out[int(model_id)] = "train" if u < cut_val else "val" if u < cut_test else "test"
    return out


@dataclass
class CheckpointData:
    """The healthy checkpoints of a zoo with their split, properties and weights."""

    table: pd.DataFrame  # properties, one row per checkpoint, with a "split" column
    weights: torch.Tensor  # (rows, n_params) float32, raw
    over_limit: int = 0  # checkpoints left out for a weight above the weight limit

    def split(self, name: str) -> torch.Tensor:
        """Weights of one split."""
        return self.weights[torch.as_tensor((self.table["split"] == name).to_numpy().copy())]


def load_checkpoints(
    zoo: Zoo,
    split_seed: int = 0,
    *,
    include_init: bool = False,
    weight_limit: float | None = None,
) -> CheckpointData:
    """The checkpoints of non-diverged models, epochs 1..E (and epoch 0 with
    `include_init`), with their by-model split; refuses a damaged zoo (`Zoo.verify`).

    With `weight_limit`, each checkpoint holding a weight or bias of magnitude above it is
    left out (and counted in `over_limit`), checkpoint by checkpoint, as the authors'
    data-set loader does with its `weight_threshold` (5 in the Model Zoos loader): models
    whose weights exploded without becoming non-finite would otherwise dominate every
    linear probe and the weights' normalisation.
    """
    _check_weight_limit(weight_limit)
    zoo.check()
    table = zoo.checkpoints(include_init=include_init).copy()
    if table.empty:
        raise HyperrepError(f"{zoo.path} holds no finished, non-diverged models")
    weights = np.ascontiguousarray(zoo.load_weights(table))
    over_limit = 0
    if weight_limit is not None:
        keep = np.abs(weights).max(axis=1) <= weight_limit
        over_limit = int((~keep).sum())
        table, weights = table[keep].copy(), weights[keep]
        if table.empty:
            raise HyperrepError(f"every checkpoint of {zoo.path} has a weight above {weight_limit}")
    splits = split_models(table["model_id"].to_numpy(), split_seed)
    table["split"] = table["model_id"].map(splits)
    if table.groupby("split")["model_id"].nunique().reindex(list(SPLITS)).isna().any():
        raise HyperrepError(f"{zoo.path} has too few models for a train/val/test split")
    return CheckpointData(table.reset_index(drop=True), torch.from_numpy(weights), over_limit)


def _check_weight_limit(weight_limit: float | None) -> None:
    """Refuse a weight limit that is not a positive number (None: no limit)."""
    if weight_limit is not None and not (math.isfinite(weight_limit) and weight_limit > 0):
        raise HyperrepError(f"weight limit must be a positive number, got {weight_limit}")


def checkpoint_activations(zoo: Zoo, table: pd.DataFrame) -> np.ndarray:
    """The activation of each checkpoint in `table` (one of `zoo`'s rows): its own where
    the zoo varies it, else the zoo's one activation."""
    if "activation" in table:
        return table["activation"].astype(str).to_numpy()
    return np.full(len(table), str(zoo.config.grid["activation"][0]))
