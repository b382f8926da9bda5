"""What decides one model of a population: its seed and hyperparameters."""

from __future__ import annotations

from dataclasses import dataclass

# how a record's train loss / accuracy are measured: the epoch's running mean, or a full
# pass over the training set after the epoch
TRAIN_METRICS = ("running", "full")


@dataclass(frozen=True)
class ModelSpec:
    """Everything that decides one model of a zoo: its seed and hyperparameters."""

    model_id: int
    seed: int
    init: str
    optimizer: str
    activation: str
    lr: float
    weight_decay: float
    dropout: float
    init_scheme: str = "authors"  # what `init` means, see zoo/_init.py

    @property
    def group(self) -> tuple[str, str]:
        """Models of one group can share a population (same activation and optimizer)."""
        return (self.activation, self.optimizer)
