"""How much of a held-out model's weights a linear bottleneck holds: PCA fitted on the
training split's checkpoints, R² on the test split's (flat raw weights; 1 - MSE / MSE of
the test split's mean vector, the metric of `hyperrep train`). A yardstick for a
representation's reconstruction R² at the same latent size. Also prints the share of the
weight variance that lies between models rather than along their trajectories.

    python experiments/pca_bottleneck.py zoos/mnist-seed --components 50 128 256 700
    python experiments/pca_bottleneck.py zoos/mnist-seed --models 576   (a growing zoo)
"""

from __future__ import annotations

import argparse

import numpy as np

import hyperrep
from hyperrep.representation import load_checkpoints


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("zoo")
    parser.add_argument("--components", type=int, nargs="+", default=[50, 200, 700])
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--models", type=int, help="the zoo's first N models only")
    args = parser.parse_args()
    zoo = hyperrep.open_zoo(args.zoo)
    data = load_checkpoints(zoo if args.models is None else zoo.first(args.models), args.split_seed)
    weights = data.weights.numpy().astype(np.float64)
    split = data.table["split"].to_numpy()
    train, test = weights[split == "train"], weights[split == "test"]
    mean = train.mean(0)
    _, _, vt = np.linalg.svd(train - mean, full_matrices=False)
    n_models = data.table.loc[split == "train", "model_index"].nunique()
    print(f"train split: {n_models} models, {len(train)} checkpoints")
    for k in args.components:
        basis = vt[:k]
        rec = (test - mean) @ basis.T @ basis + mean
        r2 = 1 - ((test - rec) ** 2).mean() / ((test - test.mean(0)) ** 2).mean()
        print(f"PCA {k:4d} components: test R² {100 * r2:6.1f}%")
    models = data.table["model_index"].to_numpy()
    centred = weights - weights.mean(0)
    between = sum(
        (models == m).sum() * (centred[models == m].mean(0) ** 2).sum() for m in np.unique(models)
    )
    print(f"variance between models: {100 * between / (centred**2).sum():.1f}%")


if __name__ == "__main__":
    main()
