"""Ray-Tune trial folders (the 2021 authors' zoos and the Model Zoos data set) imported
into the zoo format: ``hyperrep zoo import raytune SRC --out ZOO``.

SRC holds one folder per model (Ray names them like
``NN_tune_trainable_<id>_<n>_<n>_seed=<s>_<date>``) with ``params.json`` (``model::nlin``,
``model::init_type``, ``model::dropout``, ``optim::optimizer``, ``optim::lr``,
``optim::wd``, ``seed``; other keys are kept if they vary, see below), ``result.json``
(one JSON object per line: ``training_iteration``, ``train_loss``, ``train_acc``,
``test_loss``, ``test_acc``) and ``checkpoint_<e>`` or ``checkpoint_<e:06d>`` folders.
A checkpoint folder holds the model's state_dict in a file named ``checkpoints`` (the
Model Zoos layout, beside the optimizer's state in ``optimizer``, which is not read) or
as its only file (Ray's metadata files, ``.tune_metadata``, ``.is_checkpoint`` and other
dot files, are skipped). State_dict keys are ``module_list.{i}.weight`` / ``.bias``
(also accepted inside a ``{"model": ...}`` or ``{"state_dict": ...}`` dict); the indices
may skip numbers (dropout modules hold no parameters): tensors are ordered by index.
Other key names (torchvision's ResNet-18: ``conv1.weight``, ``bn1.weight``,
``layer1.0.conv1.weight``, ..., ``fc.bias``) are taken in the state_dict's order; BatchNorm
running statistics are buffers, not weights, and are left out.

Epoch e is ``checkpoint_e`` and its metrics the result line with ``training_iteration``
e, as the authors' loader (ModelZooDataset, ``checkpoints_to_datasets/dataset_base.py``)
pairs them: the Model Zoos trainer writes the untrained model's test metrics as
iteration 0, with -999 for train loss and accuracy, which become NaN here. Checkpoints
are read with ``torch.load(weights_only=True)``: a file that would run code is refused.
``params.pkl`` and a zoo root's ``dataset.pt`` (pickled images) are never opened.

The architecture is the registered one whose parameter shapes, in order, are the
checkpoints' (CNN-s: ``mnist-cnn`` or ``cnn-s-rgb``; CNN-l: ``cnn-l``; ResNet-18:
``resnet18-cifar10``, ``resnet18-cifar100``, ``resnet18-tinyimagenet``). An epoch without a
checkpoint is flagged ``missing`` (the model keeps its other checkpoints); a model with
non-finite weights is flagged diverged. Scalar
``params.json`` keys outside the seven above whose value differs between trials (e.g.
``training::batchsize``, ``optim::momentum``) become property columns named after the key
with ``::`` replaced by ``_``.
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
from hyperrep.zoo._importers._common import IMPORTERS, health_columns, write_imported
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


_STATE_FILE = "checkpoints"  # the Model Zoos name; "optimizer" beside it is not read
_NOT_STATE = {"optimizer", "params.json", "params.pkl", "result.json", "progress.csv"}
_MISSING = -999.0  # the Model Zoos trainer's train metrics for the untrained model


def _state_file(folder: Path) -> Path:
    named = folder / _STATE_FILE
    if named.is_file():
        return named
    files = [
        f
        for f in sorted(folder.iterdir())
        if f.is_file() and not f.name.startswith(".") and f.name not in _NOT_STATE
    ]
    if len(files) != 1:
        names = ", ".join(f.name for f in files) or "none"
        raise HyperrepError(
            f"{folder}: expected a file named {_STATE_FILE!r} or one checkpoint file, "
            f"found {len(files)} ({names})"
        )
    return files[0]


def _load_state(folder: Path) -> dict[str, torch.Tensor]:
    path = _state_file(folder)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        reason = str(err).splitlines()[0][:160] if str(err) else type(err).__name__
        raise HyperrepError(
            f"{path}: not a checkpoint we can load without running code ({reason})"
        ) from None
    for key in ("model", "state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise HyperrepError(f"{path}: not a state_dict")
    return state


_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


def _ordered(state: dict[str, torch.Tensor], where: Path) -> list[torch.Tensor]:
    """The parameter tensors, BatchNorm buffers left out: by module_list index, weight
    before bias (the authors' CNNs and MLPs), or else in the state_dict's own order
    (torchvision's ResNet-18 names: conv1, bn1, layer1.0.conv1, ..., fc)."""
    params = {k: v for k, v in state.items() if not k.endswith(_BUFFERS)}
    matches = {k: _PARAM.match(k) for k in params}
    if all(matches.values()):
        keyed = [((int(m.group(1)), m.group(2) != "weight"), params[k]) for k, m in matches.items()]
        return [t for _, t in sorted(keyed, key=lambda kv: kv[0])]
    if any(matches.values()):
        odd = next(k for k, m in matches.items() if m is None)
        raise HyperrepError(f"{where}: unexpected state_dict entry {odd!r}")
    return list(params.values())


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


def _metric(line: dict, key: str) -> float:
    try:
        value = float(line.get(key, np.nan))
    except (TypeError, ValueError):
        return float("nan")
    return float("nan") if value == _MISSING else value


_DATASETS = (
    "tiny-imagenet",
    "cifar100",
    "cifar10",
    "f_mnist",
    "fashion",
    "mnist",
    "svhn",
    "usps",
    "stl10",
    "stl-10",
    "eurosat",
)


def _dataset_name(params: dict, source: Path) -> str:
    """The data set's name, read from the path of ``dataset::dump`` (a file named after it,
    or the Model Zoos' ``zoos/<DATASET>/...`` folders) or else from the source's path."""
    dump = Path(str(params.get("dataset::dump", "")))
    if dump.stem and dump.stem != "dataset":
        return dump.stem
    for part in (*dump.parts, *source.resolve().parts):
        for name in _DATASETS:
            if name in part.lower():
                return {"f_mnist": "fashion", "stl-10": "stl10"}.get(name, name)
    return "unknown"


def _varying_keys(params: list[dict]) -> list[str]:
    """Scalar params.json keys, outside the named hyperparameters, that differ between
    trials."""
    fixed = {*_HYPER.values(), "seed"}
    keys = sorted({k for p in params for k in p} - fixed)
    out = []
    for key in keys:
        values = [p.get(key) for p in params]
        scalar = all(v is None or isinstance(v, (int, float, str, bool)) for v in values)
        if scalar and len({json.dumps(v) for v in values}) > 1:
            out.append(key)
    return out


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
    extra = _varying_keys(params)
    dataset = _dataset_name(params[0], source)
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
            frame[key] = [_metric(results.get(e, {}), key) for e in range(len(block))]
        for key in extra:
            if key.replace("::", "_") not in frame.columns:
                frame[key.replace("::", "_")] = p.get(key)
        frame["ggap"] = frame["train_acc"] - frame["test_acc"]
        for key, value in health_columns(block, present).items():
            frame[key] = value
        return block, frame

    return write_imported(out, config, arch, len(models), model, progress)
