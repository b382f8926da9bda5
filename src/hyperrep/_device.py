"""Validation of a user-given device name."""

from __future__ import annotations

import torch

from hyperrep._errors import HyperrepError


def check_device(device: str) -> str:
    """`device` if PyTorch can use it, else a one-line error."""
    try:
        parsed = torch.device(device)
    except RuntimeError as err:
        raise HyperrepError(f"unknown device {device!r}; use cpu or cuda") from err
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise HyperrepError(f"--device {device} asked for, but PyTorch sees no CUDA device")
    if parsed.type not in ("cpu", "cuda"):
        raise HyperrepError(f"device {device!r} is not supported; use cpu or cuda")
    return device


def exact_fp32(device: str) -> None:
    """On CUDA, turn off TensorFloat-32 in convolutions and matrix products (cuDNN uses it
    for convolutions by default), so fp32 training steps are fp32 as on the CPU."""
    if torch.device(device).type == "cuda":
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
