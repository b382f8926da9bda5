"""The representations a zoo's checkpoints are probed on: W, s(W), learned latents."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from hyperrep._errors import HyperrepError
from hyperrep.probes._evaluate import CheckpointFeatures
from hyperrep.representation import TrainedRun, variant
from hyperrep.weights import list_featurizers
from hyperrep.zoo import Zoo, load_checkpoints


def run_label(run: TrainedRun) -> str:
    """A column name such as "E_cD c=2"."""
    ratio = run.arch.n_params / run.config.model.latent_dim
    return f"{variant(run.config.train.variant).label} c={ratio:g}"


def run_labels(runs: Sequence[TrainedRun]) -> list[str]:
    """Column names of `runs`: `run_label`, with the run folder added where two runs
    would share a name (two E_cD runs at one c with other settings, say)."""
    labels = [run_label(run) for run in runs]
    counts = Counter(labels)
    labels = [
        f"{lab} ({run.path.name})" if counts[lab] > 1 else lab
        for lab, run in zip(labels, runs, strict=True)
    ]
    counts = Counter(labels)
    return [f"{lab} #{i + 1}" if counts[lab] > 1 else lab for i, lab in enumerate(labels)]


def averaged_label(label: str, permutations: int) -> str:
    """The column name of a run's latent averaged over `permutations` input permutations."""
    return f"{label} avg{permutations}"


def zoo_features(
    zoo: Zoo,
    runs: list[TrainedRun] = (),
    *,
    baselines: bool = True,
    split_seed: int = 0,
    include_init: bool = False,
    permutations: int = 1,
    weight_limit: float | None = None,
) -> CheckpointFeatures:
    """W, two s(W) variants and each run's latent for every healthy checkpoint of epochs
    1..E (and epoch 0 with `include_init`); with `permutations` K > 1 also each run's
    latent averaged over K neuron permutations of the input (`averaged_label`).

    The split is the runs' (they must agree), else `split_seed`'s; checkpoints with a
    |weight| above `weight_limit` are left out (`load_checkpoints`), by default above the
    runs' limit (they must agree).
    """
    for run in runs:
        if not run.arch.same_layout(zoo.architecture):
            raise HyperrepError(
                f"{run.path} was trained on {run.arch.name}, "
                f"{zoo.path} holds {zoo.architecture.name}"
            )
    seeds = {run.config.train.split_seed for run in runs}
    if len(seeds) > 1:
        raise HyperrepError("the runs were trained with different split seeds")
    weight_limit = weight_limit if weight_limit is not None else runs_weight_limit(runs)
    data = load_checkpoints(
        zoo,
        seeds.pop() if seeds else split_seed,
        include_init=include_init,
        weight_limit=weight_limit,
    )
    weights = data.weights.numpy()
    values: dict[str, np.ndarray] = {}
    for featurizer in list_featurizers() if baselines else ():
        values[featurizer.name] = featurizer(zoo.architecture, weights)
    for run, label in zip(runs, run_labels(runs), strict=True):
        values[label] = run.encode(data.weights).numpy()
        if permutations > 1:
            latent = run.encode(data.weights, permutations=permutations)
            values[averaged_label(label, permutations)] = latent.numpy()
    return CheckpointFeatures(data.table, values, weight_limit, data.over_limit)


def runs_weight_limit(runs: list[TrainedRun]) -> float | None:
    """The weight limit the runs were trained with (they must agree; None: no limit)."""
    limits = {run.config.train.weight_limit for run in runs}
    if len(limits) > 1:
        raise HyperrepError("the runs were trained with different weight limits")
    return limits.pop() if limits else None
