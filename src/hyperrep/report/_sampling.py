"""Plots of sampled models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hyperrep.report._pyplot import pyplot


def plot_finetuning(
    accuracy: np.ndarray, baseline: pd.DataFrame, path: str | Path, *, label: str = "samples"
) -> Path:
    """Test accuracy over fine-tuning epochs: the samples' median and quartiles (`accuracy`:
    samples x epochs 0..E) against the zoo's models trained from their initialisation at
    the same epochs (`baseline`: epoch and test_acc of each checkpoint; the 2022 paper's
    B_T)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.0), constrained_layout=True)
    epochs = np.arange(accuracy.shape[1])
    q25, q50, q75 = np.percentile(100 * accuracy, [25, 50, 75], axis=0)
    ax.plot(epochs, q50, marker="o", label=f"{label} fine-tuned (median, quartiles)")
    ax.fill_between(epochs, q25, q75, alpha=0.25)
    rows = baseline[baseline["epoch"] <= epochs[-1]]
    if not rows.empty:
        grouped = rows.groupby("epoch")["test_acc"]
        own = 100 * grouped.quantile([0.25, 0.5, 0.75]).unstack()
        ax.plot(own.index, own[0.5], marker="s", label="zoo's models from their init (B_T)")
        ax.fill_between(own.index, own[0.25], own[0.75], alpha=0.25)
    ax.set(xlabel="epoch", ylabel="test accuracy (%)", title="fine-tuning from samples")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
