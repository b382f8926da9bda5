"""Fitted probes saved next to a report (safetensors + JSON, no pickle), and applied to
checkpoints a user brings: `hyperrep predict`.

``probes.safetensors`` holds, per linear probe (representation and task), the
standardisation (``mean``, ``std``) and the coefficients (``coef``: (features,) for a
ridge probe, (classes, features) for a softmax probe, with ``intercept``), and per
gradient-boosted probe its LightGBM model in LightGBM's text format as UTF-8 bytes
(``model``, uint8). ``probes.json`` (version 2) holds the architecture, the
representations (with the run folder of each learned one, and under ``permutations`` the
number of input permutations each averaged latent is the mean over; absent means 1),
and per probe its family (``linear`` or ``gbm``; version 1 files hold linear probes
only), task, kind, classes and test-split error: ``rmse`` for regression (the band a
prediction is given with), ``accuracy`` for classification.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.numpy import load_file, save_file

from hyperrep._errors import HyperrepError
from hyperrep._io import atomic_path, read_json, write_json_atomic
from hyperrep.arch import Architecture
from hyperrep.probes._evaluate import Prediction, probe_families
from hyperrep.probes._gbm import GbmProbe
from hyperrep.probes._linear import RidgeProbe, SoftmaxProbe

BUNDLE_JSON = "probes.json"
BUNDLE_TENSORS = "probes.safetensors"


@dataclass
class LinearProbe:
    """A probe as plain arrays: standardise, then a linear map (argmax over classes)."""

    representation: str
    task: str
    column: str
    kind: str  # "regression" or "classification"
    mean: np.ndarray
    std: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    classes: list[str] | None
    error: dict[str, float]
    family: str = "linear"

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, np.float64) - self.mean) / self.std
        if self.kind == "regression":
            return z @ self.coef + self.intercept[0]
        return np.asarray(self.classes, dtype=object)[
            np.argmax(z @ self.coef.T + self.intercept, axis=1)
        ]


@dataclass
class TreeProbe:
    """A gradient-boosted probe as saved: LightGBM's text model."""

    representation: str
    task: str
    column: str
    kind: str
    model: str
    classes: list | None
    error: dict[str, float]
    family: str = "gbm"

    @cached_property
    def _probe(self) -> GbmProbe:
        return GbmProbe(self.model, self.kind, self.classes, 0, 0)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self._probe.predict(x)


def _error(p: Prediction) -> dict[str, float]:
    if p.task.kind == "regression":
        return {"rmse": float(np.sqrt(np.mean((p.y_true - p.y_pred) ** 2))), **p.scores}
    return dict(p.scores)


def _from_fitted(p: Prediction) -> LinearProbe | TreeProbe:
    probe = p.probe
    if isinstance(probe, GbmProbe):
        return TreeProbe(
            p.representation,
            p.task.name,
            p.task.column,
            p.task.kind,
            probe.model,
            probe.classes,
            _error(p),
        )
    if isinstance(probe, RidgeProbe):
        coef, intercept, classes = probe.coef, np.array([probe.intercept]), None
    elif isinstance(probe, SoftmaxProbe):
        model = probe.model
        coef, intercept = model.coef_, model.intercept_
        classes = [str(c) for c in model.classes_]
        if len(classes) == 2:  # sklearn's binary form: one row for the second class
            coef, intercept = np.vstack([-coef, coef]) / 2, np.array([-1, 1]) * intercept / 2
    else:
        raise HyperrepError(f"cannot save a probe of type {type(probe).__name__}")
    st = probe.standardizer
    return LinearProbe(
        p.representation,
        p.task.name,
        p.task.column,
        p.task.kind,
        np.asarray(st.mean, np.float64),
        np.asarray(st.std, np.float64),
        np.asarray(coef, np.float64),
        np.asarray(intercept, np.float64),
        classes,
        _error(p),
    )


@dataclass
class ProbeBundle:
    """A report's fitted probes, with what is needed to compute their inputs."""

    architecture: Architecture
    runs: dict[str, str]  # learned representation -> run folder
    probes: list[LinearProbe | TreeProbe]
    permutations: dict[str, int]  # averaged latents: representation -> permutations


def save_bundle(
    out: Path,
    predictions: Sequence[Prediction],
    arch: Architecture,
    runs: dict[str, str],
    permutations: dict[str, int] | None = None,
) -> None:
    """Save the in-distribution probes of `predictions`; `runs` maps a learned
    representation's column name to its run folder, `permutations` an averaged latent's
    column name to its number of input permutations."""
    probes = [_from_fitted(p) for p in predictions if p.domain == "id" and p.probe is not None]
    tensors, entries = {}, []
    for i, probe in enumerate(probes):
        if isinstance(probe, TreeProbe):
            tensors[f"{i}.model"] = np.frombuffer(probe.model.encode(), np.uint8).copy()
        else:
            for name in ("mean", "std", "coef", "intercept"):
                tensors[f"{i}.{name}"] = np.ascontiguousarray(getattr(probe, name))
        entries.append(
            {
                "representation": probe.representation,
                "family": probe.family,
                "task": probe.task,
                "column": probe.column,
                "kind": probe.kind,
                "classes": probe.classes,
                "error": probe.error,
            }
        )
    with atomic_path(out / BUNDLE_TENSORS) as tmp:
        save_file(tensors, str(tmp))
    write_json_atomic(
        out / BUNDLE_JSON,
        {
            "format": "hyperrep-probes",
            "version": 2,
            "architecture": arch.to_dict(),
            "runs": runs,
            "permutations": permutations or {},
            "probes": entries,
        },
    )


