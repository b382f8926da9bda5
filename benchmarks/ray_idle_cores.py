"""A Ray build's tail with and without `use_idle_cores`, in one run, alternating.

A CNN zoo of two populations of unequal size (by default 16 and 8 models) on a local
Ray instance with one CPU per task: once the small population is done, the large one
trains alone, on one thread, or (with `use_idle_cores`) on the cores left idle. Prints
each build's wall time, the medians and their ratio, and checks that the two builds
wrote the same weights.

    python benchmarks/ray_idle_cores.py --data-dir ../shared/data/mnist
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from hyperrep.zoo import RayOptions, create_zoo, create_zoo_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--large", type=int, default=16, help="models of the large population")
    parser.add_argument("--small", type=int, default=8, help="models of the small population")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-subset", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    # population_size = large: the seed zoo's one group splits into [large, small]
    config = create_zoo_config(
        "mnist-seed",
        n_models=args.large + args.small,
        epochs=args.epochs,
        train_subset=args.train_subset,
        test_subset=1000,
    )
    times: dict[bool, list[float]] = {False: [], True: []}
    weights: dict[bool, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for idle in (False, True):
                out = Path(tmp) / f"zoo-{idle}-{repeat}"
                start = time.perf_counter()
                create_zoo(
                    config,
                    out,
                    data_dir=args.data_dir,
                    population_size=args.large,
                    progress=False,
                    ray=RayOptions(use_idle_cores=idle),
                )
                times[idle].append(time.perf_counter() - start)
                weights[idle] = np.load(out / "weights.npy")
                print(f"use_idle_cores={idle}: {times[idle][-1]:.1f} s", flush=True)
    ray.shutdown()
    fixed, idle = (statistics.median(times[k]) for k in (False, True))
    print(
        f"median {fixed:.1f} s with one thread per task, {idle:.1f} s with idle cores: "
        f"{fixed / idle:.2f}x; same weights: {np.array_equal(weights[False], weights[True])}"
    )


if __name__ == "__main__":
    main()
