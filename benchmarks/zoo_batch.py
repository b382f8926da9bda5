"""CNN zoo throughput at the authors' batch of 10 against batch 64, side by side in one run.

Each batch size trains the same population for one epoch (running-mean train metrics,
then the test-set evaluation that a zoo records), timed after a warm-up epoch; the
script prints model-epochs/s, GFLOP/s as a share of a large fp32 matmul measured in the
same run, and the ratio of the two rates. `--precisions fp32 bf16` times each batch size
in both arithmetics (`zoo create --precision`) and prints their ratio too.

    python benchmarks/zoo_batch.py --data-dir ../shared/data/mnist
    python benchmarks/zoo_batch.py --models 64 --train-subset 10000 --data-dir ...
    python benchmarks/zoo_batch.py --batches 10 --precisions fp32 bf16 --data-dir ...
"""

from __future__ import annotations

import argparse
import time

import torch
from zoo_population import matmul_gflops

from hyperrep.arch import create_architecture
from hyperrep.population import PopulationTrainer
from hyperrep.zoo import create_zoo_config, load_zoo_data


def epoch_seconds(arch, specs, data, batch: int, repeats: int, precision: str = "fp32") -> float:
    """Median wall time of one training epoch plus its record (test evaluation)."""
    trainer = PopulationTrainer(arch, specs, data, batch, precision=precision)
    trainer.train_epoch()  # warm-up: kernels built, caches and allocator filled
    trainer.record()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        trainer.train_epoch()
        trainer.record()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mnist-seed")
    parser.add_argument("--models", type=int, default=32)
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 10])
    parser.add_argument("--train-subset", type=int, default=6000)
    parser.add_argument("--test-subset", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precisions", nargs="+", default=["fp32"], choices=["fp32", "bf16"])
    parser.add_argument("--data-dir")
    args = parser.parse_args()

    config = create_zoo_config(
        args.preset,
        n_models=args.models,
        train_subset=args.train_subset,
        test_subset=args.test_subset,
    )
    arch = create_architecture(config.architecture)
    data = load_zoo_data(config, arch, args.data_dir, "cpu")
    specs = config.models()
    n_train, n_test = data.x_train.shape[0], data.x_test.shape[0]
    flops = arch.forward_flops() * len(specs) * (3 * n_train + n_test)
    print(
        f"{config.preset}: {len(specs)} models, {n_train} train / {n_test} test images, "
        f"{torch.get_num_threads()} threads; one epoch + its test evaluation, median of "
        f"{args.repeats}"
    )
    rates = {}
    for batch in args.batches:
        for precision in args.precisions:
            seconds = epoch_seconds(arch, specs, data, batch, args.repeats, precision)
            rates[batch, precision] = len(specs) / seconds
            peak = matmul_gflops()
            gflops = flops / seconds / 1e9
            print(
                f"batch {batch:3d} {precision}: {seconds:7.2f} s  "
                f"{rates[batch, precision]:6.2f} model-epochs/s (of {n_train} images)  "
                f"{gflops:6.1f} GFLOP/s = {100 * gflops / peak:5.1f}% of matmul "
                f"({peak:.0f} GFLOP/s fp32, measured right after)"
            )
    first, *others = args.batches
    base, *other_precisions = args.precisions
    for batch in others:
        ratio = rates[first, base] / rates[batch, base]
        print(f"batch {first} rate / batch {batch} rate ({base}): {ratio:.2f}x")
    for batch in args.batches:
        for precision in other_precisions:
            ratio = rates[batch, precision] / rates[batch, base]
            print(f"batch {batch}: {precision} rate / {base} rate: {ratio:.2f}x")


if __name__ == "__main__":
    main()
