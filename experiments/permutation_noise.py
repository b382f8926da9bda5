"""How permutation invariant is a trained encoder? The share of the latent variance
between test checkpoints that is noise of the hidden-unit order.

For test checkpoints W and one random neuron permutation pi of each, the noise is
E ||z(W) - z(pi W)||^2 / 2 (the latent's variance over orderings of one checkpoint),
the total is the latent's variance over the checkpoints; printed for the plain latent
(K = 1) and the latent averaged over K permutations (`hyperrep evaluate
--permutation-average K`). An invariant encoder gives 0.

    python experiments/permutation_noise.py runs/mnist-seed-576-ecd zoos/mnist-seed \
        --models 576 --draws 1 4 16
"""

from __future__ import annotations

import argparse

import torch

import hyperrep
from hyperrep.representation import load_checkpoints, load_run
from hyperrep.weights import permute, random_permutations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run")
    parser.add_argument("zoo")
    parser.add_argument("--models", type=int, help="the zoo's first N models only")
    parser.add_argument("--draws", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--rows", type=int, default=1000, help="test checkpoints used")
    parser.add_argument("--seed", type=int, default=123, help="seed of the permutations pi")
    args = parser.parse_args()
    run = load_run(args.run)
    zoo = hyperrep.open_zoo(args.zoo)
    zoo = zoo if args.models is None else zoo.first(args.models)
    test = load_checkpoints(zoo, run.config.train.split_seed).split("test")
    weights = test[torch.randperm(len(test), generator=torch.Generator().manual_seed(0))]
    weights = weights[: args.rows]
    generator = torch.Generator().manual_seed(args.seed)
    permuted = permute(run.arch, weights, random_permutations(run.arch, len(weights), generator))
    print(f"{len(weights)} test checkpoints of {args.zoo}")
    for k in args.draws:
        z = run.encode(weights, permutations=k).double()
        z_permuted = run.encode(permuted, permutations=k).double()
        noise = ((z - z_permuted) ** 2).sum(1).mean() / 2
        total = ((z - z.mean(0)) ** 2).sum(1).mean()
        print(f"K = {k:3d}: permutation noise = {100 * float(noise / total):.1f}% of the variance")


if __name__ == "__main__":
    main()
