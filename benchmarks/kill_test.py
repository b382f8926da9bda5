"""Kill injection: SIGKILL `zoo create` and `train` at random moments, resume, compare.

For each job, an uninterrupted reference run is made first. Then the same command is
started in another folder and SIGKILLed after a random delay, rerun and killed again,
until `--kills` kills have landed (a run that finishes before its kill does not count
and the next delay is drawn shorter); finally it runs to completion. The result must be
byte-identical to the reference: weights.npy, zoo.json, progress.json and the property
tables for the zoo; model.safetensors, last.safetensors and history.json for the run.

    python benchmarks/kill_test.py                # 20 kills each (a few minutes)
    python benchmarks/kill_test.py --kills 5 --jobs zoo
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HYPERREP = [sys.executable, "-m", "hyperrep.cli.main"]


def zoo_job(out: Path) -> list[str]:
    return [
        *HYPERREP,
        "zoo",
        "create",
        "tetris-seed",
        "--models",
        "1200",
        "--population",
        "400",
        "--epochs",
        "30",
        "--out",
        str(out),
        "--quiet",
    ]


def train_job(zoo: Path):
    def job(out: Path) -> list[str]:
        return [
            *HYPERREP,
            "train",
            str(zoo),
            "--out",
            str(out),
            "--variant",
            "ecd",
            "--compression",
            "4",
            "--epochs",
            "6",
            "--d-model",
            "32",
            "--batch-size",
            "128",
            "--quiet",
        ]

    return job


def run(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def chained_kills(cmd: list[str], kills: int, span: float, rng: random.Random) -> int:
    """Start `cmd` and SIGKILL it after a random delay, `kills` times; returns the number
    of runs that finished before their kill."""
    landed = finished = 0
    while landed < kills:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=rng.uniform(0.3, span))
            finished += 1
            if proc.returncode != 0:
                raise SystemExit(f"a resumed run failed with exit code {proc.returncode}")
            span = max(0.5, span / 2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            landed += 1
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return finished


def same_files(a: Path, b: Path, names: list[str]) -> list[str]:
    """The files among `names` (globs) that differ between folders a and b."""
    differ = []
    for pattern in names:
        left = sorted(p.relative_to(a) for p in a.glob(pattern))
        right = sorted(p.relative_to(b) for p in b.glob(pattern))
        if left != right or not left:
            differ.append(f"{pattern}: {left} vs {right}")
            continue
        differ += [str(p) for p in left if (a / p).read_bytes() != (b / p).read_bytes()]
    return differ


def check(name: str, job, files: list[str], kills: int, work: Path, seed: int) -> bool:
    ref, killed = work / f"{name}-ref", work / f"{name}-killed"
    alone = run(job(ref))
    finished = chained_kills(job(killed), kills, alone, random.Random(seed))
    differ = same_files(ref, killed, files)
    verdict = "identical" if not differ else f"DIFFERENT: {differ}"
    print(
        f"{name}: uninterrupted {alone:.1f} s; {kills} kills landed ({finished} runs ended "
        f"before their kill); result {verdict}"
    )
    return not differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--jobs", nargs="+", choices=["zoo", "train"], default=["zoo", "train"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kill-test-"))
    ok = True
    try:
        if "zoo" in args.jobs:
            files = ["weights.npy", "zoo.json", "progress.json", "properties/*.parquet"]
            ok &= check("zoo create", zoo_job, files, args.kills, work, args.seed)
        if "train" in args.jobs:
            zoo = work / "train-zoo"
            subprocess.run(
                [
                    *HYPERREP,
                    "zoo",
                    "create",
                    "tetris-seed",
                    "--models",
                    "60",
                    "--epochs",
                    "10",
                    "--out",
                    str(zoo),
                    "--quiet",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            files = ["model.safetensors", "last.safetensors", "history.json"]
            ok &= check("train", train_job(zoo), files, args.kills, work, args.seed)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
