"""Throughput of `hyperrep zoo create` alone and beside one other CPU-bound hyperrep job.

For each setting (OpenMP wait policy, threads), the script times a small Tetris zoo alone,
then again while a competitor (the same kind of zoo build, in a loop, same setting) runs,
and prints the shared throughput as a share of the alone throughput, all in one run.
On 2 cores a fair share is 50%.

    python benchmarks/shared_cpu.py
    python benchmarks/shared_cpu.py --models 50 --settings PASSIVE:default ACTIVE:default
    python benchmarks/shared_cpu.py --settings spin10000:default   # GOMP_SPINCOUNT=10000
    python benchmarks/shared_cpu.py --settings default:default     # hyperrep's defaults
    python benchmarks/shared_cpu.py --preset mnist-seed --models 8 \
        --zoo-args "--epochs 1 --train-subset 10000 --data-dir ../shared/data"   # CNN beside CNN
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HYPERREP = [sys.executable, "-m", "hyperrep.cli.main"]


def zoo_command(threads: str, out: Path, models: int, zoo: list[str]) -> list[str]:
    """`zoo create` of `models` models; `zoo` = [preset, more options...]."""
    opts = [] if threads == "default" else ["--threads", threads]
    return [
        *HYPERREP,
        *opts,
        "zoo",
        "create",
        zoo[0],
        "--models",
        str(models),
        "--out",
        str(out),
        "--quiet",
        *zoo[1:],
    ]


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def competitor(
    threads: str, workdir: Path, env: dict[str, str], zoo: list[str]
) -> subprocess.Popen:
    """A loop of zoo builds in its own process group, until killed."""
    cmd = shlex.join(zoo_command(threads, workdir / "c", 400, zoo))
    loop = f"while true; do rm -rf {workdir / 'c'}; {cmd}; done"
    return subprocess.Popen(
        ["bash", "-c", loop],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument(
        "--settings",
        nargs="+",
        metavar="POLICY:THREADS",
        default=["ACTIVE:default", "default:default"],
    )
    parser.add_argument("--preset", default="tetris-seed", help="zoo preset to build")
    parser.add_argument("--zoo-args", default="", help="more `zoo create` options, quoted")
    args = parser.parse_args()
    zoo = [args.preset, *shlex.split(args.zoo_args)]
    # a SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C, so the competitor is killed
    signal.signal(signal.SIGTERM, _interrupt)
    work = Path(tempfile.mkdtemp(prefix="shared-cpu-"))
    print(f"{os.cpu_count()} cores; {args.preset} zoo of {args.models} models {args.zoo_args}")
    print(f"{'wait policy':>11} {'threads':>7} {'alone s':>8} {'shared s':>8} {'share':>6}")
    try:
        for setting in args.settings:
            policy, threads = setting.split(":")
            env = dict(os.environ)
            for name in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT"):
                env.pop(name, None)
            if policy == "default":  # hyperrep's own default
                pass
            elif policy.startswith("spin"):  # libgomp's spin count, policy left unset
                env["GOMP_SPINCOUNT"] = policy[4:]
            else:
                env["OMP_WAIT_POLICY"] = policy
            timed(zoo_command(threads, work / "warm", args.models, zoo), env)  # kernels, caches
            shutil.rmtree(work / "warm")
            alone = timed(zoo_command(threads, work / "a", args.models, zoo), env)
            shutil.rmtree(work / "a")
            rival = competitor(threads, work, env, zoo)
            time.sleep(3)  # let it reach its training loop
            try:
                shared = timed(zoo_command(threads, work / "s", args.models, zoo), env)
            finally:
                os.killpg(rival.pid, signal.SIGKILL)
                rival.wait()
            shutil.rmtree(work / "s")
            print(f"{policy:>11} {threads:>7} {alone:>8.1f} {shared:>8.1f} {alone / shared:>6.0%}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
