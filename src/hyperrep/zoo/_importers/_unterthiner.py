"""The **unterthiner** importer: (Unterthiner et al. 2020, "Predicting Neural Network Accuracy from
Weights", the Small CNN Zoo): a folder with ``weights.npy`` (one float32 row of 4,970
parameters per checkpoint, memory-mapped here), ``metrics.csv`` or ``metrics.csv.gz``
(row i describes weights row i: ``config.*`` hyperparameters, ``modeldir``, ``step``,
``test_accuracy``, ``test_loss``, ``train_accuracy``, ``train_loss``; a pandas index
column is dropped) and ``layout.csv``
(``varname, start_idx, end_idx, shape`` of every tensor: per layer the bias, then a
TensorFlow kernel, conv (3, 3, c_in, c_out), dense (16, 10)). The network: three 3x3
convolutions with stride 2 and no padding, 16 channels each, global average pooling, a
dense layer. Kernels are transposed to PyTorch's layout (conv ``transpose(3, 2, 0, 1)``,
dense ``.T``), so tokens and permutations mean what they mean for our zoos. The
hyperparameters become properties under our names (``init``, ``optimizer``,
``activation``, ``lr``, ``weight_decay``, ``dropout``, ``seed``); every other ``config.*``
column is kept without its prefix (``train_fraction``, ``init_std``, ``b_init``, ...). Checkpoints
are grouped into models by ``modeldir``; the epoch axis indexes the distinct steps, which
the properties keep as ``step``. A model with NaN or infinite weights is flagged diverged;
a step a model lacks is flagged ``missing`` and left out of data sets, while the model's
other checkpoints are kept (the source's few missing rows, 27 of MNIST's 270,000, would
otherwise cost whole models).
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd

from hyperrep._errors import HyperrepError
from hyperrep.arch import Activation, Architecture, Conv2d, GlobalAvgPool, Linear
from hyperrep.zoo._config import ZooConfig
from hyperrep.zoo._importers._common import IMPORTERS, health_columns, write_imported
from hyperrep.zoo._zoo import Zoo

_INPUT_SIZE = {"mnist": 28, "fashion_mnist": 28, "cifar10": 32, "svhn_cropped": 32}
_METRIC_COLUMNS = ("modeldir", "step", "test_accuracy", "test_loss", "train_accuracy", "train_loss")
_CONFIG = {
    "init": "config.w_init",
    "optimizer": "config.optimizer",
    "activation": "config.activation",
    "lr": "config.learning_rate",
    "weight_decay": "config.l2reg",
    "dropout": "config.dropout",
    "seed": "config.random_seed",
    "dataset": "config.dataset",
}


def _read_layout(path: Path) -> list[tuple[str, int, int, tuple[int, ...]]]:
    try:
        table = pd.read_csv(path)
        if not {"varname", "start_idx", "end_idx", "shape"} <= set(table.columns):
            raise ValueError(f"columns {list(table.columns)[:4]}")
        return [
            (
                str(r.varname),
                int(r.start_idx),
                int(r.end_idx),
                tuple(int(v) for v in ast.literal_eval(str(r.shape))),
            )
            for r in table.itertuples()
        ]
    except Exception as err:
        raise HyperrepError(
            f"{path} is not a layout table (varname, start_idx, end_idx, shape): {str(err)[:100]}"
        ) from None


def _unterthiner_layers(layout: list, dataset: str) -> tuple[Architecture, np.ndarray]:
    """The architecture and, for each of its flat parameters, the source column."""
    layers: dict[str, dict[str, tuple]] = {}
    for name, start, end, shape in sorted(layout, key=lambda v: v[1]):
        layer, _, kind = name.rpartition("/")
        kind = (
            "kernel" if kind.startswith("kernel") else "bias" if kind.startswith("bias") else kind
        )
        if kind not in ("kernel", "bias") or end - start != int(np.prod(shape)):
            raise HyperrepError(
                f"layout entry {name!r} ({start}-{end}, {shape}) is not a "
                "kernel or bias of its size"
            )
        layers.setdefault(layer, {})[kind] = (start, end, shape)
    arch_layers, take = [], []
    convs = [v for v in layers.values() if len(v["kernel"][2]) == 4]
    dense = [v for v in layers.values() if len(v["kernel"][2]) == 2]
    if not convs or len(dense) != 1 or any("bias" not in v for v in layers.values()):
        raise HyperrepError(
            "layout.csv does not describe convolutions and one dense layer, each with a bias"
        )
    for v in convs:
        (ks, ke, (k, _, c_in, c_out)), (bs, be, _) = v["kernel"], v["bias"]
        arch_layers += [Conv2d(c_in, c_out, k, stride=2), Activation()]
        take += [
            np.arange(ks, ke).reshape(k, k, c_in, c_out).transpose(3, 2, 0, 1).ravel(),
            np.arange(bs, be),
        ]
    (ks, ke, (f_in, f_out)), (bs, be, _) = dense[0]["kernel"], dense[0]["bias"]
    arch_layers += [GlobalAvgPool(), Linear(f_in, f_out)]
    take += [np.arange(ks, ke).reshape(f_in, f_out).T.ravel(), np.arange(bs, be)]
    size = _INPUT_SIZE.get(dataset)
    if size is None:
        raise HyperrepError(
            f"unknown data set {dataset!r} in metrics; known: {', '.join(_INPUT_SIZE)}"
        )
    c_in = convs[0]["kernel"][2][2]
    arch = Architecture(f"unterthiner-cnn-{dataset}", (c_in, size, size), tuple(arch_layers))
    return arch, np.concatenate(take)


@IMPORTERS.register("unterthiner")
def import_unterthiner(source: Path, out: Path, progress: bool = True) -> Zoo:
    """Unterthiner et al. 2020's Small CNN Zoo (see the module docstring)."""
    metrics_path = next(
        (source / n for n in ("metrics.csv", "metrics.csv.gz") if (source / n).is_file()), None
    )
    if not (source / "weights.npy").is_file() or metrics_path is None:
        raise HyperrepError(f"{source} lacks weights.npy or metrics.csv[.gz]")
    try:
        weights = np.load(source / "weights.npy", mmap_mode="r", allow_pickle=False)
        metrics = pd.read_csv(metrics_path)
        metrics = metrics.drop(columns=[c for c in metrics if c.startswith("Unnamed: ")])
    except Exception as err:
        raise HyperrepError(f"cannot read {source}: {str(err)[:120]}") from None
    missing = [c for c in (*_METRIC_COLUMNS, *_CONFIG.values()) if c not in metrics]
    if missing:
        raise HyperrepError(f"{metrics_path} lacks column(s) {', '.join(missing)}")
    if weights.ndim != 2 or weights.dtype != np.float32 or len(weights) != len(metrics):
        raise HyperrepError(
            f"{source / 'weights.npy'}: {weights.shape} {weights.dtype}; "
            f"expected float32 ({len(metrics)}, n_params), a row per metrics row"
        )
    datasets = metrics["config.dataset"].unique()
    if len(datasets) != 1:
        raise HyperrepError(f"{metrics_path} mixes data sets: {', '.join(map(str, datasets))}")
    arch, take = _unterthiner_layers(_read_layout(source / "layout.csv"), str(datasets[0]))
    if take.max() >= weights.shape[1] or len(take) != weights.shape[1]:
        raise HyperrepError(
            f"layout.csv covers {len(take)} parameters, weights.npy rows hold {weights.shape[1]}"
        )
    steps = np.sort(metrics["step"].unique())
    models = metrics.groupby("modeldir", sort=True).indices  # modeldir -> row positions
    names = list(models)
    grid = {
        key: tuple(sorted({_value(v) for v in metrics[col]}, key=str))
        for key, col in _CONFIG.items()
        if key not in ("seed", "dataset")
    }
    config = ZooConfig(
        f"unterthiner-{datasets[0]}",
        arch.name,
        str(datasets[0]),
        len(steps) - 1,
        1,
        grid,
        seeds=(0,),
        init_scheme="imported",
        train_metrics="full",
        source=f"Unterthiner et al. 2020 ({source.name})",
    )
    step_index = {int(s): i for i, s in enumerate(steps)}

    def model(index: int) -> tuple[np.ndarray, pd.DataFrame]:
        positions = models[names[index]]
        part = metrics.iloc[positions]
        at = [step_index[int(s)] for s in part["step"]]
        block = np.zeros((len(steps), arch.n_params), np.float32)
        block[at] = np.asarray(weights[positions])[:, take]  # positions ascending
        return block, _properties(index, names[index], part, at, len(steps), block)

    return write_imported(out, config, arch, len(names), model, progress)


