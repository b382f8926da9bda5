"""Linear reconstruction ceiling: PCA with L components, fitted on a zoo's train split,
R^2 on its test split (the same split and metric as `hyperrep train`).

    python benchmarks/pca_ceiling.py zoos/tetris-seed --latent 50
"""

from __future__ import annotations

import argparse

import numpy as np

from hyperrep import open_zoo
from hyperrep.representation import load_checkpoints


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("zoo")
    parser.add_argument("--latent", type=int, nargs="+", default=[50])
    parser.add_argument("--split-seed", type=int, default=0)
    args = parser.parse_args()
    data = load_checkpoints(open_zoo(args.zoo), args.split_seed)
    train = data.split("train").numpy().astype(np.float64)
    test = data.split("test").numpy().astype(np.float64)
    mean = train.mean(0)
    _, _, components = np.linalg.svd(train - mean, full_matrices=False)
    for k in args.latent:
        basis = components[:k]
        recon = (test - mean) @ basis.T @ basis + mean
        r2 = 1 - ((recon - test) ** 2).mean() / ((test - test.mean(0)) ** 2).mean()
        print(f"PCA with {k} components: test R^2 {100 * r2:.1f}%")


if __name__ == "__main__":
    main()
