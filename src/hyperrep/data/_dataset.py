"""In-memory image data set container and the registry of named loaders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from hyperrep._errors import DataFormatError
from hyperrep._registry import Registry

__all__ = ["ImageDataset", "list_datasets", "load_dataset", "register_dataset"]


@dataclass(frozen=True)
class ImageDataset:
    """A normalised image classification data set held as tensors.

    Images are float32 of shape (N, C, H, W); labels are int64 of shape (N,)
    with values in ``[0, num_classes)``.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        problems = _validate(self)
        if problems:
            raise DataFormatError(f"invalid ImageDataset {self.name!r}: " + "; ".join(problems))

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """The (C, H, W) shape of one image."""
        c, h, w = self.x_train.shape[1:]
        return (c, h, w)

    def __repr__(self) -> str:
        return (
            f"ImageDataset(name={self.name!r}, train={len(self.y_train)}, "
            f"test={len(self.y_test)}, image_shape={self.image_shape}, "
            f"num_classes={self.num_classes})"
        )


def _validate(ds: ImageDataset) -> list[str]:
    problems: list[str] = []
    if ds.num_classes < 1:
        problems.append(f"num_classes must be >= 1, got {ds.num_classes}")
    if len(ds.class_names) != ds.num_classes:
        problems.append(f"{len(ds.class_names)} class_names for {ds.num_classes} classes")
    for split in ("train", "test"):
        x, y = getattr(ds, f"x_{split}"), getattr(ds, f"y_{split}")
        if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
            problems.append(f"x_{split} and y_{split} must be torch.Tensor")
            continue
        if x.dtype != torch.float32 or x.ndim != 4:
            problems.append(
                f"x_{split} must be float32 (N, C, H, W), got {x.dtype} {tuple(x.shape)}"
            )
        if y.dtype != torch.int64 or y.ndim != 1:
            problems.append(f"y_{split} must be int64 (N,), got {y.dtype} {tuple(y.shape)}")
        elif x.ndim >= 1 and x.shape[0] != y.shape[0]:
            problems.append(f"x_{split} has {x.shape[0]} samples but y_{split} has {y.shape[0]}")
        elif y.numel() and (int(y.min()) < 0 or int(y.max()) >= ds.num_classes):
            problems.append(f"y_{split} values outside [0, {ds.num_classes})")
    if not problems and ds.x_train.shape[1:] != ds.x_test.shape[1:]:
        problems.append(
            f"train images {tuple(ds.x_train.shape[1:])} and test images "
            f"{tuple(ds.x_test.shape[1:])} differ in shape"
        )
    return problems


DATASETS: Registry[ImageDataset] = Registry("data set")


def register_dataset(
    name: str,
) -> Callable[[Callable[..., ImageDataset]], Callable[..., ImageDataset]]:
    """Register a loader ``(**kwargs) -> ImageDataset`` under ``name``."""
    return DATASETS.register(name)


def _register_builtin() -> None:
    """Import the modules that register the built-in data sets."""
    from hyperrep.data import mnist, tetris  # noqa: F401


def list_datasets() -> list[str]:
    """Names of all registered data sets, sorted."""
    _register_builtin()
    return DATASETS.names()


def load_dataset(name: str, **kwargs: object) -> ImageDataset:
    """Load the registered data set ``name``, passing ``kwargs`` to its loader."""
    _register_builtin()
    return DATASETS.create(name, **kwargs)
