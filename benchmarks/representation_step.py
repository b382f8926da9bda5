"""Speed of one hyper-representation training step, as a share of the CPU's fp32 matmul.

For each setting, one E_cD training step (two augmented views, encoder, projection head,
decoder, NT-Xent + MSE, backward, Adam) on random weight vectors is timed after warm-up.
FLOPs are counted by torch's FlopCounterMode on the same step (matmuls, attention), so
GFLOP/s is the model's arithmetic over wall time; the ratio is against a large fp32
matmul measured in the same run. Settings: d_model 128 and 256 on the Tetris MLP
(10 tokens), 800 on the MNIST CNN (49 tokens); fp32, then bf16 autocast.

    python benchmarks/representation_step.py
    python benchmarks/representation_step.py --batch 500 --steps 5 --only 256
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch
from torch.utils.flop_counter import FlopCounterMode
from zoo_population import matmul_gflops

from hyperrep.arch import create_architecture
from hyperrep.representation import (
    CheckpointData,
    RunConfig,
    TrainConfig,
    Trainer,
    TransformerConfig,
)

SETTINGS = {  # d_model: (architecture, model config)
    128: ("tetris-mlp", TransformerConfig(d_model=128, d_ff=512, latent_dim=50)),
    256: ("tetris-mlp", TransformerConfig(d_model=256, d_ff=512, latent_dim=50, head_layers=4)),
    800: (
        "mnist-cnn",
        TransformerConfig(
            d_model=800, d_ff=900, latent_dim=700, head_layers=5, head_width=400, head_out=50
        ),
    ),
}


def fake_data(arch, rows: int) -> CheckpointData:
    """`rows` random checkpoints, all in the training split."""
    g = torch.Generator().manual_seed(0)
    table = pd.DataFrame({"model_id": np.arange(rows), "split": "train"})
    table.loc[: rows // 10, "split"] = "val"
    return CheckpointData(table, torch.randn(rows, arch.n_params, generator=g))


def step_seconds(trainer: Trainer, batch: int, steps: int, bf16: bool) -> tuple[float, float]:
    """(median seconds, FLOPs) of one training step on `batch` vectors."""
    x = trainer.train_x[:batch]
    g = torch.Generator().manual_seed(1)

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss, _ = trainer._loss(x, g)
        trainer.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        trainer.optimizer.step()

    trainer.model.train()
    step()
    step()  # warm-up
    with FlopCounterMode(display=False) as counter:
        step()
    return median_seconds(step, steps), float(counter.get_total_flops())


def median_seconds(step, steps: int) -> float:  # noqa: ANN001 (a callable)
    """Median wall time of `steps` calls of `step`."""
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=500, help="models per step (authors: 500)")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--only", type=int, choices=sorted(SETTINGS), action="append")
    args = parser.parse_args()
    peak = matmul_gflops()
    print(f"large fp32 matmul: {peak:.1f} GFLOP/s, {torch.get_num_threads()} threads")
    print(
        f"{'d_model':>7} {'arch':>10} {'dtype':>5} {'ms/step':>8} {'GFLOP/step':>10} "
        f"{'GFLOP/s':>8} {'of matmul':>9}"
    )
    for d_model in args.only or sorted(SETTINGS):
        arch_name, model = SETTINGS[d_model]
        arch = create_architecture(arch_name)
        config = RunConfig(model, TrainConfig(batch_size=args.batch, lr=1e-4, gamma=0.5))
        trainer = Trainer(arch, config, fake_data(arch, args.batch + args.batch // 5), "cpu")
        for bf16 in (False, True):
            seconds, flops = step_seconds(trainer, args.batch, args.steps, bf16)
            rate = flops / seconds / 1e9
            print(
                f"{d_model:>7} {arch_name:>10} {'bf16' if bf16 else 'fp32':>5} "
                f"{1e3 * seconds:>8.1f} {flops / 1e9:>10.2f} {rate:>8.1f} "
                f"{rate / peak:>9.0%}"
            )
    print(f"large fp32 matmul again: {matmul_gflops():.1f} GFLOP/s")


if __name__ == "__main__":
    main()
