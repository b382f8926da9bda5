"""Is a bf16 zoo the same zoo as fp32, within seed noise? Two zoos of the same models
(`hyperrep zoo create ... --precision fp32` and `--precision bf16`, same seeds) compared
per epoch: test accuracy distributions, paired per-model differences, and, as the noise
floor, the same statistics between the fp32 zoo's two halves of seeds.

    hyperrep --threads 1 zoo create mnist-seed --models 64 --epochs 8 --train-subset 5000 \\
        --test-subset 1000 --precision bf16 --data-dir ../shared/data/mnist --out Z-bf16
    (the same with --precision fp32 --out Z-fp32)
    python experiments/bf16_fidelity.py Z-fp32 Z-bf16
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.stats import ks_2samp

from hyperrep.zoo import open_zoo


def _accuracy(path: str) -> tuple[np.ndarray, str]:
    """Test accuracy (models, epochs) in %, and the zoo's precision."""
    zoo = open_zoo(path)
    table = zoo.properties.sort_values(["model_index", "epoch"])
    epochs = table["epoch"].nunique()
    return 100 * table["test_acc"].to_numpy().reshape(-1, epochs), zoo.config.precision


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fp32", help="the fp32 zoo")
    parser.add_argument("bf16", help="the same models trained with --precision bf16")
    args = parser.parse_args()
    a, pa = _accuracy(args.fp32)
    b, pb = _accuracy(args.bf16)
    if (pa, pb) != ("fp32", "bf16") or a.shape != b.shape:
        raise SystemExit(
            f"need an fp32 and a bf16 zoo of the same models, got {pa} {a.shape} / {pb} {b.shape}"
        )
    half = a.shape[0] // 2
    print(f"{a.shape[0]} models; halves: models 0-{half - 1} (A) and {half}-{2 * half - 1} (B)")
    print(
        "| epoch | median fp32 | median bf16 | paired abs diff: median / max "
        "| KS bf16 B vs fp32 A | KS fp32 B vs fp32 A (seed noise) "
        "| median diff bf16 B - fp32 A | median diff fp32 B - fp32 A |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for e in range(a.shape[1]):
        diff = np.abs(b[:, e] - a[:, e])
        fa, fb, bb = a[:half, e], a[half : 2 * half, e], b[half : 2 * half, e]
        print(
            f"| {e} | {np.median(a[:, e]):.1f} | {np.median(b[:, e]):.1f} "
            f"| {np.median(diff):.2f} / {diff.max():.2f} "
            f"| {ks_2samp(bb, fa).statistic:.2f} | {ks_2samp(fb, fa).statistic:.2f} "
            f"| {np.median(bb) - np.median(fa):+.2f} | {np.median(fb) - np.median(fa):+.2f} |"
        )


if __name__ == "__main__":
    main()
