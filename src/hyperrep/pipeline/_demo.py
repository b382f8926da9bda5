"""The demo's last steps: where the learned representation beats the weight statistics,
and a checkpoint written the way a user writes one, for `predict` to read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from hyperrep.data import load_dataset


@dataclass(frozen=True)
class Lead:
    """One task where a representation's probe scores above the baseline's."""

    task: str
    representation: str
    score: float
    baseline: str
    baseline_score: float

    @property
    def margin(self) -> float:
        """Points ahead of the baseline."""
        return self.score - self.baseline_score


def representation_leads(
    table: pd.DataFrame, baseline: str = "s(W)", *, margin: float = 1.0
) -> list[Lead]:
    """Tasks (rows of a report table, Rec left out) on which the best learned
    representation (a column other than W, s(W) and s(W) tensor) scores at least `margin`
    points above the `baseline` column, largest margin first."""
    learned = [c for c in table.columns if c not in ("W", "s(W)", "s(W) tensor")]
    leads = []
    for task in table.index:
        if task == "Rec" or pd.isna(table.at[task, baseline]):
            continue
        scores = table.loc[task, learned].dropna()
        if scores.empty:
            continue
        best = scores.idxmax()
        base = float(table.at[task, baseline])
        if scores[best] - base >= margin:
            leads.append(Lead(str(task), str(best), float(scores[best]), baseline, base))
    return sorted(leads, key=lambda lead: -lead.margin)


def write_user_checkpoint(
    path: str | Path, *, epochs: int = 10, activation: str = "tanh", seed: int = 0
) -> float:
    """Train a 16-5-4 MLP on the Tetris data in plain PyTorch (its own init, Adam, lr 1e-3,
    batch 32) and save its state_dict with `torch.save`, as a user would. Returns the
    model's test accuracy."""
    data = load_dataset("tetris")
    act = {"tanh": nn.Tanh, "relu": nn.ReLU}[activation]
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(16, 5, bias=False), act(), nn.Linear(5, 4, bias=False))
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        x, y = data.x_train.flatten(1), data.y_train
        for _ in range(epochs):
            for rows in torch.randperm(len(y)).split(32):
                optimizer.zero_grad()
                nn.functional.cross_entropy(model(x[rows]), y[rows]).backward()
                optimizer.step()
    with torch.no_grad():
        accuracy = (model(data.x_test.flatten(1)).argmax(1) == data.y_test).float().mean()
    torch.save(model.state_dict(), path)
    return float(accuracy)
