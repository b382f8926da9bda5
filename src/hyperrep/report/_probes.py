"""Plots of probe results and zoo properties."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from hyperrep.probes import Prediction, ZooStructure
from hyperrep.report._pyplot import pyplot

_LABELS = {
    "Eph": "epoch",
    "Acc": "test accuracy",
    "GGap": "generalization gap",
    "LR": "learning rate",
    "L2": "l2 regularisation",
    "Drop": "dropout",
    "TF": "train fraction",
    "InitStd": "init std",
}


def plot_predictions(predictions: list[Prediction], representation: str, path: Path) -> Path:
    """Predicted vs. true value on the test split, one panel per regression task."""
    plt = pyplot()
    chosen = [
        p
        for p in predictions
        if p.representation == representation
        and p.family == "linear"
        and p.domain == "id"
        and "r2" in p.scores
    ]
    cols = min(4, len(chosen))
    rows = math.ceil(len(chosen) / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.6 * cols, 3.4 * rows), squeeze=False, constrained_layout=True
    )
    for ax, p in zip(axes.flat, chosen, strict=False):
        ax.scatter(p.y_true, p.y_pred, s=4, alpha=0.3)
        lo, hi = float(np.min(p.y_true)), float(np.max(p.y_true))
        ax.plot([lo, hi], [lo, hi], "k--", lw=1)
        name = _LABELS.get(p.task.name, p.task.name.replace("F_c", "F1 of class "))
        ax.set(
            xlabel=f"true {name}",
            ylabel=f"predicted {name}",
            title=f"{p.task.name}: R² {100 * p.scores['r2']:.1f}%, τ {p.scores['kendall_tau']:.2f}",
        )
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(chosen) :]:
        ax.axis("off")
    fig.suptitle(f"Linear probes on {representation}: test split")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_accuracy_over_mean_weight(
    zoos: dict[str, tuple[pd.DataFrame, np.ndarray]], path: Path, *, max_points: int = 20_000
) -> Path:
    """Test accuracy over each checkpoint's mean weight, coloured by epoch, one panel per
    zoo (appendix Figure 3, row 2). `zoos` maps a name to (properties, mean weights); the
    title gives Pearson's r over all checkpoints."""
    plt = pyplot()
    fig, axes = plt.subplots(
        1, len(zoos), figsize=(5.5 * len(zoos), 4.2), squeeze=False, constrained_layout=True
    )
    for ax, (name, (table, means)) in zip(axes.flat, zoos.items(), strict=True):
        _accuracy_over_mean_weight(fig, ax, name, table, means, max_points)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _accuracy_over_mean_weight(
    fig, ax, name: str, table: pd.DataFrame, means: np.ndarray, max_points: int = 20_000
) -> None:
    acc = 100 * table["test_acc"].to_numpy()
    r = float(np.corrcoef(means, acc)[0, 1]) if len(acc) > 1 else float("nan")
    shown = np.random.default_rng(0).permutation(len(acc))[:max_points]
    points = ax.scatter(
        means[shown], acc[shown], c=table["epoch"].to_numpy()[shown], s=3, alpha=0.5, cmap="viridis"
    )
    fig.colorbar(points, ax=ax, label="epoch")
    ax.set(
        xlabel="mean of the weights",
        ylabel="test accuracy (%)",
        title=f"{name}: Pearson r = {r:.2f}",
    )
    ax.grid(alpha=0.3)


def plot_accuracy_over_epochs(tables: dict[str, pd.DataFrame], path: Path) -> Path:
    """Box plot of test accuracy per epoch, one panel per zoo (appendix Figure 3, row 1)."""
    plt = pyplot()
    fig, axes = plt.subplots(
        1, len(tables), figsize=(6.5 * len(tables), 3.8), squeeze=False, constrained_layout=True
    )
    for ax, (name, table) in zip(axes.flat, tables.items(), strict=True):
        _accuracy_over_epochs(ax, name, table)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _accuracy_over_epochs(ax, name: str, table: pd.DataFrame) -> None:
    epochs = sorted(table["epoch"].unique())
    step = max(1, len(epochs) // 25)
    shown = epochs[::step]
    data = [100 * table.loc[table["epoch"] == e, "test_acc"].to_numpy() for e in shown]
    ax.boxplot(data, positions=shown, widths=0.6 * step, showfliers=False)
    ticks = shown[:: max(1, len(shown) // 8)]  # a label per box overlaps at 25 boxes
    ax.set_xticks(ticks, [str(e) for e in ticks])
    ax.set(xlabel="epoch", ylabel="test accuracy (%)", title=f"{name}: accuracy over epochs")
    ax.grid(alpha=0.3)


def plot_embeddings(embeddings: pd.DataFrame, path: Path) -> Path:
    """Saved 2-D embeddings (`umap_embeddings`), one row per representation, one panel per
    colouring column (appendix Figures 3 and 4)."""
    plt = pyplot()
    names = list(dict.fromkeys(embeddings["representation"]))
    colours = [c for c in embeddings.columns if c not in ("representation", "x", "y")]
    fig, axes = plt.subplots(
        len(names),
        len(colours),
        squeeze=False,
        figsize=(3.8 * len(colours), 3.4 * len(names)),
        constrained_layout=True,
    )
    for row, name in zip(axes, names, strict=True):
        points = embeddings[embeddings["representation"] == name]
        xy = points[["x", "y"]].to_numpy()
        for ax, colour in zip(row, colours, strict=True):
            _embedding(fig, ax, xy, points[colour].to_numpy(), f"{name}: {colour}", colour)
    fig.suptitle(f"UMAP of {len(xy)} checkpoints")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _embedding(fig, ax, xy: np.ndarray, column: np.ndarray, title: str, label: str) -> None:
    """2-D points coloured by a categorical column (a legend) or a numeric one (a bar)."""
    if column.dtype.kind in "OSU":
        for level in sorted(set(column)):
            mask = column == level
            ax.scatter(*xy[mask].T, s=3, alpha=0.6, label=str(level))
        ax.legend(markerscale=3, fontsize=7)
    else:
        drawn = ax.scatter(*xy.T, c=column, s=3, alpha=0.6, cmap="viridis")
        fig.colorbar(drawn, ax=ax, label=label)
    ax.set(title=title, xticks=[], yticks=[])


def plot_zoo_structure(structures: list[ZooStructure], path: Path) -> Path:
    """Appendix Figure 3: one column per zoo; rows: test accuracy over epochs, accuracy
    over mean weight, UMAP of W coloured by activation, initialisation and epoch."""
    plt = pyplot()
    colours = ("activation", "init", "epoch")
    fig, axes = plt.subplots(
        2 + len(colours),
        len(structures),
        squeeze=False,
        figsize=(4.6 * len(structures), 3.6 * (2 + len(colours))),
        constrained_layout=True,
    )
    for col, zoo in enumerate(structures):
        _accuracy_over_epochs(axes[0, col], zoo.name, zoo.table)
        _accuracy_over_mean_weight(fig, axes[1, col], zoo.name, zoo.table, zoo.mean_weight)
        rows = zoo.embedding["row"].to_numpy(int)
        xy = zoo.embedding[["x", "y"]].to_numpy()
        for ax, colour in zip(axes[2:, col], colours, strict=True):
            if not len(rows) or colour not in zoo.table:
                ax.axis("off")
                continue
            values = zoo.table[colour].to_numpy()[rows]
            values = values.astype(str) if values.dtype.kind == "O" else values
            _embedding(fig, ax, xy, values, f"{zoo.name}: UMAP of W, {colour}", colour)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
