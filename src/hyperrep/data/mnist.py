"""MNIST and Fashion-MNIST: find the IDX files locally or download them, then load.

Lookup order: ``data_dir`` argument, ``$HYPERREP_DATA_DIR``, the cache folder
(``cache_home() / <name>``: ``$HYPERREP_CACHE``, ``$XDG_CACHE_HOME/hyperrep`` or
``~/.cache/hyperrep``), then a
checksummed download into the cache. See docs/data.md.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

import numpy as np
import torch

from hyperrep._errors import DataFormatError, HyperrepError
from hyperrep._home import cache_home

from ._dataset import ImageDataset, register_dataset
from .idx import read_idx

__all__ = [
    "DATA_DIR_ENV",
    "DataNotFoundError",
    "IDX_FILES",
    "IdxSource",
    "cache_dir",
    "download_idx",
    "find_idx_files",
    "load_fashion_mnist",
    "load_mnist",
]

DATA_DIR_ENV = "HYPERREP_DATA_DIR"
#: Role -> file stem; each file may be stored raw or with a ``.gz`` suffix.
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_TIMEOUT_S = 60.0
_CHUNK = 1 << 20


class DataNotFoundError(HyperrepError, RuntimeError):
    """The files of a data set are neither on disk nor downloadable."""


@dataclass(frozen=True)
class IdxSource:
    """Where an IDX data set lives online and how to standardise it."""

    name: str
    mirrors: tuple[str, ...]
    md5: dict[str, str]  # canonical .gz file name -> MD5 (as listed by torchvision)
    mean: float
    std: float
    class_names: tuple[str, ...]
    aliases: tuple[str, ...] = ()  # other sub-folder names to look in (torchvision layout)


MNIST = IdxSource(
    name="mnist",
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
    md5={
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    mean=0.1307,
    std=0.3081,
    class_names=tuple(str(d) for d in range(10)),
    aliases=("MNIST/raw",),
)
FASHION_MNIST = IdxSource(
    name="fashion-mnist",
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    md5={
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
    mean=0.2860,
    std=0.3530,
    class_names=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    aliases=("fashion_mnist", "FashionMNIST/raw"),
)
_SOURCES = {s.name: s for s in (MNIST, FASHION_MNIST)}


def cache_dir(name: str) -> Path:
    """The cache folder of data set ``name``."""
    return cache_home() / name


def _files_in(
    folder: Path, md5: dict[str, str] | None = None, checked_only: bool = False
) -> dict[str, Path] | None:
    """The four IDX files in ``folder``, or None if any is missing.

    Per file, a ``.gz`` whose MD5 is the published one (``md5``: name -> digest) comes
    first, then the raw file, then an unchecked ``.gz``; with ``checked_only`` (the
    cache) only published ``.gz`` files count.
    """
    md5 = md5 or {}
    found = {}
    for role, stem in IDX_FILES.items():
        raw, packed = folder / stem, folder / f"{stem}.gz"
        checked = packed.is_file() and md5.get(packed.name) == _md5(packed)
        if checked_only:
            order = [packed] if checked else []
        else:
            order = [packed, raw] if checked else [raw, packed]
        path = next((p for p in order if p.is_file()), None)
        if path is None:
            return None
        found[role] = path
    return found


def _candidates(base: Path, source: IdxSource) -> list[Path]:
    """``base/<name>`` (and aliases), then ``base`` itself unless it is another set's folder."""
    subs = [base / sub for sub in (source.name, *source.aliases)]
    others = {n for s in _SOURCES.values() if s is not source for n in (s.name, *s.aliases)}
    return subs if base.name in others else [*subs, base]


def find_idx_files(
    source: IdxSource, data_dir: str | os.PathLike[str] | None = None
) -> tuple[dict[str, Path] | None, list[str]]:
    """Look for the files: ``data_dir``, then ``$HYPERREP_DATA_DIR``, then the cache.

    Returns the files found (or None) and a description of every place looked in.
    """
    looked: list[str] = []
    folders: list[Path] = []
    if data_dir is not None:
        folders += _candidates(Path(data_dir).expanduser(), source)
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        folders += _candidates(Path(env).expanduser(), source)
    else:
        looked.append(f"${DATA_DIR_ENV} (unset)")
    for folder in folders:
        looked.append(str(folder))
        found = _files_in(folder, source.md5)
        if found is not None:
            return found, looked
    cache = cache_dir(source.name)
    looked.append(f"{cache} (published files only)")
    return _files_in(cache, source.md5, checked_only=True), looked


