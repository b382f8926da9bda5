"""Ray-Tune trial folders (the 2021 authors' zoos and the Model Zoos data set) imported
into the zoo format: ``hyperrep zoo import raytune SRC --out ZOO``.

SRC holds one folder per model with ``params.json`` (``model::nlin``,
``model::init_type``, ``model::dropout``, ``optim::optimizer``, ``optim::lr``,
``optim::wd``, ``seed``, ...), ``result.json`` (one JSON object per line:
``training_iteration``, ``train_loss``, ``train_acc``, ``test_loss``, ``test_acc``) and
``checkpoint_<e>`` or ``checkpoint_<e:06d>`` folders, each with one PyTorch file holding
the model's state_dict (``module_list.{i}.weight`` / ``.bias``; also accepted inside a
``{"model": ...}`` or ``{"state_dict": ...}`` dict). Checkpoints are read with
``torch.load(weights_only=True)``: a file that would run code is refused. The
architecture is the registered one whose parameter shapes, in order, are the
checkpoints'; epoch e is ``checkpoint_e`` and its metrics the result line with
``training_iteration`` e. A model without a checkpoint for some epoch, or with
non-finite weights, is flagged diverged.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from hyperrep._errors import HyperrepError
from hyperrep.arch import Architecture, create_architecture, list_architectures
from hyperrep.zoo._config import ZooConfig
from hyperrep.zoo._importers._common import IMPORTERS, write_imported
from hyperrep.zoo._zoo import Zoo

_CHECKPOINT = re.compile(r"checkpoint_(\d+)$")
_PARAM = re.compile(r"(?:.*\.)?module_list\.(\d+)\.(weight|bias)$")
_HYPER = {
    "init": "model::init_type",
    "activation": "model::nlin",
    "dropout": "model::dropout",
    "optimizer": "optim::optimizer",
    "lr": "optim::lr",
    "weight_decay": "optim::wd",
}


def _load_state(folder: Path) -> dict[str, torch.Tensor]:
    files = [f for f in sorted(folder.iterdir()) if f.is_file()]
    if len(files) != 1:
        raise HyperrepError(f"{folder}: expected one checkpoint file, found {len(files)}")
    try:
        state = torch.load(files[0], map_location="cpu", weights_only=True)
    except Exception as err:
        reason = str(err).splitlines()[0][:160] if str(err) else type(err).__name__
        raise HyperrepError(
            f"{files[0]}: not a checkpoint we can load without running code ({reason})"
        ) from None
    for key in ("model", "state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise HyperrepError(f"{files[0]}: not a state_dict")
    return state


def _ordered(state: dict[str, torch.Tensor], where: Path) -> list[torch.Tensor]:
    """The parameter tensors by module_list index, weight before bias."""
    keyed = []
    for name, tensor in state.items():
        match = _PARAM.match(name)
        if match is None:
            if name.endswith(("running_mean", "running_var", "num_batches_tracked")):
                continue
            raise HyperrepError(f"{where}: unexpected state_dict entry {name!r}")
        keyed.append(((int(match.group(1)), match.group(2) != "weight"), tensor))
    return [t for _, t in sorted(keyed, key=lambda kv: kv[0])]


def _matching_architecture(shapes: list[tuple[int, ...]], where: Path) -> Architecture:
    found = [
        a
        for a in map(create_architecture, list_architectures())
        if [s.shape for s in a.param_slots] == shapes
    ]
    if len(found) != 1:
        how_many = "no" if not found else "more than one"
        raise HyperrepError(
            f"{where}: {how_many} registered architecture has these "
            f"parameter shapes: {shapes[:4]}..."
        )
    return found[0]


def _checkpoints(model: Path) -> dict[int, Path]:
    out = {}
    for sub in model.iterdir():
        match = _CHECKPOINT.match(sub.name)
        if match and sub.is_dir():
            out[int(match.group(1))] = sub
    return out


def _results(model: Path) -> dict[int, dict]:
    try:
        lines = (model / "result.json").read_text().splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        return {int(r["training_iteration"]): r for r in rows}
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise HyperrepError(f"{model / 'result.json'} is unreadable: {str(err)[:100]}") from None


@IMPORTERS.register("raytune")
def import_raytune(source: Path, out: Path, progress: bool = True) -> Zoo:
    """Ray-Tune trial folders (see the module docstring)."""
    models = (
        sorted(p for p in source.iterdir() if (p / "params.json").is_file())
        if source.is_dir()
        else []
    )
    if not models:
        raise HyperrepError(f"{source} holds no trial folders (folders with params.json)")
    params = []
    for m in models:
        try:
            params.append(json.loads((m / "params.json").read_text()))
        except (OSError, ValueError) as err:
            raise HyperrepError(f"{m / 'params.json'} is unreadable: {err}") from None
    missing = sorted({k for p in params for k in (*_HYPER.values(), "seed") if k not in p})
    if missing:
        raise HyperrepError(f"params.json lacks {', '.join(missing)} in some trials")
    epochs = sorted({e for m in models for e in _checkpoints(m)})
    if not epochs or epochs[0] != 0:
        raise HyperrepError(f"{source}: no checkpoint_0 (the initialisation) in any trial")
    first = models[0] / _checkpoints(models[0])[epochs[0]].name
    shapes = [tuple(t.shape) for t in _ordered(_load_state(first), first)]
    arch = _matching_architecture(shapes, first)
    grid = {key: tuple(sorted({p[col] for p in params}, key=str)) for key, col in _HYPER.items()}
    dataset = Path(str(params[0].get("dataset::dump", "unknown"))).stem
    config = ZooConfig(
        f"raytune-{source.name}",
        arch.name,
        dataset,
        epochs[-1],
        1,
        grid,
        seeds=(0,),
        init_scheme="imported",
        train_metrics="running",
        source=f"Ray-Tune trials ({source.name})",
    )

    def model(index: int) -> tuple[np.ndarray, pd.DataFrame]:
        folder, p = models[index], params[index]
        found, results = _checkpoints(folder), _results(folder)
        block = np.zeros((epochs[-1] + 1, arch.n_params), np.float32)
        present = np.zeros(epochs[-1] + 1, dtype=bool)
        for e, sub in found.items():
            tensors = _ordered(_load_state(sub), sub)
            if [tuple(t.shape) for t in tensors] != shapes:
                raise HyperrepError(f"{sub}: parameter shapes differ from {first}")
            block[e] = torch.cat([t.reshape(-1).float() for t in tensors]).numpy()
            present[e] = True
        finite = np.isfinite(block).all(axis=1) & present
        frame = pd.DataFrame(
            {
                "model_index": np.int64(index),
                "model_id": np.int64(index),
                "epoch": np.arange(len(block), dtype=np.int64),
                "seed": np.int64(p["seed"]),
                "trial": folder.name,
            }
        )
        for key, col in _HYPER.items():
            frame[key] = p[col] if key in ("init", "activation", "optimizer") else float(p[col])
        for key in ("train_loss", "train_acc", "test_loss", "test_acc"):
            frame[key] = [float(results.get(e, {}).get(key, np.nan)) for e in range(len(block))]
        frame["ggap"] = frame["train_acc"] - frame["test_acc"]
        frame["diverged"] = bool(not finite.all())
        frame["diverged_epoch"] = np.int64(int(np.argmin(finite)) if not finite.all() else -1)
        return block, frame

    return write_imported(out, config, arch, len(models), model, progress)
