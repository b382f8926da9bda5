"""One model trained alone with plain PyTorch: the reference the population must equal."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from hyperrep.arch import Architecture, state_dict_to_vector, to_module, unflatten_params
from hyperrep.population._data import DIVERGENCE_LIMIT, EpochRecord, TrainData
from hyperrep.population._init import init_params
from hyperrep.population._metrics import Tally
from hyperrep.population._optim import ADAM_BETAS, ADAM_EPS, SGD_MOMENTUM, flush_subnormal_
from hyperrep.population._rng import (
    DROPOUT_STREAM,
    INIT_STREAM,
    ORDER_STREAM,
    epoch_order,
    model_generator,
)
from hyperrep.population._spec import ModelSpec, check_precision
from hyperrep.population._trainer import EVAL_BATCH


def _evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, k: int) -> Tally:
    tally = Tally.zeros(1, k, x.device)
    model.eval()
    with torch.no_grad():
        for start in range(0, x.shape[0], EVAL_BATCH):
            stop = start + EVAL_BATCH
            tally.add(model(x[start:stop]).unsqueeze(0), y[start:stop])
    model.train()
    return tally


@torch.no_grad()
def _flush(opt: torch.optim.Optimizer) -> None:
    for group in opt.param_groups:
        for p in group["params"]:
            flush_subnormal_(p)
            for name in ("exp_avg", "exp_avg_sq", "momentum_buffer"):
                if opt.state[p].get(name) is not None:
                    flush_subnormal_(opt.state[p][name])


def train_single(
    arch: Architecture,
    spec: ModelSpec,
    data: TrainData,
    epochs: int,
    batch_size: int,
    *,
    initial: torch.Tensor | None = None,
    train_metrics: str = "running",
    flush_subnormals: bool = True,
    precision: str = "fp32",
) -> Iterator[EpochRecord]:
    """Train one model with torch.nn and torch.optim; yield a record per epoch 0..epochs.

    `initial` (a flat vector) replaces the seed's initialisation; the data order and
    dropout masks still come from the seed. Train metrics as `PopulationTrainer` records
    them: "running" sums loss * batch size and correct predictions over the epoch's
    batches in train mode, before each step, as the authors' `def_net.py` does.
    `flush_subnormals` zeroes subnormal weights and optimizer moments after each step, as
    the population trainer does (`flush_subnormal_`). `precision` "bf16" runs each
    step's forward and backward pass under `torch.autocast` in bfloat16, as the
    population trainer does.
    """
    check_precision(precision, arch.convolutional)
    if train_metrics not in ("running", "full"):
        raise ValueError(f"train_metrics must be running or full, got {train_metrics!r}")
    model = to_module(
        arch,
        spec.activation,
        dropout=spec.dropout,
        dropout_generator=model_generator(spec.seed, DROPOUT_STREAM),
    )
    model.to(data.x_train.device)
    if initial is None:
        init = init_params(
            arch, spec.init, model_generator(spec.seed, INIT_STREAM), scheme=spec.init_scheme
        )
    else:
        init = [t[0] for t in unflatten_params(arch, initial.reshape(1, -1))]
    with torch.no_grad():
        for slot, tensor in zip(arch.param_slots, init, strict=True):
            model.get_parameter(slot.name).copy_(tensor)
    if spec.optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam(
            model.parameters(),
            lr=spec.lr,
            betas=ADAM_BETAS,
            eps=ADAM_EPS,
            weight_decay=spec.weight_decay,
        )
    else:
        opt = torch.optim.SGD(
            model.parameters(), lr=spec.lr, momentum=SGD_MOMENTUM, weight_decay=spec.weight_decay
        )
    order_gen = model_generator(spec.seed, ORDER_STREAM)
    diverged = False
    device, bf16 = data.x_train.device, precision == "bf16"

    def record(epoch: int, running: tuple[float, int, int] | None = None) -> EpochRecord:
        nonlocal diverged
        if running is None:
            train = _evaluate(model, data.x_train, data.y_train, data.num_classes)
            train_loss, train_acc = train.loss(), train.accuracy()
        else:
            loss_sum, correct, count = running
            train_loss, train_acc = np.array([loss_sum / count]), np.array([correct / count])
        test = _evaluate(model, data.x_test, data.y_test, data.num_classes)
        flat = state_dict_to_vector(arch, model.state_dict()).detach()
        finite = bool(torch.isfinite(flat).all()) and np.isfinite(train_loss).all()
        diverged |= not finite or float(flat.abs().max()) > DIVERGENCE_LIMIT
        return EpochRecord(
            epoch,
            flat.cpu().numpy()[None],
            train_loss,
            train_acc,
            test.loss(),
            test.accuracy(),
            test.f1(),
            np.array([diverged]),
        )

    model.train()
    yield record(0)
    n = data.x_train.shape[0]
    for epoch in range(1, epochs + 1):
        order = epoch_order(order_gen, n).to(data.x_train.device)
        loss_sum, correct = 0.0, 0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            opt.zero_grad()
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                logits = model(data.x_train[idx]).float()
            loss = F.cross_entropy(logits, data.y_train[idx])
            loss.backward()
            loss_sum += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == data.y_train[idx]).sum())
            opt.step()
            if flush_subnormals:
                _flush(opt)
        yield record(epoch, (loss_sum, correct, n) if train_metrics == "running" else None)


def evaluate_single(
    arch: Architecture,
    activation: str,
    vector: torch.Tensor,
    x: torch.Tensor,
    y: torch.Tensor,
    num_classes: int,
) -> Tally:
    """Loss, accuracy and confusion of one flat weight vector, through a plain torch module."""
    from hyperrep.arch import vector_to_state_dict

    model = to_module(arch, activation).to(x.device)
    model.load_state_dict(vector_to_state_dict(arch, vector.to(x.device)))
    return _evaluate(model, x, y, num_classes)
