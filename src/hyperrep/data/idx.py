"""Reader for the IDX binary format (MNIST, Fashion-MNIST), gzip-compressed or not."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import numpy as np

from hyperrep._errors import DataFormatError

__all__ = ["GZIP_MAGIC", "decode_idx", "read_idx", "read_idx_bytes"]

GZIP_MAGIC = b"\x1f\x8b"

# IDX type code -> big-endian numpy dtype
_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def decode_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode uncompressed IDX bytes into an array (native byte order)."""
    if len(data) < 4:
        raise DataFormatError(f"{source}: not an IDX file (only {len(data)} bytes)")
    zero0, zero1, code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0:
        raise DataFormatError(f"{source}: bad IDX magic number {data[:4].hex()} (must start 0000)")
    if code not in _DTYPES:
        raise DataFormatError(f"{source}: unknown IDX type code 0x{code:02x}")
    if ndim == 0:
        raise DataFormatError(f"{source}: IDX file declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataFormatError(f"{source}: truncated IDX header ({len(data)} of {header} bytes)")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = _DTYPES[code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        kind = "truncated" if len(data) < expected else "trailing bytes in"
        raise DataFormatError(
            f"{source}: {kind} IDX file: shape {shape} of {dtype.name} needs {expected} bytes, "
            f"found {len(data)}"
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))


MAX_IDX_BYTES = 2**31  # no IDX data set we read comes near 2 GiB


def _gunzip_idx(raw: bytes, source: str) -> bytes:
    """Decompress a gzip stream, never past the size its IDX header declares (a small
    file that would expand to gigabytes is refused after reading its header)."""
    stream = zlib.decompressobj(wbits=31)
    pending = [raw]

    def take(n: int) -> bytes:
        out = stream.decompress(pending[0], n) if n > 0 else b""
        pending[0] = stream.unconsumed_tail
        return out

    declared = None
    try:
        data = take(4)
        if len(data) == 4 and data[:2] == b"\0\0":
            data += take(4 * data[3])
            declared = _declared_size(data, source)
            # one byte past the declared size shows trailing data; a short result, truncation
            data += take(declared - len(data) + 1)
        else:
            data += take(MAX_IDX_BYTES)  # not IDX: decode_idx says why
        take(1)  # reads the end marker and checksum when they follow
    except zlib.error as exc:
        raise DataFormatError(f"{source}: corrupt gzip stream ({exc})") from exc
    if declared is not None and len(data) <= declared and not stream.eof:
        raise DataFormatError(f"{source}: corrupt gzip stream (ends before its end marker)")
    return data


def _declared_size(header: bytes, source: str) -> int:
    """Bytes of the whole IDX file its header declares; refuses absurd sizes."""
    ndim, code = header[3], header[2]
    if len(header) < 4 + 4 * ndim or code not in _DTYPES:
        return len(header)  # decode_idx reports the problem
    shape = np.frombuffer(header, dtype=">u4", count=ndim, offset=4).astype(np.int64)
    size = 4 + 4 * ndim + int(np.prod(shape)) * _DTYPES[code].itemsize
    if size > MAX_IDX_BYTES:
        raise DataFormatError(
            f"{source}: IDX header declares {size:,} bytes, more than the "
            f"{MAX_IDX_BYTES:,} hyperrep reads"
        )
    return size


def read_idx_bytes(raw: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode IDX bytes, gunzipping first if they start with the gzip magic."""
    if raw[:2] == GZIP_MAGIC:
        raw = _gunzip_idx(raw, source)
    return decode_idx(raw, source)


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (raw or gzip, detected by content) into a numpy array."""
    path = Path(path)
    return read_idx_bytes(path.read_bytes(), str(path))
