"""Time and peak memory of `hyperrep zoo import unterthiner` on a source of the published
shape: 30,000 runs x 9 checkpoints of 4,970 float32 parameters (5.4 GB of weights), rows
in the published order (runs by name, steps lexicographic), a pandas index column, every
config column, 27 rows missing (as in the MNIST zoo) and a few NaN rows.

Writes the synthetic source and the imported zoo under `--work` (about 11 GB; removed
afterwards unless `--keep`), runs the import under `/usr/bin/time -v` and prints wall
time, CPU time and peak resident memory. The weights are memory-mapped, so the peak
includes file pages the kernel may drop at will; the script also prints the peak of the
process's anonymous memory (sampled), which is what the import itself allocates.

    python benchmarks/import_unterthiner.py --work ~/hyperrep-data/import-bench
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

STEPS = (0, 1, 2, 3, 20, 40, 60, 80, 86)
LAYOUT = [  # (name, shape) in the published order: per layer the bias, then the kernel
    ("sequential/conv2d/bias:0", (16,)),
    ("sequential/conv2d/kernel:0", (3, 3, 1, 16)),
    ("sequential/conv2d_1/bias:0", (16,)),
    ("sequential/conv2d_1/kernel:0", (3, 3, 16, 16)),
    ("sequential/conv2d_2/bias:0", (16,)),
    ("sequential/conv2d_2/kernel:0", (3, 3, 16, 16)),
    ("sequential/dense/bias:0", (10,)),
    ("sequential/dense/kernel:0", (16, 10)),
]

# Samples the child's anonymous resident memory while the import runs.
_CHILD = """
import re, sys, threading, time
from pathlib import Path
peak = [0]
def sample():
    while True:
        text = Path("/proc/self/status").read_text()
        peak[0] = max(peak[0], int(re.search(r"RssAnon:\\s+(\\d+)", text).group(1)))
        time.sleep(0.1)
threading.Thread(target=sample, daemon=True).start()
from hyperrep.zoo import import_zoo
import_zoo("unterthiner", Path(sys.argv[1]), Path(sys.argv[2]), progress=False)
print(f"peak anonymous memory: {peak[0] / 1024:.0f} MiB")
"""


def write_source(folder: Path, runs: int, seed: int = 0) -> int:
    """The synthetic source; returns its number of rows."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    start, layout = 0, []
    for name, shape in LAYOUT:
        size = int(np.prod(shape))
        layout.append((name, start, start + size, size, str(shape)))
        start += size
    pd.DataFrame(layout, columns=["varname", "start_idx", "end_idx", "size", "shape"]).to_csv(
        folder / "layout.csv", index=False
    )
    names = sorted(f"run_{i}" for i in range(runs))
    order = sorted(STEPS, key=str)  # 0, 1, 2, 20, 3, 40, ...
    keys = [(n, s) for n in names for s in order]
    drop = set(rng.choice(len(keys), size=min(27, len(keys) // 10), replace=False).tolist())
    keys = [k for i, k in enumerate(keys) if i not in drop]
    run = {
        "lr": 10 ** rng.uniform(-4, -2, runs),
        "l2": 10 ** rng.uniform(-8, -2, runs),
        "dropout": rng.uniform(0, 0.7, runs),
        "tf": rng.uniform(0.1, 1.0, runs),
        "std": 10 ** rng.uniform(-3, -0.5, runs),
        "init": rng.choice(
            ["he_normal", "orthogonal", "glorot_normal", "RandomNormal", "TruncatedNormal"], runs
        ),
        "opt": rng.choice(["adam", "sgd", "rmsprop"], runs),
        "act": rng.choice(["relu", "tanh"], runs),
    }
    index = np.array([int(n[4:]) for n, _ in keys])
    step = np.array([s for _, s in keys])
    metrics = pd.DataFrame(
        {
            "config.activation": run["act"][index],
            "config.b_init": "zeros",
            "config.dataset": "mnist",
            "config.dnn_architecture": "cnn",
            "config.dropout": run["dropout"][index],
            "config.epochs": 86,
            "config.epochs_between_checkpoints": 20,
            "config.init_std": run["std"][index],
            "config.l2reg": run["l2"][index],
            "config.learning_rate": run["lr"][index],
            "config.num_layers": 3,
            "config.num_units": 16,
            "config.optimizer": run["opt"][index],
            "config.random_seed": index,
            "config.train_fraction": run["tf"][index],
            "config.w_init": run["init"][index],
            "modeldir": [f"/tmp/zoo/{n}" for n, _ in keys],
            "step": step,
            "test_accuracy": rng.uniform(0.1, 1.0, len(keys)),
            "test_loss": rng.uniform(0.1, 2.3, len(keys)),
            "train_accuracy": rng.uniform(0.1, 1.0, len(keys)),
            "train_loss": rng.uniform(0.1, 2.3, len(keys)),
        }
    )
    metrics.to_csv(folder / "metrics.csv.gz")  # with pandas' index column, as published
    weights = np.lib.format.open_memmap(
        folder / "weights.npy", "w+", np.float32, (len(keys), start)
    )
    for lo in range(0, len(keys), 10_000):
        hi = min(lo + 10_000, len(keys))
        weights[lo:hi] = rng.standard_normal((hi - lo, start), dtype=np.float32) * 0.1
    weights[rng.choice(len(keys), size=5, replace=False)] = np.nan
    weights.flush()
    return len(keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=30_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    source, out = args.work / "source", args.work / "zoo"
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    rows = write_source(source, args.runs)
    size = (source / "weights.npy").stat().st_size
    print(
        f"source: {rows:,} rows, weights.npy {size / 2**30:.2f} GiB "
        f"(written in {time.perf_counter() - t0:.0f} s)"
    )
    cmd = ["/usr/bin/time", "-v", sys.executable, "-c", _CHILD, str(source), str(out)]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    stats = dict(re.findall(r"^\s*(.+?): (.+)$", done.stderr, re.M))
    cpu = float(stats["User time (seconds)"]) + float(stats["System time (seconds)"])
    peak = int(stats["Maximum resident set size (kbytes)"]) / 1024
    print(
        f"import: {wall:.0f} s wall, {cpu:.0f} s CPU, peak resident {peak:.0f} MiB "
        "(memory-mapped file pages included)"
    )
    print(done.stdout.strip())
    if not args.keep:
        shutil.rmtree(args.work)


if __name__ == "__main__":
    main()
