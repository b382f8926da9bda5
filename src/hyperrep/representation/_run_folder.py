"""The run folder: its file names, its description, and the saving and reading of what
training writes, shared by training (`_train.py`) and reading (`_embed.py`).

A run folder holds ``run.json`` (zoo, architecture, settings), ``model.safetensors``
(the best model and the weight normaliser), ``last.safetensors`` (everything needed to
resume after the last finished epoch, with the history in its metadata: the commit
point of an epoch) and ``history.json`` (a readable copy of the metrics per epoch).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from hyperrep._io import atomic_path, write_json_atomic

RUN_FORMAT = "hyperrep-run"
RUN_FILE = "run.json"
MODEL_FILE = "model.safetensors"
LAST_FILE = "last.safetensors"
HISTORY_FILE = "history.json"


def save_tensors(
    tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str] | None = None
) -> None:
    """Write `tensors` to `path` as safetensors, atomically."""
    with atomic_path(path) as tmp:
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp), metadata=metadata)


def read_description(folder: Path) -> dict[str, Any]:
    """The parsed ``run.json`` of `folder` (OSError / ValueError if unreadable)."""
    return json.loads((folder / RUN_FILE).read_text())


def write_description(folder: Path, meta: dict[str, Any]) -> None:
    write_json_atomic(folder / RUN_FILE, meta)


def save_epoch(
    folder: Path,
    state: dict[str, torch.Tensor],
    history: list[dict[str, float]],
    best_model: dict[str, torch.Tensor] | None = None,
) -> None:
    """Commit an epoch: the best model first (if this epoch is the best), then the resume
    state with the history, then the readable history."""
    if best_model is not None:
        save_tensors(best_model, folder / MODEL_FILE)
    save_tensors(state, folder / LAST_FILE, {"history": json.dumps(history)})
    write_json_atomic(folder / HISTORY_FILE, history)


def load_last_epoch(folder: Path) -> tuple[dict[str, torch.Tensor], list[dict]] | None:
    """The resume state and history of the last committed epoch, or None before the first."""
    last = folder / LAST_FILE
    if not last.is_file():
        return None
    with safe_open(str(last), "pt") as handle:
        history = json.loads(handle.metadata()["history"])
    return load_file(str(last)), history


def write_history(folder: Path, history: list[dict[str, float]]) -> None:
    write_json_atomic(folder / HISTORY_FILE, history)


def load_model_tensors(folder: Path) -> dict[str, torch.Tensor]:
    """The best model's tensors (``model.*`` and ``normalizer.*``)."""
    return load_file(str(folder / MODEL_FILE))
