"""The appendix's Figure 1 experiment: permuted models are equivalent, yet far apart.

Model A trains for some epochs; one random permutation P maps every checkpoint of A
to Ap; model B trains from Ap's initialisation with A's data order. Forward
equivalence says A and Ap have the same accuracy at every epoch; backward
equivalence says B stays on Ap's trajectory, up to floating-point rounding.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import torch

from hyperrep._device import check_device
from hyperrep.arch import create_architecture
from hyperrep.population import evaluate_single, train_single
from hyperrep.weights import permute, random_permutations
from hyperrep.zoo import ZooConfig, load_zoo_data

ACCURACY_TOLERANCE = 1e-3  # A vs Ap: the same function, so only rounding may differ
DRIFT_TOLERANCE = 1e-5  # ||Ap - B|| relative to ||Ap||: float32 rounding only


@dataclass
class SymmetryCheck:
    """Per-epoch test accuracies and pairwise l2 distances of A, Ap and B."""

    preset: str
    architecture: str
    lr: float
    seed: int
    permutation_seed: int
    epochs: list[int]
    acc_a: list[float]
    acc_ap: list[float]
    acc_b: list[float]
    dist_a_ap: list[float]
    dist_a_b: list[float]
    dist_ap_b: list[float]
    max_acc_diff_a_ap: float
    max_relative_drift_b: float
    forward_ok: bool
    backward_ok: bool

    def to_dict(self) -> dict:
        return asdict(self)


def run_symmetry_check(
    config: ZooConfig,
    seed: int = 1,
    *,
    permutation_seed: int = 0,
    lr: float | None = None,
    data_dir: str | None = None,
    device: str = "cpu",
) -> SymmetryCheck:
    """Train A, permute it into Ap, train B from Ap's start; measure all three per epoch.

    A is the preset's first model with the given `seed` (and `lr`, if given).
    """
    check_device(device)
    arch = create_architecture(config.architecture)
    data = load_zoo_data(config, arch, data_dir, device)
    spec = replace(config.models()[0], seed=seed)
    if lr is not None:
        spec = replace(spec, lr=lr)
    run_a = list(train_single(arch, spec, data, config.epochs, config.batch_size))
    a = torch.from_numpy(np.concatenate([r.weights for r in run_a]))
    perm = random_permutations(arch, 1, torch.Generator().manual_seed(permutation_seed))
    ap = permute(arch, a, [p.expand(a.shape[0], -1) for p in perm])
    run_b = list(train_single(arch, spec, data, config.epochs, config.batch_size, initial=ap[0]))
    b = torch.from_numpy(np.concatenate([r.weights for r in run_b]))

    def accuracy(vector: torch.Tensor) -> float:
        tally = evaluate_single(
            arch, spec.activation, vector, data.x_test, data.y_test, data.num_classes
        )
        return float(tally.accuracy()[0])

    acc_a = [float(r.test_acc[0]) for r in run_a]
    acc_ap = [accuracy(v) for v in ap]
    acc_b = [float(r.test_acc[0]) for r in run_b]
    dist = {
        "a_ap": (a - ap).norm(dim=1),
        "a_b": (a - b).norm(dim=1),
        "ap_b": (ap - b).norm(dim=1),
    }
    acc_diff = float(np.abs(np.array(acc_a) - np.array(acc_ap)).max())
    drift = float((dist["ap_b"] / ap.norm(dim=1)).max())
    return SymmetryCheck(
        preset=config.preset,
        architecture=arch.name,
        lr=spec.lr,
        seed=seed,
        permutation_seed=permutation_seed,
        epochs=list(range(config.epochs + 1)),
        acc_a=acc_a,
        acc_ap=acc_ap,
        acc_b=acc_b,
        dist_a_ap=dist["a_ap"].tolist(),
        dist_a_b=dist["a_b"].tolist(),
        dist_ap_b=dist["ap_b"].tolist(),
        max_acc_diff_a_ap=acc_diff,
        max_relative_drift_b=drift,
        forward_ok=acc_diff <= ACCURACY_TOLERANCE,
        backward_ok=drift <= DRIFT_TOLERANCE,
    )
