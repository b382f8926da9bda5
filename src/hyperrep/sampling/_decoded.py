"""How well decoded models work: each checkpoint of a split encoded and decoded by a run,
and its test accuracy next to the original's, both computed here on the zoo's test set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from hyperrep._errors import HyperrepError
from hyperrep.arch import unflatten_params
from hyperrep.population import evaluate_population
from hyperrep.representation import TrainedRun
from hyperrep.zoo import SPLITS, Zoo, checkpoint_activations, load_checkpoints, load_zoo_data

_MODELS_AT_ONCE = 256  # weight vectors evaluated together


def decoded_accuracy(
    run: TrainedRun,
    zoo: Zoo,
    *,
    split: str = "test",
    epochs: list[int] | None = None,
    data_dir: str | Path | None = None,
) -> pd.DataFrame:
    """Per checkpoint of `split` (at `epochs`, default all): model_index, model_id, epoch,
    activation,
    the original's test accuracy, the decoded network's, and their difference."""
    if split not in SPLITS:
        raise HyperrepError(f"--split must be one of {', '.join(SPLITS)}, got {split!r}")
    if not run.arch.same_layout(zoo.architecture):
        raise HyperrepError(f"{run.path} was trained on another architecture than {zoo.path}")
    data = load_checkpoints(
        zoo, run.config.train.split_seed, weight_limit=run.config.train.weight_limit
    )
    keep = (data.table["split"] == split).to_numpy()
    if epochs is not None:
        keep &= data.table["epoch"].isin(epochs).to_numpy()
    if not keep.any():
        raise HyperrepError(f"no {split} checkpoints of {zoo.path} at those epochs")
    rows = np.flatnonzero(keep)
    table = data.table.iloc[rows].reset_index(drop=True)
    original = data.weights[torch.as_tensor(rows)]
    decoded = run.reconstruct(original)
    activations = checkpoint_activations(zoo, table)
    test = load_zoo_data(zoo.config, zoo.architecture, data_dir, "cpu")
    out = pd.DataFrame(
        {
            "model_index": table["model_index"].to_numpy(),
            "model_id": table["model_id"].to_numpy(),
            "epoch": table["epoch"].to_numpy(),
            "activation": activations,
            "test_acc": np.nan,
            "decoded_acc": np.nan,
        }
    )
    for activation in np.unique(activations):
        where = np.flatnonzero(activations == activation)
        for start in range(0, len(where), _MODELS_AT_ONCE):
            part = where[start : start + _MODELS_AT_ONCE]
            for column, vectors in (("test_acc", original), ("decoded_acc", decoded)):
                params = unflatten_params(zoo.architecture, vectors[torch.as_tensor(part)])
                tally = evaluate_population(
                    zoo.architecture, activation, params, test.x_test, test.y_test, test.num_classes
                )
                out.loc[part, column] = tally.accuracy()
    out["gap"] = out["decoded_acc"] - out["test_acc"]
    return out
