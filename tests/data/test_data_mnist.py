from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import os
import struct
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch

from hyperrep.data import DataNotFoundError, load_dataset, load_fashion_mnist, load_mnist
from hyperrep.data import mnist as mnist_mod


def write_fake_idx(folder: Path, n_train: int, n_test: int = 3, gz: bool = True) -> Path:
    """A tiny, valid MNIST-layout folder; n_train tells copies apart."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(n_train)
    for part, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
            data = bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
            data += arr.tobytes()
            name = f"{part}-{kind}-ubyte"
            if gz:
                (folder / f"{name}.gz").write_bytes(gzip.compress(data))
            else:
                (folder / name).write_bytes(data)
    return folder


def test_mnist_from_shared_data(shared_data_dir: Path) -> None:
    ds = load_mnist(data_dir=shared_data_dir, download=False)
    assert ds.x_train.shape == (60000, 1, 28, 28) and ds.x_test.shape == (10000, 1, 28, 28)
    assert ds.x_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    assert ds.y_train.min() == 0 and ds.y_train.max() == 9 and ds.y_test.max() == 9
    assert abs(float(ds.x_train.mean())) < 1e-3 and abs(float(ds.x_train.std()) - 1) < 1e-2
    assert ds.class_names == tuple("0123456789")
    raw = gzip.decompress((shared_data_dir / "mnist/train-images-idx3-ubyte.gz").read_bytes())
    assert hashlib.md5(raw).hexdigest() == "6bbc9ace898e44ae57da46a324031adb"


def test_fashion_mnist_via_env_parent(
    shared_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HYPERREP_DATA_DIR", str(shared_data_dir))
    ds = load_dataset("fashion-mnist", download=False, train_subset=500, test_subset=100)
    assert ds.x_train.shape == (500, 1, 28, 28) and len(ds.y_test) == 100
    assert ds.class_names[0] == "T-shirt/top" and ds.num_classes == 10
    pixels = ds.x_train * 0.3530 + 0.2860  # undo the standardisation
    assert float(pixels.min()) >= -1e-6 and float(pixels.max()) <= 1 + 1e-6


def test_data_dir_beats_env_beats_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _isolated: Path
) -> None:
    write_fake_idx(tmp_path / "given" / "mnist", n_train=5)  # parent layout
    write_fake_idx(tmp_path / "env", n_train=6, gz=False)  # folder holding the files
    write_fake_idx(_isolated / "hyperrep" / "mnist", n_train=7)
    monkeypatch.setenv("HYPERREP_DATA_DIR", str(tmp_path / "env"))
    assert len(load_mnist(data_dir=tmp_path / "given", download=False).y_train) == 5
    assert len(load_mnist(download=False).y_train) == 6
    monkeypatch.delenv("HYPERREP_DATA_DIR")
    cached = _isolated / "hyperrep" / "mnist"
    for path in cached.glob("*.gz"):  # the cache trusts only the published files
        monkeypatch.setitem(mnist_mod.MNIST.md5, path.name, mnist_mod._md5(path))
    assert len(load_mnist(download=False).y_train) == 7
    # an incomplete folder is passed over
    (tmp_path / "given" / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    assert len(load_mnist(data_dir=tmp_path / "given", download=False).y_train) == 7


def test_cache_uses_only_published_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _isolated: Path
) -> None:
    """A raw file or a .gz with another checksum in the cache is never read (a changed
    label file there would otherwise be used silently)."""
    cached = _isolated / "hyperrep" / "mnist"
    write_fake_idx(cached, n_train=7)
    with pytest.raises(DataNotFoundError, match="published files only"):
        load_mnist(download=False)
    for path in cached.glob("*.gz"):
        monkeypatch.setitem(mnist_mod.MNIST.md5, path.name, mnist_mod._md5(path))
    write_fake_idx(cached, n_train=9, gz=False)  # raw files beside the published .gz
    assert len(load_mnist(download=False).y_train) == 7
    # in a folder the user names, a published .gz also beats a raw file beside it
    assert len(load_mnist(data_dir=cached, download=False).y_train) == 7


def test_stale_partial_downloads_are_removed(tmp_path: Path) -> None:
    fresh, stale = tmp_path / ".a.gz.1.part", tmp_path / ".b.gz.2.part"
    fresh.write_bytes(b"x")
    stale.write_bytes(b"x")
    os.utime(stale, (0, 0))
    mnist_mod._remove_stale_parts(tmp_path)
    assert fresh.exists() and not stale.exists()


def test_other_datasets_folder_is_not_used(tmp_path: Path) -> None:
    write_fake_idx(tmp_path / "mnist", n_train=5)
    with pytest.raises(DataNotFoundError, match="fashion-mnist data not found"):
        load_fashion_mnist(data_dir=tmp_path / "mnist", download=False)


def test_missing_files_message(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError) as info:
        load_mnist(data_dir=tmp_path / "nowhere", download=False)
    msg = str(info.value)
    assert "\n" not in msg and isinstance(info.value, RuntimeError)
    for needed in mnist_mod.IDX_FILES.values():
        assert needed in msg
    for hint in ("--data-dir", "HYPERREP_DATA_DIR", str(tmp_path / "nowhere"), "hyperrep/mnist"):
        assert hint in msg
    assert "download disabled" in msg


def test_download_failure_is_data_not_found(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="download failed.*network disabled"):
        load_mnist(data_dir=tmp_path)


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A fake urlopen serving small synthetic .gz files (MNIST's checksums set to theirs).

    The first mirror fails for one file. Returns the list of URLs requested.
    """
    source = write_fake_idx(tmp_path / "served", n_train=120, n_test=60)
    files = {p.name: p.read_bytes() for p in sorted(source.glob("*.gz"))}
    md5 = {name: hashlib.md5(files[name]).hexdigest() for name in mnist_mod.MNIST.md5}
    monkeypatch.setattr(mnist_mod, "MNIST", dataclasses.replace(mnist_mod.MNIST, md5=md5))
    calls: list[str] = []

    def fake_urlopen(url: str, timeout: float | None = None) -> io.BytesIO:
        calls.append(url)
        if url.startswith(mnist_mod.MNIST.mirrors[0]) and "t10k-labels" in url:
            raise URLError("first mirror down")
        return io.BytesIO(files[url.rsplit("/", 1)[1]])

    monkeypatch.setattr(mnist_mod, "urlopen", fake_urlopen)
    return calls


def test_download_into_cache(served: list[str], _isolated: Path) -> None:
    ds = load_mnist(train_subset=100, test_subset=50)
    assert ds.x_train.shape == (100, 1, 28, 28)
    cache = _isolated / "hyperrep" / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(mnist_mod.MNIST.md5)
    assert served[0] == "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz"
    assert any(c.startswith("http://yann.lecun.com/") for c in served)  # fell back
    n_calls = len(served)
    load_mnist(download=False, train_subset=1, test_subset=1)  # now found in the cache
    assert len(served) == n_calls


def test_checksum_mismatch_leaves_no_file(
    served: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = dict(mnist_mod.MNIST.md5, **{"train-labels-idx1-ubyte.gz": "0" * 32})
    monkeypatch.setattr(mnist_mod, "MNIST", dataclasses.replace(mnist_mod.MNIST, md5=bad))
    dest = tmp_path / "dl"
    with pytest.raises(DataNotFoundError, match="MD5 mismatch"):
        mnist_mod.download_idx(mnist_mod.MNIST, dest)
    names = sorted(p.name for p in dest.iterdir())
    assert names == ["train-images-idx3-ubyte.gz"]  # verified file kept, no partial/tmp file
