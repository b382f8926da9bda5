"""Integrity of a zoo on disk: the weight file's header and size, per-chunk checksums,
readable property tables, and no empty or non-finite checkpoints of healthy models.

Cheap checks (header, size) run whenever a zoo is opened; the deep ones (checksums,
values) run in `hyperrep zoo verify` and before `zoo create` resumes or grows a zoo.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from hyperrep._errors import HyperrepError
from hyperrep.arch import Architecture

_NPY_MAGIC = b"\x93NUMPY"


def check_weights_file(path: Path, shape: tuple[int, ...]) -> None:
    """Refuse a weight file whose header or size does not match `shape` float32."""
    try:
        with open(path, "rb") as fh:
            if fh.read(6) != _NPY_MAGIC:
                raise HyperrepError(f"{path} is not a .npy array file")
            fh.seek(0)
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                header = np.lib.format.read_array_header_1_0(fh)
            elif version == (2, 0):
                header = np.lib.format.read_array_header_2_0(fh)
            else:
                raise HyperrepError(f"{path} has an unsupported .npy version {version}")
            offset = fh.tell()
        size = path.stat().st_size
    except FileNotFoundError:
        raise HyperrepError(f"{path} is missing: the zoo is damaged") from None
    except OSError as err:
        raise HyperrepError(f"cannot read {path}: {err.strerror or err}") from err
    except ValueError as err:  # a malformed header
        raise HyperrepError(f"{path} has a damaged header: {err}") from None
    stored_shape, fortran, dtype = header
    if dtype != np.dtype("<f4") or fortran or tuple(stored_shape) != tuple(shape):
        raise HyperrepError(
            f"{path} holds {tuple(stored_shape)} {dtype}, zoo.json says {tuple(shape)} float32"
        )
    expected = offset + int(np.prod(shape)) * 4
    if size != expected:
        raise HyperrepError(
            f"{path} is {size:,} bytes, {expected:,} expected: the file was "
            "truncated or extended; the zoo is damaged"
        )


def architecture_digest(arch: Architecture) -> str:
    """BLAKE2b of an architecture's description (`to_dict`, so older spellings of the
    same network in zoo.json give the same digest)."""
    text = json.dumps(arch.to_dict(), sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def chunk_checksum(weights: np.ndarray, rows: list[int]) -> str:
    """BLAKE2b of the weights (all epochs) of a chunk's models, in row order."""
    digest = hashlib.blake2b(digest_size=16)
    for row in rows:
        digest.update(np.ascontiguousarray(weights[row]).tobytes())
    return digest.hexdigest()


def verify_chunks(
    weights: np.ndarray,
    chunks: list[list[int]],
    done: list[int],
    checksums: dict[str, str],
    read_table: Callable[[int], pd.DataFrame],
    epochs: int,
) -> list[str]:
    """Problems found in the finished chunks: checksums, property tables, and
    non-finite or all-zero checkpoints of models not flagged diverged (all-zero ones an
    import flagged `missing` excepted)."""
    problems = []
    for chunk in done:
        rows = chunks[chunk]
        name = f"chunk {chunk}"
        try:
            table: pd.DataFrame = read_table(chunk)
        except HyperrepError as err:
            problems.append(str(err))
            table = None
        stored = checksums.get(str(chunk))
        if stored is not None and stored != chunk_checksum(weights, rows):
            problems.append(
                f"{name} (models {rows[0]}-{rows[-1]}): weights differ from the "
                "checksum recorded when the chunk finished"
            )
        diverged, missing = set(), set()
        if table is not None and "diverged" in table:
            diverged = set(table.loc[table["diverged"], "model_index"].astype(int))
        if table is not None and "missing" in table:
            gaps = table.loc[table["missing"].astype(bool), ["model_index", "epoch"]]
            missing = set(map(tuple, gaps.astype(int).to_numpy().tolist()))
        for row in rows:
            if row in diverged:
                continue
            block = np.asarray(weights[row])
            if not np.isfinite(block).all():
                problems.append(f"model {row}: non-finite weights, yet not flagged diverged")
            empty = [e for e in np.flatnonzero(~block.any(axis=1)) if (row, e) not in missing]
            if len(empty):
                problems.append(
                    f"model {row}: all-zero weights at epoch(s) {', '.join(map(str, empty[:5]))}"
                )
    return problems


_INTEGER_COLUMNS = ("model_index", "model_id", "epoch", "seed")
_NUMBER_COLUMNS = ("train_loss", "train_acc", "test_loss", "test_acc", "ggap")


def table_problems(table: pd.DataFrame, rows: list[int], epochs: int) -> list[str]:
    """What is wrong with a chunk's property table (columns, types, models, epochs), as
    phrases that follow "the properties ..."; empty if nothing."""
    missing = [c for c in (*_INTEGER_COLUMNS, *_NUMBER_COLUMNS, "diverged") if c not in table]
    if missing:
        return [f"lack column(s) {', '.join(missing)}"]
    wrong = [c for c in _INTEGER_COLUMNS if not pd.api.types.is_integer_dtype(table[c])]
    wrong += [c for c in _NUMBER_COLUMNS if not pd.api.types.is_numeric_dtype(table[c])]
    wrong += [] if pd.api.types.is_bool_dtype(table["diverged"]) else ["diverged"]
    if wrong:
        return [f"have column(s) of the wrong type: {', '.join(wrong)}"]
    if len(table) != len(rows) * (epochs + 1):
        return [f"hold {len(table)} rows, {len(rows) * (epochs + 1)} expected"]
    expected = pd.MultiIndex.from_product([sorted(rows), range(epochs + 1)])
    stored = pd.MultiIndex.from_arrays([table["model_index"], table["epoch"]]).sort_values()
    if not stored.equals(expected):
        return [f"do not list models {rows[0]}-{rows[-1]} at epochs 0-{epochs} once each"]
    return []
