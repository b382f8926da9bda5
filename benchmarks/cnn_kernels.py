"""Where a population CNN training step spends its time, next to a large matmul.

Prints the GFLOP/s of each C kernel on the MNIST CNN's convolution shapes, then the
share of one training step's time by operation (PyTorch profiler), all measured in
this run, so the gap between the trainer and the matmul rate can be read off.

    python benchmarks/cnn_kernels.py --models 32 --batch 64
    python benchmarks/cnn_kernels.py --models 96 --batch 10 --pytorch

With --pytorch it also times a whole convolution step (forward, backward to input and
filters) of each shape in the C kernels against PyTorch's grouped convolution in fp32
and in bf16 (oneDNN; AMX or AVX512-BF16 where the CPU has them), next to a large bf16
matmul: what a bf16 option through PyTorch could gain.
"""

from __future__ import annotations

import argparse
import ctypes
import math
import time
from collections import defaultdict
from dataclasses import dataclass

import torch
from torch.profiler import profile
from zoo_population import matmul_gflops  # this folder is on sys.path when run as a script

from hyperrep.arch import Conv2d, MaxPool2d, create_architecture
from hyperrep.population import (
    ModelSpec,
    PopulationTrainer,
    TrainData,
    conv_backward,
    conv_forward,
)


def timed(fn, repeats: int = 10, rounds: int = 5) -> float:
    """Seconds per call: the fastest of `rounds` means over `repeats` calls (the least
    disturbed by other work on a shared machine)."""
    fn()
    best = math.inf
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def keep_freed_memory() -> None:
    """Keep glibc from returning freed memory to the system between calls.

    Each kernel call allocates its outputs afresh (conv 1->8 at batch 10: 9 MB); called in
    a loop with nothing else allocated, glibc unmaps or trims that memory after each call
    and the next call page-faults it back in, which ran the conv 1->8 forward at 50
    GFLOP/s instead of 135 here. A training step interleaves enough other allocations
    that this does not happen there; the thresholds make the loop see the same.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to set
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 1 << 27)
    libc.mallopt(m_trim_threshold, 1 << 29)


@dataclass
class ConvCase:
    """One convolution of the MNIST CNN, with random inputs in the kernels' lane layout."""

    name: str
    c: int
    h: int
    w: int
    k: int
    o: int
    pool: int
    x: torch.Tensor  # (rows, C, H, W, batch * group)
    wt: torch.Tensor  # (rows * group, O, C, K, K)
    bias: torch.Tensor

    def flops(self, models: int, batch: int) -> int:
        """Multiply-adds x 2 of one forward pass over `models` x `batch` images."""
        positions = (self.h - self.k + 1) * (self.w - self.k + 1)
        return 2 * models * batch * self.o * positions * self.c * self.k * self.k


