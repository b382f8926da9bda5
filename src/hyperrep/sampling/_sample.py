"""New models from a hyper-representation: latents of the zoo's training models, a
sampler, the decoder; written as state_dict files with a manifest.

A samples folder holds, per sample i, ``sample-<i:04d>.safetensors`` and
``sample-<i:04d>.pt`` (the same state_dict: keys of `hyperrep.arch.to_module`, loadable
with ``torch.load(weights_only=True)``) and ``manifest.json``: format, method, seed,
run, zoo, architecture, activation, the source checkpoints (epochs, percentile and its
accuracy threshold, counts) and per sample its files, latent and, when evaluated, test
accuracy and loss on the zoo's test set, and when fine-tuned its test accuracy after each
epoch (``finetuned_test_acc``, epoch 0 first); ``diversity`` holds `sample_diversity`'s
distances where they were measured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file

from hyperrep._errors import HyperrepError
from hyperrep._io import atomic_path, write_json_atomic
from hyperrep.arch import unflatten_params, vector_to_state_dict
from hyperrep.population import evaluate_population
from hyperrep.representation import TrainedRun
from hyperrep.sampling._samplers import SAMPLERS
from hyperrep.zoo import Zoo, load_checkpoints, load_zoo_data

MANIFEST = "manifest.json"
SOURCE_EPOCHS = 5  # default: the zoo's last five epochs, as late checkpoints
KDE30_PERCENTILE = 70.0
# method -> (sampler, default percentile of test accuracy the source models reach, space
# drawn in). "weights-kde30" is the 2022 paper's B_KDE30 baseline: the same KDE on the
# source checkpoints' weights themselves, no representation involved.
METHODS: dict[str, tuple[str, float | None, str]] = {
    "uniform": ("uniform", None, "latent"),
    "kde": ("kde", None, "latent"),
    "kde30": ("kde", KDE30_PERCENTILE, "latent"),
    "weights-kde30": ("kde", KDE30_PERCENTILE, "weights"),
}


@dataclass
class Samples:
    """Sampled latents, their decoded weights, and where they came from."""

    method: str
    seed: int
    latents: np.ndarray  # (n, L); (n, 0) for a method that draws weights directly
    weights: np.ndarray  # (n, n_params) float32, raw
    activation: str
    source: dict[str, Any]
    test_acc: np.ndarray | None = None
    test_loss: np.ndarray | None = None
    finetuned_acc: np.ndarray | None = None  # (n, epochs + 1), see finetune_samples
    diversity: dict[str, Any] | None = None  # see sample_diversity
    meta: dict[str, Any] = field(default_factory=dict)


def source_checkpoints(
    run: TrainedRun,
    zoo: Zoo,
    *,
    epochs: list[int] | None = None,
    percentile: float | None = None,
    space: str = "latent",
) -> tuple[np.ndarray, dict[str, Any]]:
    """The training split's checkpoints at `epochs` (default: the last five), those at or
    above the `percentile` of their test accuracy if given; their latents (or, with
    space="weights", their raw weights) and a summary."""
    data = load_checkpoints(
        zoo, run.config.train.split_seed, weight_limit=run.config.train.weight_limit
    )
    table = data.table
    last = int(table["epoch"].max())
    chosen = epochs or list(range(max(1, last - SOURCE_EPOCHS + 1), last + 1))
    keep = (table["split"] == "train").to_numpy() & table["epoch"].isin(chosen).to_numpy()
    if not keep.any():
        raise HyperrepError(f"no training checkpoints of {zoo.path} at epochs {chosen}")
    threshold = None
    if percentile is not None:
        if not 0 <= percentile < 100:
            raise HyperrepError(f"--percentile must be in [0, 100), got {percentile}")
        threshold = float(np.percentile(table.loc[keep, "test_acc"], percentile))
        keep &= (table["test_acc"] >= threshold).to_numpy()
    rows = torch.as_tensor(np.flatnonzero(keep))
    weights = data.weights[rows]
    values = weights.numpy() if space == "weights" else run.encode(weights).numpy()
    summary = {
        "epochs": [int(e) for e in chosen],
        "percentile": percentile,
        "test_acc_threshold": threshold,
        "checkpoints": int(len(rows)),
        "models": int(table.loc[keep, "model_id"].nunique()),
    }
    return values.astype(np.float64), summary


def _activation(zoo: Zoo, activation: str | None) -> str:
    if activation is not None:
        return activation
    values = sorted(set(zoo.config.grid.get("activation", ())))
    if len(values) != 1:
        raise HyperrepError(
            f"{zoo.path} varies the activation ({', '.join(values)}); say which the samples "
            "use with --activation"
        )
    return str(values[0])


def sample_models(
    run: TrainedRun,
    zoo: Zoo,
    n: int,
    *,
    method: str = "kde30",
    seed: int = 0,
    epochs: list[int] | None = None,
    percentile: float | None = None,
    activation: str | None = None,
) -> Samples:
    """`n` new models: latents drawn by `method` (uniform, kde, kde30) from the training
    models' latents, decoded by the run, or weights drawn directly from the training
    models' weights (weights-kde30, the B_KDE30 baseline); the same seed gives the same
    models."""
    if method not in METHODS:
        raise HyperrepError(f"unknown sampling method {method!r}; known: {', '.join(METHODS)}")
    if n < 1:
        raise HyperrepError(f"--n must be >= 1, got {n}")
    if not run.arch.same_layout(zoo.architecture):
        raise HyperrepError(f"{run.path} was trained on another architecture than {zoo.path}")
    sampler, default_percentile, space = METHODS[method]
    values, source = source_checkpoints(
        run,
        zoo,
        epochs=epochs,
        percentile=default_percentile if percentile is None else percentile,
        space=space,
    )
    drawn = SAMPLERS.factory(sampler)(values, n, np.random.default_rng(seed))
    if space == "weights":
        weights, latents = drawn.astype(np.float32), np.zeros((n, 0), np.float32)
    else:
        weights = run.decode(drawn).numpy().astype(np.float32)
        latents = drawn.astype(np.float32)
    act = _activation(zoo, activation)
    meta = {"run": str(run.path), "zoo": str(zoo.path)}
    return Samples(method, seed, latents, weights, act, source, meta=meta)


def evaluate_samples(samples: Samples, zoo: Zoo, *, data_dir: str | Path | None = None) -> Samples:
    """The samples' test accuracy and loss on the zoo's test set, as they are (no
    training), filled in."""
    arch = zoo.architecture
    data = load_zoo_data(zoo.config, arch, data_dir, "cpu")
    params = unflatten_params(arch, torch.from_numpy(samples.weights))
    tally = evaluate_population(
        arch, samples.activation, params, data.x_test, data.y_test, data.num_classes
    )
    samples.test_acc, samples.test_loss = tally.accuracy(), tally.loss()
    return samples


def save_samples(samples: Samples, zoo: Zoo, out: str | Path) -> Path:
    """Write the samples' state_dict files and manifest into folder `out`."""
    out = Path(out)
    foreign = out.exists() and (
        not out.is_dir() or (any(out.iterdir()) and not (out / MANIFEST).is_file())
    )
    if foreign:  # an earlier samples folder is written over; anything else is refused
        raise HyperrepError(f"{out} exists and is neither empty nor a samples folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise HyperrepError(f"cannot write samples to {out}: {err.strerror or err}") from err
    arch = zoo.architecture
    entries = []
    for i, vector in enumerate(samples.weights):
        name = f"sample-{i:04d}"
        state = {
            k: v.contiguous()
            for k, v in vector_to_state_dict(arch, torch.from_numpy(vector)).items()
        }
        with atomic_path(out / f"{name}.safetensors") as tmp:
            save_file(state, str(tmp))
        with atomic_path(out / f"{name}.pt") as tmp:
            torch.save(state, tmp)
        entry: dict[str, Any] = {"name": name, "latent": samples.latents[i].tolist()}
        if samples.finetuned_acc is not None:
            entry["finetuned_test_acc"] = [float(v) for v in samples.finetuned_acc[i]]
        if samples.test_acc is not None and samples.test_loss is not None:
            entry |= {
                "test_acc": float(samples.test_acc[i]),
                "test_loss": float(samples.test_loss[i]),
            }
        entries.append(entry)
    write_json_atomic(
        out / MANIFEST,
        {
            "format": "hyperrep-samples",
            "version": 1,
            "method": samples.method,
            "seed": samples.seed,
            "n": len(samples.weights),
            **samples.meta,
            "architecture": arch.to_dict(),
            "activation": samples.activation,
            "source": samples.source,
            **({"diversity": samples.diversity} if samples.diversity is not None else {}),
            "samples": entries,
        },
    )
    return out
