"""Where a CUDA zoo step spends its time: one short GPU check (about 2 minutes).

    python benchmarks/gpu_step_profile.py --data-dir ../shared/data/mnist [--device cuda]

On an H200 (2026-12-04) a 288-model MNIST-SEED population trained at about 20 ms a step
(docs/scale.md), 20x the read-through estimate. This prints, for the zoo's own trainer:
the wall time per step of a population of M models (default 288 seed-zoo models, and 36
models of one MNIST-HYP group, which trains with dropout), with cuDNN's algorithm search
(`cudnn.benchmark`) off and on and TensorFloat-32 off (the zoo's fp32) and on; the
profiler's top operations by device and by host time; and the zoo's convolutions three
ways (grouped, im2col + batched matmul, one convolution per model), forward and
backward at the population's shapes. Runs on the CPU too (a dry run: --device cpu).
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from hyperrep.arch import create_architecture
from hyperrep.zoo import create_zoo_config, load_zoo_data, zoo_trainer


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def step_ms(preset: str, models: int, images: int, data_dir: str, device: str) -> tuple:
    """(ms per training step, the trainer) for `models` of `preset` on `images` images."""
    config = create_zoo_config(
        preset, n_models=models, epochs=1, train_subset=images, test_subset=100
    )
    arch = create_architecture(config.architecture)
    specs = config.models()
    group = specs[0].group
    specs = [s for s in specs if s.group == group]  # one population's worth
    data = load_zoo_data(config, arch, data_dir, device)
    trainer = zoo_trainer(config, arch, specs, data)
    trainer.train_epoch()  # warm-up: allocator, cuDNN plans
    _sync(device)
    start = time.perf_counter()
    trainer.train_epoch()
    _sync(device)
    steps = -(-images // config.batch_size)
    return 1000 * (time.perf_counter() - start) / steps, trainer, len(specs)


def conv_variants(m: int, b: int, c_in: int, c_out: int, k: int, size: int, device: str) -> dict:
    """ms for forward + backward of M models' convolutions, three ways."""
    x = torch.randn(m, b, c_in, size, size, device=device, requires_grad=True)
    w = torch.randn(m, c_out, c_in, k, k, device=device, requires_grad=True)

    def grouped():
        xs = x.transpose(0, 1).reshape(b, m * c_in, size, size)
        return F.conv2d(xs, w.reshape(-1, c_in, k, k), groups=m)

    def im2col():
        cols = F.unfold(x.reshape(m * b, c_in, size, size), k)  # (M*B, C*k*k, L)
        cols = cols.view(m, b, c_in * k * k, -1).transpose(1, 2).reshape(m, c_in * k * k, -1)
        return torch.bmm(w.view(m, c_out, -1), cols)

    def loop():
        return torch.stack(
            [F.conv2d(xi, wi) for xi, wi in zip(x.unbind(0), w.unbind(0), strict=True)]
        )

    out = {}
    for name, fn in (("grouped", grouped), ("im2col+bmm", im2col), ("per-model loop", loop)):
        for _ in range(3):
            fn().sum().backward()
        _sync(device)
        start = time.perf_counter()
        for _ in range(10):
            fn().sum().backward()
        _sync(device)
        out[name] = 100 * (time.perf_counter() - start)  # ms per forward + backward
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--models", type=int, default=288)
    parser.add_argument("--images", type=int, default=2000, help="training images per epoch")
    args = parser.parse_args()
    dev = args.device
    cudnn = torch.backends.cudnn
    print(
        f"device {dev}: {torch.cuda.get_device_name() if dev.startswith('cuda') else 'cpu'}, "
        f"torch {torch.__version__}"
    )
    for preset, models in (("mnist-seed", args.models), ("mnist-hyp-5-rand-seed", args.models)):
        for bench in (False, True):
            cudnn.benchmark = bench
            ms, trainer, pop = step_ms(preset, models, args.images, args.data_dir, dev)
            print(f"{preset}: {pop} models, cudnn.benchmark {bench}: {ms:.2f} ms/step")
        cudnn.benchmark = False
    # TensorFloat-32: the zoo turns it off (fp32 steps); what would it give?
    import hyperrep.population._trainer as trainer_module

    exact = trainer_module.exact_fp32
    trainer_module.exact_fp32 = lambda device: None
    cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = True
    ms, _, pop = step_ms("mnist-seed", args.models, args.images, args.data_dir, dev)
    print(f"mnist-seed {pop} models, TF32 on: {ms:.2f} ms/step")
    trainer_module.exact_fp32 = exact
    ms, trainer, pop = step_ms("mnist-seed", args.models, args.images, args.data_dir, dev)
    print(f"mnist-seed {pop} models, TF32 off (the zoo's): {ms:.2f} ms/step")
    from torch.profiler import ProfilerActivity, profile

    cuda = dev.startswith("cuda")
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        trainer.train_epoch()
        _sync(dev)
    table = prof.key_averages()
    steps = -(-args.images // trainer.batch_size)
    ops = sum(e.count for e in table if e.key.startswith("aten::"))
    print(f"aten operations per step: {ops / steps:.0f}")
    if cuda:
        print(table.table(sort_by="self_cuda_time_total", row_limit=15))
    print(table.table(sort_by="self_cpu_time_total", row_limit=15))
    # the zoo's three convolutions at batch 10 (MNIST CNN: 1->8 k5 on 28, 8->6 k5 on 12,
    # 6->4 k2 on 4)
    for c_in, c_out, k, size in ((1, 8, 5, 28), (8, 6, 5, 12), (6, 4, 2, 4)):
        times = conv_variants(args.models, 10, c_in, c_out, k, size, dev)
        print(
            f"conv {c_in}->{c_out} k{k} on {size}x{size}, {args.models} models: "
            + ", ".join(f"{n} {t:.2f} ms" for n, t in times.items())
        )


if __name__ == "__main__":
    main()
