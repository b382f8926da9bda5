"""Local backend vs Ray backend (zoo create) and 1 process vs torchrun (train), side by
side on this machine: wall times, their ratio, and whether the results agree.

    python benchmarks/distributed.py --models 400 --population 100 --run-epochs 2

Ray starts a local instance with every core; each population task gets one CPU. The
single training process gets every core as threads, each torchrun rank one thread.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

BIN = Path(sys.executable).parent


def _timed(cmd: list[str], threads: int) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def _same_zoo(a: Path, b: Path) -> bool:
    names = ["weights.npy", "progress.json"] + [
        f"properties/{p.name}" for p in sorted((a / "properties").iterdir())
    ]
    return all(filecmp.cmp(a / n, b / n, shallow=False) for n in names)


def _weight_gap(a: Path, b: Path) -> float:
    one, two = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    keys = [k for k, v in one.items() if k.startswith("model.") and v.is_floating_point()]
    x = torch.cat([one[k].flatten().double() for k in keys])
    y = torch.cat([two[k].flatten().double() for k in keys])
    return float((x - y).norm() / x.norm())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=75)
    parser.add_argument("--population", type=int, default=100)
    parser.add_argument("--run-epochs", type=int, default=2)
    parser.add_argument("--workdir", type=Path, help="keep the zoos and runs here")
    parser.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="bf16 autocast in training (the preset's; off: fp32)",
    )
    parser.add_argument(
        "--train-only",
        action="store_true",
        help="reuse the local zoo in --workdir, time only training",
    )
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    work = args.workdir or Path(tempfile.mkdtemp(prefix="hyperrep-dist-"))
    zoo = [
        "zoo",
        "create",
        "tetris-seed",
        "--models",
        str(args.models),
        "--epochs",
        str(args.epochs),
        "--population",
        str(args.population),
        "--quiet",
    ]
    hyperrep = [str(BIN / "hyperrep")]
    if not args.train_only:
        local = _timed([*hyperrep, *zoo, "--out", str(work / "local")], 1)
        ray = _timed([*hyperrep, *zoo, "--out", str(work / "ray"), "--backend", "ray"], 1)
        same = _same_zoo(work / "local", work / "ray")
        chunks = -(-args.models // args.population)
        print(
            f"zoo create tetris-seed, {args.models} models x {args.epochs} epochs in "
            f"{chunks} populations, {cores} cores"
        )
        print(f"  local backend (1 thread)   {local:7.1f} s")
        print(
            f"  ray backend ({cores} tasks)     {ray:7.1f} s   local / ray {local / ray:.2f}x; "
            f"identical bytes: {same}"
        )

    precision = "--bf16" if args.bf16 else "--no-bf16"
    tag = "bf16" if args.bf16 else "fp32"
    train = [
        "train",
        str(work / "local"),
        "--epochs",
        str(args.run_epochs),
        "--dropout",
        "0",
        precision,
        "--quiet",
    ]
    one_dir, ddp_dir = work / f"one-{tag}", work / f"ddp-{tag}"
    one = _timed([*hyperrep, "--threads", str(cores), *train, "--out", str(one_dir)], cores)
    ddp = _timed(
        [
            str(BIN / "torchrun"),
            "--standalone",
            "--nproc-per-node",
            str(cores),
            "-m",
            "hyperrep.cli.main",
            "--threads",
            "1",
            *train,
            "--out",
            str(ddp_dir),
        ],
        1,
    )
    losses = [
        json.loads((r / "history.json").read_text())[-1]["train_loss"] for r in (one_dir, ddp_dir)
    ]
    print(f"train (tetris-seed preset, dropout 0, {tag}), {args.run_epochs} epochs")
    print(f"  1 process ({cores} threads)     {one:7.1f} s")
    print(f"  torchrun ({cores} x 1 thread)   {ddp:7.1f} s   one / torchrun {one / ddp:.2f}x")
    print(
        f"  last train loss {losses[0]:.6f} vs {losses[1]:.6f}; weights differ by "
        f"{_weight_gap(one_dir, ddp_dir):.2e} of their norm"
    )


if __name__ == "__main__":
    main()
