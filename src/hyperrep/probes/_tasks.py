"""The downstream tasks of appendix B: model characteristics to predict from weights."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Task:
    """One target column and how it is predicted."""

    name: str  # as in the paper's tables: Eph, Acc, GGap, F_c0, LR, Act, ...
    column: str
    kind: str  # "regression" or "classification"


_HYPERPARAMETERS = (
    ("LR", "lr", "regression"),
    ("L2", "weight_decay", "regression"),
    ("Drop", "dropout", "regression"),
    ("Act", "activation", "classification"),
    ("Init", "init", "classification"),
    ("Opt", "optimizer", "classification"),
    ("TF", "train_fraction", "regression"),  # Unterthiner et al.'s zoos
    ("InitStd", "init_std", "regression"),
)


def tasks_for(table: pd.DataFrame) -> list[Task]:
    """Epoch, accuracy, generalization gap, per-class F1 (where the table has them), and
    every hyperparameter the zoo varies."""
    # imported zoos keep the source's training step ("step"); the epoch axis is its index
    epoch = "step" if "step" in table else "epoch"
    base = [
        Task("Eph", epoch, "regression"),
        Task("Acc", "test_acc", "regression"),
        Task("GGap", "ggap", "regression"),
    ]
    tasks = [t for t in base if t.column in table]
    f1 = sorted((c for c in table.columns if c.startswith("f1_")), key=lambda c: int(c[3:]))
    tasks += [Task(f"F_c{c[3:]}", c, "regression") for c in f1]
    for name, column, kind in _HYPERPARAMETERS:
        if column in table and table[column].nunique() > 1:
            tasks.append(Task(name, column, kind))
    return tasks
