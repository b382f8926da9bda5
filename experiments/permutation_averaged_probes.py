"""Do probes read more from a latent averaged over neuron permutations of the input?

Encodes every checkpoint (epochs 1..E) under K permutations of its hidden units and
probes the mean latent, for each K given (`TrainedRun.encode(permutations=K)`, what
`hyperrep evaluate --permutation-average K` probes); K = 1 is the unpermuted checkpoint,
the plain latent, and the first draw of every K > 1 is the identity too.
Prints R^2 (%) and Kendall's tau on the test split, s(W) alongside, in and (with --ood)
out of distribution: the same probes, split and checkpoints as `hyperrep evaluate`.

    python experiments/permutation_averaged_probes.py runs/mnist-seed-576-ecd \
        zoos/mnist-seed --models 576 --ood zoos/fashion-seed --ood-models 544 --draws 1 4 16
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

import hyperrep
from hyperrep.probes import CheckpointFeatures, evaluate_probes, results_table, tasks_for, tau_table
from hyperrep.representation import TrainedRun, load_checkpoints, load_run
from hyperrep.weights import weight_statistics


def features(
    run: TrainedRun, zoo_path: str, models: int | None, draws: list[int], seed: int
) -> CheckpointFeatures:
    zoo = hyperrep.open_zoo(zoo_path)
    zoo = zoo if models is None else zoo.first(models)
    data = load_checkpoints(zoo, run.config.train.split_seed, include_init=False)
    values = {"s(W)": weight_statistics(zoo.architecture, data.weights.numpy(), variant="layer")}
    for k in draws:  # `hyperrep evaluate --permutation-average K` computes the same
        values[f"latent, K={k}"] = run.encode(data.weights, permutations=k, seed=seed).numpy()
    return CheckpointFeatures(data.table, values)


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
    ood = features(run, args.ood, args.ood_models, args.draws, args.seed) if args.ood else None
    tasks = [t for t in tasks_for(source.table) if t.kind != "classification"]
    predictions = evaluate_probes(source, tasks, ood=ood)
    pd.set_option("display.width", 160)
    for domain in ("id", "ood") if ood is not None else ("id",):
        print(f"\n{domain}: R^2 (%)\n{results_table(predictions, domain).round(1)}")
        print(f"\n{domain}: Kendall's tau\n{tau_table(predictions, domain).round(3)}")
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
