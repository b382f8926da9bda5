"""What a zoo looks like: accuracy spread, generalization gap, weight drift, mean weight.

Quoted in docs/data.md and docs/results.md to compare zoo designs (init schemes, data).

    python experiments/zoo_design_stats.py zoos/tetris-seed [more zoos ...]

Per zoo: test accuracy (min / median / max) at epoch 0, 1, E/3 and E; GGap (median and
interquartile range) at E; the weight drift ||w_E - w_0|| / ||w_0|| (median over models);
the share of the drift that all models share, ||mean(d)||^2 / mean(||d||^2) with
d = w_E - w_0; the mean weight at epochs 0 and E; and Pearson's r between a checkpoint's
mean weight and its test accuracy over epochs 1..E.
"""

from __future__ import annotations

import argparse

import numpy as np

import hyperrep


def describe(path: str) -> None:
    zoo = hyperrep.open_zoo(path)
    table = zoo.checkpoints(include_init=True)
    last = zoo.config.epochs
    models = np.sort(table["model_index"].unique())
    print(
        f"{path}: {zoo.config.preset}, {len(models)} healthy models, init scheme "
        f"{zoo.config.init_scheme}, batch {zoo.config.batch_size}, train metrics "
        f"{zoo.config.train_metrics}"
    )
    for epoch in sorted({0, 1, last // 3, last}):
        acc = 100 * table.loc[table["epoch"] == epoch, "test_acc"]
        print(
            f"  test accuracy at epoch {epoch:3d}: {acc.min():5.1f} / {acc.median():5.1f} / "
            f"{acc.max():5.1f} %"
        )
    gap = 100 * table.loc[table["epoch"] == last, "ggap"]
    q1, q3 = np.percentile(gap, [25, 75])
    print(f"  GGap at epoch {last}: median {gap.median():.2f} points (IQR {q1:.2f} to {q3:.2f})")
    first = np.asarray(zoo.weights[models, 0], dtype=np.float64)
    final = np.asarray(zoo.weights[models, last], dtype=np.float64)
    drift = final - first
    relative = np.linalg.norm(drift, axis=1) / np.linalg.norm(first, axis=1)
    shared = np.sum(drift.mean(0) ** 2) / np.mean(np.sum(drift**2, axis=1))
    print(
        f"  drift ||w_E - w_0|| / ||w_0||: median {np.median(relative):.3f}; "
        f"shared by all models: {100 * shared:.1f}%"
    )
    print(f"  mean weight: epoch 0 {first.mean():.4f}, epoch {last} {final.mean():.4f}")
    trained = table[table["epoch"] > 0]
    means = zoo.load_weights(trained).mean(axis=1, dtype=np.float64)
    r = np.corrcoef(means, trained["test_acc"].to_numpy())[0, 1]
    print(f"  Pearson r(mean weight, test accuracy), epochs 1..{last}: {r:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("zoos", nargs="+")
    for path in parser.parse_args().zoos:
        describe(path)


if __name__ == "__main__":
    main()
