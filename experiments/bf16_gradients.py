"""How far a bf16 training step is from fp32, and a bf16 population from each model alone:
the gradient of one batch (population, a torch module under the same autocast, and fp32)
per activation, and the weights after 2 epochs trained together and alone, on 192 MNIST
images. The figures docs/zoo.md quotes in "bf16 training steps".

    python experiments/bf16_gradients.py --data-dir ../shared/data/mnist
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F

from hyperrep.arch import create_architecture, to_module, vector_to_state_dict
from hyperrep.data import load_dataset
from hyperrep.population import (
    ModelSpec,
    PopulationTrainer,
    TrainData,
    train_population,
    train_single,
)


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def gradients(arch, data) -> None:
    x = data.x_train[:40].expand(2, 40, 1, 28, 28).contiguous()
    y = data.y_train[:40].expand(2, 40)
    print("activation model | bf16 population vs bf16 module | bf16 vs fp32 (of the gradient norm)")
    for act in ("tanh", "relu", "gelu", "sigmoid"):
        specs = [
            ModelSpec(0, 3, "kaiming_normal", "adam", act, 1e-3, 0.0, 0.0),
            ModelSpec(1, 4, "xavier_uniform", "adam", act, 1e-3, 0.0, 0.0),
        ]
        bf16 = PopulationTrainer(arch, specs, data, 40, precision="bf16")
        g_bf16 = bf16._gradient(x, y, None)
        g_fp32 = PopulationTrainer(arch, specs, data, 40)._gradient(x, y, None)
        for m in range(2):
            module = to_module(arch, act)
            module.load_state_dict(vector_to_state_dict(arch, bf16.flat[m].detach()))
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits = module(x[m]).float()
            F.cross_entropy(logits, y[m]).backward()
            ref = torch.cat(
                [module.get_parameter(s.name).grad.reshape(-1) for s in arch.param_slots]
            )
            alone, fp32 = _relative(g_bf16[m], ref), _relative(g_bf16[m], g_fp32[m])
            print(f"{act:8s} {m} | {alone:.2e} | {fp32:.2e}")


def together_and_alone(arch, data) -> None:
    specs = [
        ModelSpec(0, 1, "kaiming_uniform", "adam", "tanh", 1e-3, 0.0, 0.0),
        ModelSpec(1, 2, "kaiming_normal", "adam", "tanh", 1e-3, 1e-3, 0.5),
        ModelSpec(2, 3, "xavier_uniform", "adam", "tanh", 3e-3, 0.0, 0.0),
    ]
    print("\nprecision model | max |w_pop - w_alone|, epochs 1 and 2 | test acc together / alone")
    for precision in ("fp32", "bf16"):
        pop = list(train_population(arch, specs, data, 2, 10, precision=precision))
        for j, spec in enumerate(specs):
            alone = list(train_single(arch, spec, data, 2, 10, precision=precision))
            diffs = [
                float(np.abs(p.weights[j] - a.weights[0]).max())
                for p, a in zip(pop, alone, strict=True)
            ]
            print(
                f"{precision} {j} | {diffs[1]:.1e}, {diffs[2]:.1e} "
                f"| {pop[-1].test_acc[j]:.3f} / {alone[-1].test_acc[0]:.3f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    arch = create_architecture("mnist-cnn")
    dataset = load_dataset("mnist", data_dir=args.data_dir)
    data = TrainData.for_arch(arch, dataset, "cpu").subset(192, 128)
    gradients(arch, data)
    together_and_alone(arch, data)


if __name__ == "__main__":
    main()
