"""The representations a zoo's checkpoints are probed on: W, s(W), learned latents."""

from __future__ import annotations

import numpy as np

from hyperrep._errors import HyperrepError
from hyperrep.probes._evaluate import Features
from hyperrep.representation import TrainedRun, load_checkpoints
from hyperrep.weights import raw_features, weight_statistics
from hyperrep.zoo import Zoo

_VARIANT_NAMES = {"ec": "E_c", "ed": "ED", "ecd": "E_cD"}


def run_label(run: TrainedRun) -> str:
    """A column name such as "E_cD c=2"."""
    ratio = run.arch.n_params / run.config.model.latent_dim
    return f"{_VARIANT_NAMES[run.config.train.variant]} c={ratio:g}"


def zoo_features(
    zoo: Zoo, runs: list[TrainedRun] = (), baselines: bool = True, split_seed: int = 0
) -> Features:
    """W, both s(W) variants and each run's latent for every healthy checkpoint.

    The split is the runs' (they must agree), else `split_seed`'s.
    """
    for run in runs:
        if run.arch != zoo.architecture:
            raise HyperrepError(f"{run.path} was trained on {run.arch.name}, "
                                f"{zoo.path} holds {zoo.architecture.name}")  # fmt: skip
    seeds = {run.config.train.split_seed for run in runs}
    if len(seeds) > 1:
        raise HyperrepError("the runs were trained with different split seeds")
    data = load_checkpoints(zoo, seeds.pop() if seeds else split_seed)
    weights = data.weights.numpy()
    values: dict[str, np.ndarray] = {}
    if baselines:
        values["W"] = raw_features(zoo.architecture, weights)
        values["s(W)"] = weight_statistics(zoo.architecture, weights, "layer")
        values["s(W) tensor"] = weight_statistics(zoo.architecture, weights, "tensor")
    for run in runs:
        values[run_label(run)] = run.encode(data.weights).numpy()
    return Features(data.table, values)
