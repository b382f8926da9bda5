"""What bounds the latent's epoch (Eph) probe: missing information or a non-linear readout?

For s(W), the run's latent (averaged over K input permutations) and both side by side,
prints on the test split: the linear probe's R^2 (the ridge of `hyperrep evaluate`), a
non-linear probe's R^2 (gradient-boosted trees, fitted on the train split), and the
linear probe's RMSE in four equal-width bands of epochs. If trees on the latent reach
s(W)'s trees, the epoch is in the latent but not linearly; if they stay below, it is not
there.

    python experiments/epoch_bound.py reproduce/tetris-seed/runs/ecd-c2 \
        reproduce/tetris-seed/zoo --draws 16
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from permutation_averaged_probes import features
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import r2_score

from hyperrep.probes import fit_ridge, tasks_for
from hyperrep.representation import load_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run")
    parser.add_argument("zoo")
    parser.add_argument("--models", type=int, help="the zoo's first N models only")
    parser.add_argument("--draws", type=int, default=16, help="K of the latent's average")
    parser.add_argument("--seed", type=int, default=0, help="seed of permutations and trees")
    args = parser.parse_args()
    start = time.perf_counter()
    source = features(load_run(args.run), args.zoo, args.models, [args.draws], args.seed)
    stats, latent = source.values["s(W)"], source.values[f"latent, K={args.draws}"]
    inputs = {"s(W)": stats, "latent": latent, "s(W) + latent": np.hstack([stats, latent])}
    split = source.table["split"].to_numpy()
    train, val, test = (split == s for s in ("train", "val", "test"))
    column = next(t.column for t in tasks_for(source.table) if t.name == "Eph")  # or "step"
    epoch = source.table[column].to_numpy(float)
    edges = np.linspace(epoch.min(), epoch.max(), 5)
    band = np.clip(np.searchsorted(edges, epoch[test], side="right") - 1, 0, 3)
    rows = {}
    for name, x in inputs.items():
        ridge = fit_ridge(x[train], epoch[train], x[val], epoch[val])
        linear = ridge.predict(x[test])
        trees = HistGradientBoostingRegressor(max_iter=300, random_state=args.seed)
        nonlinear = trees.fit(x[train], epoch[train]).predict(x[test])
        row = {
            "linear R^2": 100 * r2_score(epoch[test], linear),
            "trees R^2": 100 * r2_score(epoch[test], nonlinear),
        }
        for b in range(4):
            inside = band == b
            label = f"RMSE ep {edges[b]:.0f}-{edges[b + 1]:.0f}"
            row[label] = float(np.sqrt(np.mean((linear[inside] - epoch[test][inside]) ** 2)))
        rows[name] = row
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    print(f"Eph on the test split ({test.sum()} checkpoints), latent K = {args.draws}")
    print(pd.DataFrame(rows).T.round(2))
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
