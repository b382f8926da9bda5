"""Does zeroing subnormal weights and moments change a zoo? The same MNIST-HYP models
trained with and without the flush, on the zoo's own data: test accuracy per model and
epoch, subnormal counts, and seconds per epoch, side by side in one run.

The models are the first N of a preset's balanced order in one activation / optimizer
group with the strongest weight decay (where weights collapse towards 0), so the case
the flush exists for is in the sample.

    python experiments/subnormal_flush.py --data-dir ../shared/data/mnist --threads 1
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from hyperrep.arch import create_architecture
from hyperrep.population import PopulationTrainer
from hyperrep.zoo import create_zoo_config, load_zoo_data

TINY = np.finfo(np.float32).tiny


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mnist-hyp-1-fix-seed")
    parser.add_argument("--activation", default="gelu")
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--weight-decay", type=float, default=0.1)
    parser.add_argument("--models", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--train-subset", type=int)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-dir")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    config = create_zoo_config(args.preset, train_subset=args.train_subset)
    arch = create_architecture(config.architecture)
    data = load_zoo_data(config, arch, args.data_dir, "cpu")
    specs = [
        s
        for s in config.models()
        if s.group == (args.activation, args.optimizer) and s.weight_decay == args.weight_decay
    ][: args.models]
    print(
        f"{len(specs)} {args.activation}/{args.optimizer} models with l2 {args.weight_decay} "
        f"of {args.preset} (lr / dropout / init: "
        f"{sorted({(s.lr, s.dropout, s.init) for s in specs})}), "
        f"{data.x_train.shape[0]} training images, {args.threads} thread(s)"
    )
    results = {}
    for flush in (True, False):
        trainer = PopulationTrainer(
            arch, specs, data, config.batch_size, config.train_metrics, flush_subnormals=flush
        )
        accs, seconds, subnormal = [trainer.record().test_acc], [], []
        for _ in range(args.epochs):
            start = time.perf_counter()
            trainer.train_epoch()
            seconds.append(time.perf_counter() - start)
            accs.append(trainer.record().test_acc)
            w = trainer.flat.detach().numpy()
            subnormal.append(float(((np.abs(w) < TINY) & (w != 0)).mean()))
        results[flush] = (np.stack(accs), seconds, subnormal)
    (acc_on, sec_on, sub_on), (acc_off, sec_off, sub_off) = results[True], results[False]
    print(
        "epoch | s/epoch flush | s/epoch kept | ratio | subnormal weights kept | "
        "median acc flush | median acc kept | max |acc diff| (points) | models differing"
    )
    for e in range(1, args.epochs + 1):
        diff = 100 * np.abs(acc_on[e] - acc_off[e])
        print(
            f"{e} | {sec_on[e - 1]:.1f} | {sec_off[e - 1]:.1f} | "
            f"{sec_off[e - 1] / sec_on[e - 1]:.2f}x | {100 * sub_off[e - 1]:.2f}% | "
            f"{100 * np.median(acc_on[e]):.2f} | {100 * np.median(acc_off[e]):.2f} | "
            f"{diff.max():.2f} | {int((diff > 0).sum())} of {len(specs)}"
        )
    assert max(sub_on) == 0.0, "the flush left subnormal weights"


if __name__ == "__main__":
    main()