def _value(v: object) -> object:
    return v.item() if hasattr(v, "item") else v


def _properties(
    model: int, modeldir: str, part: pd.DataFrame, at: list[int], n_steps: int, block: np.ndarray
) -> pd.DataFrame:
    """One row per checkpoint index of one model (absent steps: NaN metrics)."""
    frame = pd.DataFrame(index=range(n_steps))
    frame["model_index"] = np.int64(model)
    frame["model_id"] = np.int64(model)
    frame["epoch"] = np.arange(n_steps, dtype=np.int64)
    frame.loc[at, "step"] = part["step"].to_numpy()
    first = part.iloc[0]
    frame["seed"] = np.int64(first[_CONFIG["seed"]])
    for key in ("init", "optimizer", "activation"):
        frame[key] = str(first[_CONFIG[key]])
    for key in ("lr", "weight_decay", "dropout"):
        frame[key] = float(first[_CONFIG[key]])
    for ours, theirs in (
        ("train_loss", "train_loss"),
        ("train_acc", "train_accuracy"),
        ("test_loss", "test_loss"),
        ("test_acc", "test_accuracy"),
    ):
        frame.loc[at, ours] = part[theirs].to_numpy(float)
    frame["ggap"] = frame["train_acc"] - frame["test_acc"]
    present = np.zeros(n_steps, dtype=bool)
    present[at] = True
    for key, value in health_columns(block, present).items():
        frame[key] = value
    for column in part.columns:  # every other hyperparameter, under its own name
        name = column.removeprefix("config.")
        if column.startswith("config.") and column not in _CONFIG.values() and name not in frame:
            frame[name] = _value(first[column])
    frame["modeldir"] = modeldir
    frame["step"] = frame["step"].astype(float)
    return frame