def lane_layout(models: int, batch: int) -> tuple[int, int]:
    """(models sharing a lane row, lane rows) for `models` x `batch`, as lanes_forward does."""
    group = 16 // math.gcd(batch, 16)
    return group, -(-models // group)


def conv_cases(rows: int, group: int, batch: int) -> list[ConvCase]:
    """The MNIST CNN's convolutions (with the pooling the kernels fuse), in order."""
    arch = create_architecture("mnist-cnn")
    shape, cases = arch.input_shape, []
    for i, layer in enumerate(arch.layers):
        if isinstance(layer, Conv2d):
            c, h, w = shape
            k, o = layer.kernel_size, layer.out_channels
            after = arch.layers[i + 1] if i + 1 < len(arch.layers) else None
            pool = after.kernel_size if isinstance(after, MaxPool2d) else 1
            name = f"conv {c}->{o} k{k} on {h}x{w}" + (f" + pool {pool}" if pool > 1 else "")
            x = torch.randn(rows, c, h, w, batch * group)
            wt = torch.randn(rows * group, o, c, k, k)
            bias = torch.randn(rows * group, o)
            cases.append(ConvCase(name, c, h, w, k, o, pool, x, wt, bias))
        shape = arch.feature_shapes[i]
    return cases


def kernel_rates(models: int, batch: int, peak: float) -> None:
    group, rows = lane_layout(models, batch)
    print(
        f"{'layer':28s} {'forward':>16s} {'backward data':>16s} {'backward filter':>16s}"
        f"   ({group} model(s) per lane row)"
    )
    for case in conv_cases(rows, group, batch):
        x, wt, bias, pool = case.x, case.wt, case.bias, case.pool
        out, idx, lanes = conv_forward(x, wt, bias, pool=pool, group=group)
        g = torch.randn_like(out)

        def backward(input_grad: bool, g=g, idx=idx, x=x, wt=wt, pool=pool, lanes=lanes):
            return conv_backward(g, idx, x, wt, pool, input_grad, group=group, lanes=lanes)

        times = (
            timed(lambda: conv_forward(x, wt, bias, pool=pool, group=group)),  # noqa: B023
            timed(lambda: backward(True)),
            timed(lambda: backward(False)),
        )
        data_time = times[1] - times[2]  # the filter gradient runs in both
        flops = case.flops(rows * group, batch)
        rates = [flops / t / 1e9 for t in (times[0], data_time, times[2])]
        cells = [f"{r:6.1f} ({100 * r / peak:3.0f}%)" for r in rates]
        print(f"{case.name:28s} " + " ".join(f"{cell:>16s}" for cell in cells))


def matmul_bf16_gflops(n: int = 2048) -> float:
    """GFLOP/s of a large bf16 matmul (fp32 accumulation) in PyTorch on this CPU."""
    a, b = torch.randn(n, n).bfloat16(), torch.randn(n, n).bfloat16()
    return 2 * n**3 / timed(lambda: a @ b, repeats=3) / 1e9


def pytorch_rates(models: int, batch: int, peak: float) -> None:
    """One convolution step per shape: C kernels (fp32) vs torch grouped conv fp32 / bf16."""
    group, rows = lane_layout(models, batch)
    print(f"\nlarge bf16 matmul: {matmul_bf16_gflops():.1f} GFLOP/s (fp32: {peak:.1f})")
    print(
        f"{'layer (fwd + both bwd)':28s} {'C kernels fp32':>16s} {'torch fp32':>16s} "
        f"{'torch bf16':>16s}"
    )
    for case in conv_cases(rows, group, batch):

        def native(case=case):
            out, idx, lanes = conv_forward(case.x, case.wt, case.bias, pool=case.pool, group=group)
            g = torch.ones_like(out)
            conv_backward(g, idx, case.x, case.wt, case.pool, True, group=group, lanes=lanes)

        def grouped(dtype: torch.dtype, case=case):
            xt = torch.randn(batch, models * case.c, case.h, case.w, dtype=dtype)
            wg = torch.randn(models * case.o, case.c, case.k, case.k, dtype=dtype)
            bg = torch.randn(models * case.o, dtype=dtype)
            for t in (xt, wg, bg):
                t.requires_grad_(True)

            def step() -> None:
                y = torch.nn.functional.conv2d(xt, wg, bg, groups=models)
                if case.pool > 1:
                    y = torch.nn.functional.max_pool2d(y, case.pool)
                torch.autograd.grad(y, (xt, wg, bg), torch.ones_like(y))

            return step

        flops = 3 * case.flops(models, batch)
        times = (
            timed(native, rounds=3),
            timed(grouped(torch.float32), repeats=3, rounds=3),
            timed(grouped(torch.bfloat16), repeats=3, rounds=3),
        )
        cells = [f"{flops / t / 1e9:6.1f} GFLOP/s" for t in times]
        print(f"{case.name:28s} " + " ".join(f"{cell:>16s}" for cell in cells))


def step_profile(models: int, batch: int) -> None:
    arch = create_architecture("mnist-cnn")
    n = batch * 20
    gen = torch.Generator().manual_seed(0)
    data = TrainData(
        torch.rand(n, *arch.input_shape, generator=gen),
        torch.randint(0, 10, (n,), generator=gen),
        torch.rand(batch, *arch.input_shape, generator=gen),
        torch.randint(0, 10, (batch,)),
        10,
    )
    specs = [ModelSpec(i, i + 1, "uniform", "adam", "tanh", 3e-4, 0.0, 0.0) for i in range(models)]
    trainer = PopulationTrainer(arch, specs, data, batch)
    trainer.train_epoch()
    start = time.perf_counter()
    trainer.train_epoch()
    wall = time.perf_counter() - start
    with profile() as prof:
        trainer.train_epoch()
    steps = n // batch
    flops = 3 * arch.forward_flops() * n * models
    groups: dict[str, float] = defaultdict(float)
    for event in prof.key_averages():
        name = event.key
        if name.startswith("_ConvBlock"):
            name = "C kernels (" + ("backward" if "Backward" in name else "forward") + ")"
        elif name.startswith(("autograd::", "aten::empty", "aten::view", "aten::reshape")):
            continue
        groups[name] += event.self_cpu_time_total / 1e6
    total = sum(groups.values())
    print(
        f"\none epoch of {steps} steps, {models} models x batch {batch}: {wall:.2f} s, "
        f"{flops / wall / 1e9:.1f} GFLOP/s (3x forward FLOPs); profile of another:"
    )
    for name, seconds in sorted(groups.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {name:40s} {seconds / steps * 1e3:7.2f} ms/step  {100 * seconds / total:5.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=32)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument(
        "--pytorch", action="store_true", help="also time PyTorch's grouped conv, fp32 and bf16"
    )
    args = parser.parse_args()
    peak = matmul_gflops()
    print(f"large fp32 matmul: {peak:.1f} GFLOP/s, {torch.get_num_threads()} threads\n")
    keep_freed_memory()
    kernel_rates(args.models, args.batch, peak)
    if args.pytorch:
        pytorch_rates(args.models, args.batch, peak)
    step_profile(args.models, args.batch)
    print(f"\nlarge fp32 matmul again: {matmul_gflops():.1f} GFLOP/s")


if __name__ == "__main__":
    main()
