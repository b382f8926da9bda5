"""How much of a held-out model's weights a linear bottleneck holds: PCA fitted on the
training split's checkpoints, R² on the test split's (flat weights, against the training
mean). A yardstick for a representation's reconstruction R² at the same latent size.
Also prints the share of the weight variance that lies between models rather than along
their trajectories.

    python experiments/pca_bottleneck.py reproduce/mnist-seed/zoo --components 50 200 700
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
    args = parser.parse_args()
    data = load_checkpoints(hyperrep.open_zoo(args.zoo), args.split_seed)
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
        r2 = 1 - ((test - rec) ** 2).sum() / ((test - mean) ** 2).sum()
        print(f"PCA {k:4d} components: test R² {100 * r2:6.1f}%")
    models = data.table["model_index"].to_numpy()
    centred = weights - weights.mean(0)
    between = sum((models == m).sum() * (centred[models == m].mean(0) ** 2).sum()
                  for m in np.unique(models))  # fmt: skip
    print(f"variance between models: {100 * between / (centred**2).sum():.1f}%")


if __name__ == "__main__":
    main()
