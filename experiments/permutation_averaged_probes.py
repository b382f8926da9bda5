"""Do probes read more from a latent averaged over neuron permutations of the input?

Encodes every checkpoint (epochs 1..E) under K permutations of its hidden units and
probes the mean latent, for each K given; K = 1 is the unpermuted checkpoint, as
`hyperrep evaluate` encodes it, and the first draw of every K > 1 is the identity too.
Prints R^2 (%) and Kendall's tau on the test split, s(W) alongside, in and (with --ood)
out of distribution: the same probes, split and checkpoints as `hyperrep evaluate`.

    python experiments/permutation_averaged_probes.py runs/mnist-seed-576-ecd \
        zoos/mnist-seed --models 576 --ood zoos/fashion-seed --ood-models 544 --draws 1 4 16
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch

import hyperrep
from hyperrep.probes._evaluate import Features, evaluate_probes, results_table, tau_table
from hyperrep.probes._tasks import tasks_for
from hyperrep.representation import TrainedRun, load_checkpoints, load_run
from hyperrep.weights import permute, random_permutations, weight_statistics


def averaged_latents(
    run: TrainedRun, weights: torch.Tensor, draws: list[int], seed: int
) -> dict[int, np.ndarray]:
    """Mean latent over the first k permutations, for every k in `draws` (identity first)."""
    generator = torch.Generator().manual_seed(seed)
    total = torch.zeros(len(weights), run.config.model.latent_dim, dtype=torch.float64)
    out = {}
    for k in range(1, max(draws) + 1):
        view = weights
        if k > 1:
            perms = random_permutations(run.arch, len(weights), generator)
            view = permute(run.arch, weights, perms)
        total += run.encode(view).double()
        if k in draws:
            out[k] = (total / k).numpy()
    return out


def features(run: TrainedRun, zoo_path: str, models: int | None, draws: list[int],
             seed: int) -> Features:  # fmt: skip
    zoo = hyperrep.open_zoo(zoo_path)
    zoo = zoo if models is None else zoo.first(models)
    data = load_checkpoints(zoo, run.config.train.split_seed, include_init=False)
    values = {"s(W)": weight_statistics(zoo.architecture, data.weights.numpy(), "layer")}
    for k, latent in averaged_latents(run, data.weights.float(), draws, seed).items():
        values[f"latent, K={k}"] = latent
    return Features(data.table, values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run")
    parser.add_argument("zoo")
    parser.add_argument("--models", type=int, help="the zoo's first N models only")
    parser.add_argument("--ood", help="a second zoo to score the probes on, unchanged")
    parser.add_argument("--ood-models", type=int, help="the second zoo's first N models only")
    parser.add_argument("--draws", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--seed", type=int, default=0, help="seed of the permutations")
    args = parser.parse_args()
    start = time.perf_counter()
    run = load_run(args.run)
    source = features(run, args.zoo, args.models, args.draws, args.seed)
    ood = (features(run, args.ood, args.ood_models, args.draws, args.seed + 1)
           if args.ood else None)  # fmt: skip
    tasks = [t for t in tasks_for(source.table) if t.kind != "classification"]
    predictions = evaluate_probes(source, tasks, ood)
    pd.set_option("display.width", 160)
    for domain in ("id", "ood") if ood is not None else ("id",):
        print(f"\n{domain}: R^2 (%)\n{results_table(predictions, domain).round(1)}")
        print(f"\n{domain}: Kendall's tau\n{tau_table(predictions, domain).round(3)}")
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
