"""Peak memory of the zoo readers on a large zoo built from a small one.

Builds a zoo of `--models` models from the models of a finished zoo (each copy's weights
perturbed by a little noise, its properties copied, so every command sees a zoo of the
requested size with realistic shapes and values), then runs `zoo verify`, `zoo info`,
`evaluate baselines` (and optionally `train`) on it under `/usr/bin/time -v` and prints
each command's peak resident memory next to the size of the weights file.

    python benchmarks/peak_memory.py --source zoos/mnist-seed --models 1000
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from hyperrep import __version__
from hyperrep.zoo import ZooWriter, open_zoo

HYPERREP = [sys.executable, "-m", "hyperrep.cli.main"]


def build(source: Path, out: Path, models: int, seed: int = 0) -> None:
    """A `models`-model zoo at `out` whose models are noisy copies of `source`'s."""
    zoo = open_zoo(source)
    zoo.check()
    done = zoo.progress["done"]
    rows = [r for c in done for r in zoo.meta["chunks"][c]]
    props = zoo.properties
    config = zoo.config
    config = type(config).from_dict(
        {**config.to_dict(), "n_models": models, "seeds": list(range(1, models + 1))}
    )
    population = len(zoo.meta["chunks"][0])
    chunks = [list(range(s, min(s + population, models))) for s in range(0, models, population)]
    writer = ZooWriter.open(out, config, zoo.architecture, chunks, __version__)
    rng = np.random.default_rng(seed)
    for index, chunk in enumerate(chunks):
        picked = [rows[i % len(rows)] for i in chunk]
        weights = zoo.weights[picked]
        scale = 1e-3 * np.abs(weights).mean()
        weights = weights + rng.normal(0, scale, weights.shape).astype(np.float32)
        for epoch in range(weights.shape[1]):
            writer.write_weights(chunk, epoch, weights[:, epoch])
        tables = []
        for new, old in zip(chunk, picked, strict=True):
            table = props[props["model_index"] == old].copy()
            table["model_index"] = new
            table["model_id"] = new
            table["seed"] = new + 1
            tables.append(table)
        writer.commit_chunk(index, pd.concat(tables, ignore_index=True))
    writer.finish(dict(zoo.meta.get("summary", {}), synthetic_from=str(source)))


def peak_rss(cmd: list[str]) -> tuple[float, float]:
    """Peak resident set size (MB) and wall time (s) of one command."""
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{done.stderr[-2000:]}")
    kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    return kb / 1024, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, required=True, help="a finished zoo")
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--ood", type=Path, help="an OOD zoo for `evaluate baselines --ood`")
    parser.add_argument(
        "--train-epochs",
        type=int,
        default=0,
        help="also time `train` for this many epochs (0: skip)",
    )
    parser.add_argument("--keep", type=Path, help="build the zoo here and keep it")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="hyperrep-mem-"))
    zoo_path = args.keep or workdir / "zoo"
    try:
        start = time.perf_counter()
        build(args.source, zoo_path, args.models)
        size = (zoo_path / "weights.npy").stat().st_size / 2**20
        print(
            f"built {args.models} models from {args.source} in "
            f"{time.perf_counter() - start:.0f} s; weights.npy {size:.0f} MB"
        )
        ood = ["--ood", str(args.ood)] if args.ood else []
        commands = {
            "--help (start-up floor)": [*HYPERREP, "--help"],
            "zoo verify": [*HYPERREP, "zoo", "verify", str(zoo_path)],
            "zoo info": [*HYPERREP, "zoo", "info", str(zoo_path)],
            "evaluate baselines": [
                *HYPERREP,
                "evaluate",
                "baselines",
                str(zoo_path),
                "--out",
                str(workdir / "report"),
                *ood,
            ],
        }
        if args.train_epochs:
            commands["train"] = [
                *HYPERREP,
                "train",
                str(zoo_path),
                "--out",
                str(workdir / "run"),
                "--epochs",
                str(args.train_epochs),
                "--quiet",
            ]
        print("| command | peak RSS | peak / weights file | wall |\n| --- | ---: | ---: | ---: |")
        for name, cmd in commands.items():
            rss, wall = peak_rss(cmd)
            print(f"| `{name}` | {rss:.0f} MB | {rss / size:.1f}x | {wall:.0f} s |", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