def _loaded(i: int, entry: dict, tensors: dict[str, np.ndarray]) -> LinearProbe | TreeProbe:
    head = (entry["representation"], entry["task"], entry["column"], entry["kind"])
    if entry.get("family", "linear") == "gbm":
        model = tensors[f"{i}.model"].tobytes().decode()
        return TreeProbe(*head, model, entry["classes"], entry["error"])
    arrays = (tensors[f"{i}.{n}"] for n in ("mean", "std", "coef", "intercept"))
    return LinearProbe(*head, *arrays, entry["classes"], entry["error"])


def load_bundle(folder: str | Path) -> ProbeBundle:
    """The probes saved in a report folder."""
    folder = Path(folder)
    try:
        meta = read_json(folder / BUNDLE_JSON)
        tensors = load_file(str(folder / BUNDLE_TENSORS))
        arch = Architecture.from_dict(meta["architecture"])
        probes = [_loaded(i, e, tensors) for i, e in enumerate(meta["probes"])]
        permutations = {str(k): int(v) for k, v in meta.get("permutations", {}).items()}
        return ProbeBundle(arch, dict(meta["runs"]), probes, permutations)
    except HyperrepError:
        raise
    except Exception as err:  # missing, truncated or foreign files
        raise HyperrepError(
            f"{folder} holds no readable probe bundle ({type(err).__name__}: "
            f"{str(err)[:100]}); run `hyperrep evaluate` into it first"
        ) from None


def load_checkpoint_vector(path: Path, arch: Architecture) -> np.ndarray:
    """One model's flat weight vector from a state_dict file (PyTorch, loaded with
    weights_only=True, or safetensors) whose keys and shapes are the architecture's."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file as load_torch

            state = load_torch(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # unpickling refused, truncated, not a checkpoint
        reason = str(err).splitlines()[0][:160] if str(err) else type(err).__name__
        raise HyperrepError(
            f"{path}: not a plain state_dict we can load without running code ({reason})"
        ) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise HyperrepError(f"{path}: not a state_dict (a mapping of names to tensors)")
    expected = {s.name: s.shape for s in arch.param_slots}
    if set(state) != set(expected):
        missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
        raise HyperrepError(
            f"{path}: not a {arch.name} state_dict (missing {missing[:4]}, unexpected {extra[:4]})"
        )
    parts = []
    for slot in arch.param_slots:
        tensor = state[slot.name]
        if tuple(tensor.shape) != slot.shape:
            raise HyperrepError(
                f"{path}: {slot.name} has shape {tuple(tensor.shape)}, "
                f"{arch.name} needs {slot.shape}"
            )
        parts.append(tensor.detach().to(torch.float32).reshape(-1))
    vector = torch.cat(parts).numpy()
    if not np.isfinite(vector).all():
        raise HyperrepError(f"{path}: holds NaN or infinite weights")
    return vector


def checkpoint_files(paths: Sequence[str | Path]) -> list[Path]:
    """The checkpoint files named, with folders expanded to their .pt/.pth/.safetensors."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix in (".pt", ".pth", ".safetensors"))
            if not found:
                raise HyperrepError(f"{p} holds no .pt, .pth or .safetensors files")
            files += found
        elif p.is_file():
            files.append(p)
        else:
            raise HyperrepError(f"{p} does not exist")
    return files


def predict_checkpoints(
    folder: str | Path,
    paths: Sequence[str | Path],
    *,
    representation: str | None = None,
    family: str = "linear",
) -> tuple[str, list[dict[str, Any]]]:
    """Predicted characteristics of each checkpoint file by the probes of one family
    (linear or gbm), with the probe's test-split RMSE as the band of each regression.
    Where the report left out checkpoints above a weight limit, each row also says
    whether this checkpoint exceeds it (`outside_weight_limit`: the probes never saw
    such a model). Returns the representation used and the rows."""
    from hyperrep.representation import load_run
    from hyperrep.weights import FEATURIZERS, featurizer

    (family,) = probe_families(family)
    bundle = load_bundle(folder)
    arch, runs = bundle.architecture, bundle.runs
    probes = [p for p in bundle.probes if p.family == family]
    if not probes:
        saved = ", ".join(sorted({p.family for p in bundle.probes}))
        raise HyperrepError(
            f"no {family} probes in {folder} (saved: {saved}); run `hyperrep evaluate` "
            f"with --probes {family}"
        )
    names = list(dict.fromkeys(p.representation for p in probes))
    chosen = representation or next((n for n in names if n in runs), "s(W)")
    if chosen not in names:
        raise HyperrepError(f"no probes for {chosen!r} in {folder}; saved: {', '.join(names)}")
    files = checkpoint_files(paths)
    weights = np.stack([load_checkpoint_vector(f, arch) for f in files])
    if chosen in FEATURIZERS:
        x = featurizer(chosen)(arch, weights)
    else:
        run = load_run(runs[chosen])
        x = run.encode(
            torch.from_numpy(weights), permutations=bundle.permutations.get(chosen, 1)
        ).numpy()
    rows: list[dict[str, Any]] = [{"checkpoint": str(f)} for f in files]
    limit = _report_weight_limit(folder)
    if limit is not None:
        for row, vector in zip(rows, weights, strict=True):
            row["outside_weight_limit"] = bool(np.abs(vector).max() > limit)
    for probe in (p for p in probes if p.representation == chosen):
        values = probe.predict(x)
        for row, value in zip(rows, values, strict=True):
            row[probe.task] = value if probe.kind == "classification" else float(value)
            if probe.kind == "regression":
                row[f"{probe.task} ±"] = probe.error["rmse"]
    return chosen, rows


def _report_weight_limit(folder: str | Path) -> float | None:
    """The weight limit the report's data set had (None: none, or a report from before)."""
    path = Path(folder) / "results.json"
    if not path.is_file():
        return None
    limit = read_json(path).get("weight_limit")
    return float(limit) if limit is not None else None
