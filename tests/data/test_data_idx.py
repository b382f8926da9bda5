from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from hyperrep._errors import DataFormatError
from hyperrep.data.idx import decode_idx, read_idx, read_idx_bytes


def idx_bytes(arr: np.ndarray, code: int, dtype: str) -> bytes:
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(dtype).tobytes()


IMAGES = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)


@pytest.mark.parametrize("compress", [False, True])
def test_read_uint8_raw_and_gzip(tmp_path: Path, compress: bool) -> None:
    data = idx_bytes(IMAGES, 0x08, ">u1")
    # the reader detects gzip by content, so the file names deliberately lie
    path = tmp_path / ("images.idx" if compress else "images.idx.gz")
    path.write_bytes(gzip.compress(data) if compress else data)
    arr = read_idx(path)
    assert arr.dtype == np.uint8 and arr.shape == (2, 3, 4)
    np.testing.assert_array_equal(arr, IMAGES)


@pytest.mark.parametrize(
    ("code", "dtype", "native"),
    [
        (0x09, ">i1", np.int8),
        (0x0B, ">i2", np.int16),
        (0x0C, ">i4", np.int32),
        (0x0D, ">f4", np.float32),
        (0x0E, ">f8", np.float64),
    ],
)
def test_other_dtypes_big_endian(code: int, dtype: str, native: type) -> None:
    values = np.array([-3, 0, 1, 100], dtype=native)
    arr = decode_idx(idx_bytes(values, code, dtype))
    assert arr.dtype == np.dtype(native) and arr.dtype.isnative
    np.testing.assert_array_equal(arr, values)


def test_labels_1d() -> None:
    labels = np.array([7, 2, 1, 0, 4], dtype=np.uint8)
    np.testing.assert_array_equal(read_idx_bytes(idx_bytes(labels, 0x08, ">u1")), labels)


GOOD = idx_bytes(IMAGES, 0x08, ">u1")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x00", "only 2 bytes"),
        (b"\x01" + GOOD[1:], "bad IDX magic"),
        (GOOD[:2] + b"\x07" + GOOD[3:], "unknown IDX type code 0x07"),
        (GOOD[:3] + b"\x00" + GOOD[4:], "0 dimensions"),
        (GOOD[:10], "truncated IDX header"),
        (GOOD[:-1], "truncated IDX file"),
        (GOOD + b"\x00", "trailing bytes"),
        (gzip.compress(GOOD)[:-12], "corrupt gzip"),
        (gzip.compress(GOOD[:-5]), "truncated IDX file"),
    ],
)
def test_corrupt_files_raise_value_error(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "bad"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_gzip_bomb_is_refused_without_expanding_it() -> None:
    """A small gzip that would expand far past its IDX header's size stops one byte after
    the declared size; a header declaring more than the limit is refused outright."""
    header = bytes([0, 0, 8, 1]) + np.array([1000], ">u4").tobytes()
    bomb = gzip.compress(header + bytes(50_000_000))
    assert len(bomb) < 100_000
    with pytest.raises(DataFormatError, match="trailing bytes"):
        read_idx_bytes(bomb, "bomb")
    huge = bytes([0, 0, 8, 3]) + np.array([60000, 28000, 28], ">u4").tobytes()
    with pytest.raises(DataFormatError, match="declares 47,040,000,016 bytes"):
        read_idx_bytes(gzip.compress(huge + bytes(100)), "huge")
