"""What decides one model of a population: its seed and hyperparameters."""

from __future__ import annotations

from dataclasses import dataclass

from hyperrep._errors import HyperrepError

# how a record's train loss / accuracy are measured: the epoch's running mean, or a full
# pass over the training set after the epoch
TRAIN_METRICS = ("running", "full")
# the arithmetic of a training step: fp32 throughout, or bf16 matrix products and
# convolutions (torch.autocast) on fp32 master weights, gradients and optimizer moments
PRECISIONS = ("fp32", "bf16")


def check_precision(precision: str, convolutional: bool) -> None:
    """Raise a one-line error unless `precision` is known and fits the architecture."""
    if precision not in PRECISIONS:
        raise HyperrepError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "bf16" and not convolutional:
        raise HyperrepError("precision bf16 is for CNN zoos; MLP zoos train in fp32")


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
