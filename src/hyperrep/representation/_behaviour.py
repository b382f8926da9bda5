"""The behavioural term of representation training: a decoded network should compute what
its original computes. On a fixed batch of the zoo's training inputs, the term is the KL
divergence from each original checkpoint's predicted class distribution to its decoded
network's, averaged over inputs and checkpoints (the group's "Structure is not enough",
ICLR 2025 workshop, matches decoded and original outputs on probe inputs; REFERENCE.md).

Permuting hidden neurons leaves a network's function unchanged, so one set of targets per
checkpoint serves every permuted view of it. With a pool, the targets are computed once on
all of the pool's inputs and each training step draws its inputs from them: the decoder
sees many inputs at the cost of a few.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hyperrep._errors import HyperrepError
from hyperrep.arch import Architecture, unflatten_params
from hyperrep.population import population_forward
from hyperrep.representation._config import TrainConfig
from hyperrep.zoo import CheckpointData, Zoo, checkpoint_activations, load_zoo_data

_MODELS_AT_ONCE = 256  # originals evaluated together when the targets are computed


def probe_inputs(x_train: torch.Tensor, count: int, seed: int) -> torch.Tensor:
    """`count` of the zoo's training inputs, drawn without replacement by `seed`."""
    if not 1 <= count <= x_train.shape[0]:
        raise HyperrepError(
            f"behaviour inputs must be between 1 and the {x_train.shape[0]} training inputs, "
            f"got {count}"
        )
    order = torch.randperm(x_train.shape[0], generator=torch.Generator().manual_seed(seed))
    return x_train[order[:count]].clone()


def _log_probs(
    arch: Architecture, activation: str, weights: torch.Tensor, inputs: torch.Tensor, grad: bool
) -> torch.Tensor:
    """(models, inputs, classes) log-probabilities of the networks `weights` (raw, flat)."""
    params = unflatten_params(arch, weights)
    shared = inputs.expand(weights.shape[0], *inputs.shape)
    logits = population_forward(arch, activation, params, shared, differentiable=grad)
    return torch.log_softmax(logits.float(), dim=-1)


@dataclass
class Behaviour:
    """The probe inputs and, for each checkpoint of one split, its activation and its
    original's log-probabilities on them. A loss uses `per_step` of the inputs: drawn by
    a generator, or the first `per_step` without one."""

    arch: Architecture
    inputs: torch.Tensor  # (P, *input): the pool
    activations: np.ndarray  # (rows,) activation name of each checkpoint
    targets: torch.Tensor  # (rows, P, classes) log-probabilities of the originals
    per_step: int

    @classmethod
    def of(
        cls,
        arch: Architecture,
        weights: torch.Tensor,
        activations: np.ndarray,
        inputs: torch.Tensor,
        per_step: int | None = None,
    ) -> Behaviour:
        """Targets of the checkpoints `weights` (raw, flat; rows aligned with `activations`)
        on the pool `inputs`, of which a loss uses `per_step` (default: all)."""
        if len(activations) != weights.shape[0]:
            raise HyperrepError("one activation per checkpoint is needed")
        per_step = inputs.shape[0] if per_step is None else per_step
        if not 1 <= per_step <= inputs.shape[0]:
            raise HyperrepError(f"a step uses 1 to {inputs.shape[0]} inputs, got {per_step}")
        targets = None
        with torch.no_grad():
            for activation in np.unique(activations):
                where = torch.as_tensor(np.flatnonzero(activations == activation))
                for part in where.split(_MODELS_AT_ONCE):
                    out = _log_probs(arch, str(activation), weights[part], inputs, grad=False)
                    if targets is None:
                        targets = out.new_empty(weights.shape[0], *out.shape[1:])
                    targets[part] = out
        assert targets is not None
        return cls(arch, inputs, np.asarray(activations), targets, per_step)

    def loss(
        self, weights: torch.Tensor, rows: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Mean KL(original || decoded) over `per_step` probe inputs and over the decoded
        networks `weights` (raw, flat, differentiable), row i decoded from checkpoint
        `rows[i]`. The inputs are drawn from the pool by `generator` (a CPU generator) when
        the pool holds more; otherwise they are the pool's first `per_step`."""
        pool = self.inputs.shape[0]
        pick: slice | torch.Tensor = slice(self.per_step)  # a view: no copy a step
        if generator is not None and self.per_step < pool:
            pick = torch.randperm(pool, generator=generator)[: self.per_step]
            pick = pick.to(self.inputs.device)
        inputs = self.inputs[pick]
        rows = rows.cpu()
        kinds = self.activations[rows.numpy()]
        total = weights.new_zeros(())
        for activation in np.unique(kinds):
            mine = torch.as_tensor(np.flatnonzero(kinds == activation))
            student = _log_probs(
                self.arch, str(activation), weights[mine.to(weights.device)], inputs, True
            )
            teacher = self.targets[rows[mine].to(self.targets.device)][:, pick]
            kl = (teacher.exp() * (teacher - student)).sum(dim=-1)  # (models, inputs)
            total = total + kl.mean(dim=1).sum()
        return total / weights.shape[0]


def split_behaviours(
    zoo: Zoo,
    data: CheckpointData,
    train: TrainConfig,
    data_dir: str | Path | None,
    device: str,
) -> dict[str, Behaviour]:
    """The behavioural targets of the train and val splits of `data` (a `zoo`'s checkpoints)
    on a pool of the zoo's training inputs drawn by `train.seed`: `train.behaviour_pool`
    of them, or `train.behaviour_inputs` without a pool. Its first `behaviour_inputs` are
    the same inputs either way, and the ones validation uses."""
    x_train = load_zoo_data(zoo.config, zoo.architecture, data_dir, device).x_train
    pool = max(train.behaviour_pool, train.behaviour_inputs)
    inputs = probe_inputs(x_train, pool, train.seed)
    activations = checkpoint_activations(zoo, data.table)
    out = {}
    for split in ("train", "val"):
        rows = (data.table["split"] == split).to_numpy()
        weights = data.split(split).to(device)
        out[split] = Behaviour.of(
            zoo.architecture, weights, activations[rows], inputs, train.behaviour_inputs
        )
    return out
