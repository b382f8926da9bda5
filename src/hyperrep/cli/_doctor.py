"""`hyperrep doctor`: what this machine runs hyperrep with, and which path each network takes."""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

from hyperrep._home import data_home


def add_parser(commands: argparse._SubParsersAction) -> None:
    doctor = commands.add_parser(
        "doctor",
        help="report versions, threads, the C kernels, each architecture's path "
        "and the data files found",
    )
    doctor.add_argument("--data-dir", type=Path, help="folder with MNIST / Fashion-MNIST files")
    doctor.set_defaults(run=run_doctor)


def _cpu_features() -> str:
    try:
        flags = next(
            line
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("flags")
        ).split()
    except (OSError, StopIteration):
        return "unknown"
    wanted = ("avx512f", "avx512_bf16", "avx2", "fma", "neon", "asimd")
    return ", ".join(f for f in wanted if f in flags) or "none of AVX2 / AVX-512"


def _version_of(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def run_doctor(args: argparse.Namespace) -> int:
    import torch
    import torch.distributed as dist

    from hyperrep._version import __version__
    from hyperrep.arch import create_architecture, list_architectures
    from hyperrep.data import mnist
    from hyperrep.population import kernel_report

    env = {
        k: os.environ[k]
        for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
        if k in os.environ
    }
    omp = ", ".join(f"{k}={v}" for k, v in env.items()) or "no OpenMP variables set"
    lines = [
        ("hyperrep", __version__),
        ("python", platform.python_version()),
        ("torch", f"{torch.__version__} (CUDA: {torch.cuda.is_available()})"),
        (
            "cpu",
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
            f"{_cpu_features()}",
        ),
        ("threads", f"{torch.get_num_threads()} ({omp})"),
        (
            "ray",
            _version_of("ray")
            or "not installed (zoo create --backend ray needs the distributed extra)",
        ),
        (
            "torch.distributed",
            f"gloo {dist.is_gloo_available()}, nccl {dist.is_nccl_available()}"
            " (hyperrep train under torchrun)",
        ),
        ("data home", f"{data_home()} (HYPERREP_HOME; `reproduce` builds there)"),
    ]
    kernels = kernel_report()
    if kernels["available"]:
        lines.append(
            (
                "C kernels",
                f"built with {kernels['compiler']} {kernels['flags']}; "
                f"OpenMP {'on' if kernels['openmp'] else 'off (one thread)'}; "
                f"{kernels['library']}",
            )
        )
    else:
        lines.append(("C kernels", f"unavailable: {kernels['reason']}"))
    for name in list_architectures():
        arch = create_architecture(name)
        if arch.supports("dense"):
            path = "hand-written MLP pass (dense)"
        elif arch.convolutional and arch.supports("lanes") and kernels["available"]:
            path = "C kernels (lanes)"
        else:
            path = "generic PyTorch pass" + (
                " (the C kernels would apply but are unavailable)"
                if arch.convolutional and arch.supports("lanes")
                else ""
            )
        lines.append((f"  {name}", path))
    for source in (mnist.MNIST, mnist.FASHION_MNIST):
        found, looked = mnist.find_idx_files(source, args.data_dir)
        where = str(next(iter(found.values())).parent) if found else f"not found ({looked[-1]})"
        lines.append((f"data {source.name}", where))
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key:<{width}}  {value}")
    return 0
