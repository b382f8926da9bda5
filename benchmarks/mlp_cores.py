"""Tetris MLP population throughput: one process and thread on N models, against two
Python threads on N/2 each (torch intra-op threads 1) and two worker processes
(`hyperrep.zoo._processes.SplitTrainer`, what `zoo create` uses), in one run; prints
model-epochs/s, the ratios, and whether the three give the same weights.

    python benchmarks/mlp_cores.py --models 1000 --epochs 2
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

import torch

from hyperrep.arch import create_architecture
from hyperrep.zoo import SplitTrainer, create_zoo_config, load_zoo_data, zoo_trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = create_zoo_config("tetris-seed", n_models=args.models)
    arch = create_architecture(config.architecture)
    specs = config.models()
    data = load_zoo_data(config, arch, None, "cpu")

    def train(trainer):
        for _ in range(args.epochs):
            trainer.train_epoch()
        return trainer

    start = time.perf_counter()
    one = train(zoo_trainer(config, arch, specs, data)).flat.detach()
    t_one = time.perf_counter() - start

    half = len(specs) // 2
    parts = [zoo_trainer(config, arch, s, data) for s in (specs[:half], specs[half:])]
    start = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(train, parts))
    t_threads = time.perf_counter() - start
    threads = torch.cat([t.flat.detach() for t in done])

    with SplitTrainer(config, specs, 2) as split:
        start = time.perf_counter()
        train(split)
        t_procs = time.perf_counter() - start
        procs = torch.from_numpy(split.record().weights)

    work = args.models * args.epochs
    print(f"{args.models} models x {args.epochs} epochs")
    for name, seconds in (
        ("one thread", t_one),
        ("two threads", t_threads),
        ("two processes", t_procs),
    ):
        print(
            f"  {name:14s} {seconds:7.2f} s  {work / seconds:7.0f} model-epochs/s"
            f"  x{t_one / seconds:.2f}"
        )
    print(
        f"  same weights: threads {torch.equal(one, threads)}, processes {torch.equal(one, procs)}"
    )


if __name__ == "__main__":
    main()