def download_idx(source: IdxSource, dest: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """Download the missing .gz files into ``dest`` (default: the cache), MD5-checked.

    Each file is written to a temporary file in ``dest`` and moved into place only
    after its checksum matches; raises DataNotFoundError if a file cannot be fetched.
    """
    dest = Path(dest) if dest is not None else cache_dir(source.name)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataNotFoundError(f"cannot create {dest}: {exc}") from exc
    _remove_stale_parts(dest)
    for fname, md5 in source.md5.items():
        target = dest / fname
        if target.is_file() and _md5(target) == md5:
            continue
        errors = []
        for mirror in source.mirrors:
            try:
                _fetch(mirror + fname, target, md5)
                break
            except (URLError, OSError, http.client.HTTPException, ValueError) as exc:
                errors.append(f"{mirror + fname}: {exc}")
        else:
            raise DataNotFoundError(f"could not download {fname}: " + "; ".join(errors))
    found = _files_in(dest, source.md5, checked_only=True)
    if found is None:  # e.g. a folder entry shadowing a file name
        raise DataNotFoundError(f"downloaded files not readable in {dest}")
    return found


def _remove_stale_parts(folder: Path, age_s: float = 3600.0) -> None:
    """Delete partial downloads an interrupted run left behind (older than ``age_s``,
    so a download in progress elsewhere is left alone)."""
    now = time.time()
    for part in folder.glob(".*.part"):
        try:
            if now - part.stat().st_mtime > age_s:
                part.unlink()
        except OSError:
            pass


def _md5(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _fetch(url: str, target: Path, md5: str) -> None:
    """Stream ``url`` to a temp file next to ``target``; os.replace it if the MD5 matches."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        h = hashlib.md5(usedforsecurity=False)
        with os.fdopen(fd, "wb") as out, urlopen(url, timeout=_TIMEOUT_S) as resp:
            for chunk in iter(lambda: resp.read(_CHUNK), b""):
                h.update(chunk)
                out.write(chunk)
        if h.hexdigest() != md5:
            raise DataFormatError(f"MD5 mismatch: got {h.hexdigest()}, expected {md5}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _resolve(
    source: IdxSource, data_dir: str | os.PathLike[str] | None, download: bool
) -> dict[str, Path]:
    found, looked = find_idx_files(source, data_dir)
    if found is not None:
        return found
    reason = "download disabled"
    if download:
        try:
            return download_idx(source)
        except DataNotFoundError as exc:
            detail = str(exc).replace("\n", " ")
            reason = f"download failed ({detail})"
    needed = ", ".join(f"{stem}[.gz]" for stem in IDX_FILES.values())
    raise DataNotFoundError(
        f"{source.name} data not found: need {needed}; looked in {'; '.join(looked)}; {reason}. "
        f"Pass --data-dir DIR (or data_dir=) or set {DATA_DIR_ENV} to a folder holding the files "
        f"or a '{source.name}/' sub-folder with them."
    )


def _first(arr: np.ndarray, k: int | None, what: str) -> np.ndarray:
    if k is None:
        return arr
    if k < 1:
        raise DataFormatError(f"{what} must be >= 1, got {k}")
    return arr[:k]


def _load(
    source: IdxSource,
    data_dir: str | os.PathLike[str] | None,
    download: bool,
    train_subset: int | None,
    test_subset: int | None,
    mean: float | None = None,
    std: float | None = None,
) -> ImageDataset:
    files = _resolve(source, data_dir, download)
    mean = source.mean if mean is None else float(mean)
    std = source.std if std is None else float(std)
    if not std > 0:
        raise DataFormatError(f"std must be positive, got {std}")
    split = {}
    for part, k in (("train", train_subset), ("test", test_subset)):
        images, labels = read_idx(files[f"{part}_images"]), read_idx(files[f"{part}_labels"])
        _check_arrays(images, labels, files[f"{part}_labels"], len(source.class_names))
        images = _first(images, k, f"{part}_subset")
        x = torch.from_numpy(images.astype(np.float32) / 255.0)
        split[part] = (
            ((x - mean) / std).unsqueeze(1),
            torch.from_numpy(_first(labels, k, f"{part}_subset").astype(np.int64)),
        )
    return ImageDataset(
        name=source.name,
        x_train=split["train"][0],
        y_train=split["train"][1],
        x_test=split["test"][0],
        y_test=split["test"][1],
        num_classes=len(source.class_names),
        class_names=source.class_names,
    )


def _check_arrays(images: np.ndarray, labels: np.ndarray, where: Path, classes: int) -> None:
    """Check an images/labels pair; ``where`` is the labels file."""
    if images.dtype != np.uint8 or images.ndim != 3:
        raise DataFormatError(
            f"{where}: images must be uint8 (N, H, W), got {images.dtype} {images.shape}"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1 or len(labels) != len(images):
        raise DataFormatError(
            f"{where}: labels {labels.dtype} {labels.shape} do not match images {images.shape}"
        )
    if labels.size and int(labels.max()) >= classes:
        raise DataFormatError(f"{where}: label {int(labels.max())} outside [0, {classes})")


@register_dataset("mnist")
def load_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    *,
    train_subset: int | None = None,
    test_subset: int | None = None,
    mean: float | None = None,
    std: float | None = None,
) -> ImageDataset:
    """MNIST as (N, 1, 28, 28) float32: pixels in [0, 1] standardised with `mean` and
    `std` (default 0.1307, 0.3081)."""
    return _load(MNIST, data_dir, download, train_subset, test_subset, mean, std)


@register_dataset("fashion-mnist")
def load_fashion_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    *,
    train_subset: int | None = None,
    test_subset: int | None = None,
    mean: float | None = None,
    std: float | None = None,
) -> ImageDataset:
    """Fashion-MNIST as (N, 1, 28, 28) float32: pixels in [0, 1] standardised with
    `mean` and `std` (default 0.2860, 0.3530; the authors' zoos use 0.5, 0.5)."""
    return _load(FASHION_MNIST, data_dir, download, train_subset, test_subset, mean, std)
