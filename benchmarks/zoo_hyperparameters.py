"""What a HYP zoo's hyperparameters cost: one CNN population epoch per activation x
dropout, the same models otherwise, against tanh without dropout, in one run.

Each population holds the first N models of the preset with the activation, optimizer
and dropout overridden; a warm-up epoch, then one timed epoch plus its test evaluation.

    python benchmarks/zoo_hyperparameters.py --data-dir ../shared/data/mnist
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import torch

from hyperrep.arch import create_architecture
from hyperrep.population import FUSED_ACTIVATIONS, PopulationTrainer
from hyperrep.zoo import create_zoo_config, load_zoo_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mnist-hyp-1-fix-seed")
    parser.add_argument("--models", type=int, default=36)
    parser.add_argument("--activations", nargs="+", default=["tanh", "relu", "sigmoid", "gelu"])
    parser.add_argument("--dropout", type=float, nargs="+", default=[0.0, 0.5])
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--train-subset", type=int, default=2000)
    parser.add_argument("--test-subset", type=int, default=500)
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
    n_train = data.x_train.shape[0]
    print(
        f"{config.preset}: {args.models} models, {n_train} train images, batch "
        f"{config.batch_size}, {args.optimizer}, {torch.get_num_threads()} threads"
    )
    base = None
    for activation in args.activations:
        for dropout in args.dropout:
            specs = [
                dataclasses.replace(
                    s, activation=activation, optimizer=args.optimizer, dropout=dropout
                )
                for s in config.models()
            ]
            trainer = PopulationTrainer(arch, specs, data, config.batch_size)
            trainer.train_epoch()
            trainer.record()
            start = time.perf_counter()
            trainer.train_epoch()
            trainer.record()
            seconds = time.perf_counter() - start
            base = base or seconds
            fused = "fused" if activation in FUSED_ACTIVATIONS else "not fused"
            print(
                f"{activation:8s} ({fused:9s}) dropout {dropout:.1f}: {seconds:6.2f} s, "
                f"{len(specs) / seconds:6.2f} model-epochs/s of {n_train} images, "
                f"{seconds / base:.2f}x the first row"
            )


if __name__ == "__main__":
    main()
