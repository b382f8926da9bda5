"""Cost of the behavioural term per representation training step, in one run.

One E_cD step (two views, encoder, head, decoder, backward, AdamW) on random checkpoints,
without the term and with it on B probe inputs (the decoded networks' forward and
backward through the zoo's architecture), timed after warm-up; median ms per step and
the ratio to the step without it.

    python benchmarks/behaviour_step.py
    python benchmarks/behaviour_step.py --batch 32 --inputs 64 256
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import torch
from representation_step import median_seconds

from hyperrep.arch import create_architecture
from hyperrep.representation import (
    Behaviour,
    CheckpointData,
    RunConfig,
    TrainConfig,
    Trainer,
)
from hyperrep.representation import TransformerConfig as Model

SETTINGS = {  # architecture: the recipes' model (Tetris preset; the CNN recipe's d_model 128)
    "tetris-mlp": Model(d_model=128, d_ff=512, latent_dim=50),
    "mnist-cnn": Model(d_model=128, d_ff=512, latent_dim=700),
}


def _trainer(arch, model, batch, inputs, weight, bf16):
    rows = batch + batch // 5
    g = torch.Generator().manual_seed(0)
    table = pd.DataFrame({"model_id": np.arange(rows), "split": "train"})
    table.loc[batch:, "split"] = "val"  # the first `batch` rows train
    data = CheckpointData(table, 0.1 * torch.randn(rows, arch.n_params, generator=g))
    train = TrainConfig(batch_size=batch, gamma=0.1, behaviour_weight=weight, cpu_bf16=bf16)
    behaviours = None
    if weight > 0:
        x = torch.randn(inputs, *arch.input_shape, generator=g)
        behaviours = {
            s: Behaviour.of(arch, data.split(s), np.full(int((table.split == s).sum()), "tanh"), x)
            for s in ("train", "val")
        }
    return Trainer(arch, RunConfig(model, train), data, "cpu", behaviours=behaviours)


def step_ms(trainer, batch: int, steps: int) -> float:
    rows = torch.arange(batch)
    g = torch.Generator().manual_seed(1)

    def step() -> None:
        trainer.step(rows, g)

    trainer.model.train()
    step()
    step()  # warm-up
    return 1e3 * median_seconds(step, steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=32, help="checkpoints per step")
    parser.add_argument("--inputs", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    print(f"{torch.get_num_threads()} threads, batch {args.batch}, bf16 autocast as the recipes")
    print(f"{'arch':>10} {'inputs':>6} {'ms/step':>8} {'x plain':>7}")
    for name, model in SETTINGS.items():
        arch = create_architecture(name)
        plain = step_ms(_trainer(arch, model, args.batch, 0, 0.0, True), args.batch, args.steps)
        print(f"{name:>10} {'-':>6} {plain:>8.1f} {1.0:>7.2f}")
        for inputs in args.inputs:
            trainer = _trainer(arch, model, args.batch, inputs, 1.0, True)
            ms = step_ms(trainer, args.batch, args.steps)
            print(f"{name:>10} {inputs:>6} {ms:>8.1f} {ms / plain:>7.2f}")


if __name__ == "__main__":
    main()
