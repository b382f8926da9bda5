"""Training a population of models of one architecture at once, vectorized across models.

Parameters are stacked along a leading model axis and activations carry a leading
model axis too; linear layers become batched matrix multiplies. Each model draws its
initialisation, data order and dropout masks from its own seeded streams, so a model
trained here equals the same model trained alone (see `_reference.py`).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence

import torch

from hyperrep._cpu_share import torch_threads
from hyperrep._device import exact_fp32
from hyperrep._errors import HyperrepError
from hyperrep.arch import (
    Architecture,
    PopulationContext,
    activation_fn,
    flatten_params,
    unflatten_params,
)
from hyperrep.population._data import DIVERGENCE_LIMIT, EpochRecord, TrainData
from hyperrep.population._dense import dense_logits, dense_train_grads, is_dense
from hyperrep.population._init import init_params
from hyperrep.population._lanes import lanes_forward
from hyperrep.population._metrics import Tally
from hyperrep.population._native import LANES, native_available
from hyperrep.population._optim import PopulationOptimizer
from hyperrep.population._rng import (
    DROPOUT_STREAM,
    INIT_STREAM,
    ORDER_STREAM,
    epoch_order,
    model_generator,
)
from hyperrep.population._spec import TRAIN_METRICS, ModelSpec, check_precision

_EVAL_BUDGET = 1 << 22  # activation elements per evaluation batch (cache-sized)
_CUDA_EVAL_BUDGET = 1 << 28  # on a GPU: large batches, few launches (1 GiB of fp32)
EVAL_BATCH = 1024  # evaluation batch of networks whose outputs depend on the batch


def default_population_size(arch: Architecture, device: str = "cpu") -> int:
    """Models trained together by default: many for MLPs and on a GPU, fewer for CNNs on
    the CPU.

    96 CNNs on the CPU: at batch 10 a training step is short, and fewer models per step
    leave its fixed cost unshared (benchmarks/zoo_batch.py: batch 10 at 1/1.98 of the
    batch-64 rate with 32 models, 1/1.53 with 96). A GPU wants every model of a zoo in
    one step. On the CPU the bytes do not depend on the grouping; on CUDA they may
    (cuDNN chooses algorithms by shape).
    """
    if arch.convolutional and not device.startswith("cuda"):
        return 96
    return 1000


def population_forward(
    arch: Architecture,
    activation: str,
    params: Sequence[torch.Tensor],
    x: torch.Tensor,
    *,
    dropout: Sequence[float] | None = None,
    dropout_generators: Sequence[torch.Generator] | None = None,
    differentiable: bool = False,
) -> torch.Tensor:
    """Logits (M, B, classes) of M models, each on its own batch x[m] (M, B, *input).

    If x has stride 0 along the model axis (an `expand`ed shared batch), the first
    layer computes it once for all models. Dropout is applied when `dropout` is given.
    CNNs on the CPU run on the C kernels when they are available (`_lanes.py`), unless
    `differentiable`: then every layer runs on torch operations, which autograd follows
    back to `params` (the C kernels compute their own gradients, for the trainer only).
    """
    if not differentiable and uses_native(arch, x.device):
        return lanes_forward(arch, activation, params, x, dropout, dropout_generators)
    m, b = x.shape[:2]
    ctx = PopulationContext(
        activation_fn(activation), m, b, x.stride(0) == 0, dropout, dropout_generators
    )
    slots = iter(params)
    h = x  # (M, B, *features) throughout
    for layer in arch.layers:
        h = layer.population(h, [next(slots) for _ in layer.param_shapes()], ctx)
    return h


def uses_native(arch: Architecture, device: torch.device | str) -> bool:
    """True if this architecture's population pass runs on the C kernels here: a CNN
    whose every layer the kernels support, on the CPU, with the kernels built."""
    return (
        arch.convolutional
        and arch.supports("lanes")
        and torch.device(device).type == "cpu"
        and native_available()
    )


def cross_entropy_grad(logits: torch.Tensor, labels: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Gradient of each model's mean cross-entropy loss w.r.t. its logits.

    `logits` is (M, B, K) with dim=-1 or (M, K, B) with dim=1; labels are (M, B).
    Written out (softmax minus one-hot, over B) because PyTorch's log-softmax kernels
    are slow for the few classes these zoos have.
    """
    batch = labels.shape[1]
    probs = (logits - logits.amax(dim, keepdim=True)).exp_()
    probs /= probs.sum(dim, keepdim=True)
    index = labels.unsqueeze(dim)
    probs.scatter_add_(dim, index, probs.new_full(index.shape, -1.0))
    return probs.div_(batch)


def evaluate_population(
    arch: Architecture,
    activation: str,
    params: Sequence[torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    num_classes: int,
) -> Tally:
    """Loss, accuracy and confusion of every model on a whole data set (no dropout)."""
    m = params[0].shape[0]
    widest = max(math.prod(s) for s in arch.feature_shapes)
    budget = _EVAL_BUDGET if x.device.type == "cpu" else _CUDA_EVAL_BUDGET
    batch = max(1, budget // (m * widest))
    if uses_native(arch, x.device):  # whole vectors of images; the layout needs less memory
        batch = max(LANES, 4 * batch // LANES * LANES)
    if arch.batch_dependent:  # the same batches as a model evaluated alone
        batch = EVAL_BATCH
    tally = Tally.zeros(m, num_classes, x.device)
    dense = is_dense(arch)
    with torch.no_grad():
        for start in range(0, x.shape[0], batch):
            xb = x[start : start + batch]
            if dense:
                logits = dense_logits(arch, activation, params, xb.reshape(xb.shape[0], -1).T)
                tally.add(logits, y[start : start + batch], class_dim=1)
            else:
                logits = population_forward(arch, activation, params, xb.expand(m, *xb.shape))
                tally.add(logits, y[start : start + batch])
    return tally


class PopulationTrainer:
    """Trains models that share activation and optimizer, one epoch at a time.

    All parameters live in one (models, n_params) buffer that layers read through
    views. `state_dict` / `load_state_dict` capture everything a resumed run needs to
    continue bit for bit: parameters, optimizer moments, and every model's random streams.
    """

    def __init__(
        self,
        arch: Architecture,
        models: Sequence[ModelSpec],
        data: TrainData,
        batch_size: int,
        train_metrics: str = "running",
        *,
        flush_subnormals: bool = True,
        precision: str = "fp32",
    ) -> None:
        check_precision(precision, arch.convolutional)
        groups = {spec.group for spec in models}
        if len(groups) != 1:
            raise HyperrepError(
                f"a population needs one activation/optimizer, got {sorted(groups)}"
            )
        if train_metrics not in TRAIN_METRICS:
            raise HyperrepError(
                f"train_metrics must be one of {', '.join(TRAIN_METRICS)}, got {train_metrics!r}"
            )
        self.arch, self.data, self.batch_size = arch, data, batch_size
        self.train_metrics = train_metrics
        self.precision = precision
        self._running: Tally | None = None  # this epoch's training batches, if "running"
        self.activation, optimizer = models[0].group
        self.dense = is_dense(arch)
        device = data.x_train.device
        exact_fp32(str(device))  # fp32 steps stay fp32 on a GPU (no TensorFloat-32)
        inits = [
            init_params(arch, s.init, model_generator(s.seed, INIT_STREAM), scheme=s.init_scheme)
            for s in models
        ]
        flat = torch.stack([torch.cat([t.reshape(-1) for t in ts]) for ts in inits])
        self.flat = flat.to(device).requires_grad_(not self.dense)
        self.optimizer = PopulationOptimizer(
            optimizer,
            [self.flat],
            lr=torch.tensor([s.lr for s in models], device=device),
            weight_decay=torch.tensor([s.weight_decay for s in models], device=device),
            flush_subnormals=flush_subnormals,
        )
        self.order_generators = [model_generator(s.seed, ORDER_STREAM) for s in models]
        self.dropout = [float(s.dropout) for s in models]
        self.dropout_generators = [model_generator(s.seed, DROPOUT_STREAM) for s in models]
        self.diverged = torch.zeros(len(models), dtype=torch.bool, device=device)
        self.epoch = 0

    @property
    def params(self) -> list[torch.Tensor]:
        """Per-slot views (M, *shape) of the flat parameter buffer."""
        return unflatten_params(self.arch, self.flat)

    def _alone_on_one_thread(self) -> contextlib.AbstractContextManager:
        """One CPU thread for a population of one model, restored afterwards.

        With several models torch splits each batched product by model, so a model's
        arithmetic does not depend on the thread count; a lone model's product is
        split inside the matrix instead (torch.bmm of one 10 x 576 @ 576 x 10 differs
        by 1e-6 between 1 and 2 threads), which would make its bytes depend on the
        load `FairThreads` reacts to (tests/population/test_threads.py).
        """
        if len(self.dropout) > 1 or self.flat.device.type != "cpu":
            return contextlib.nullcontext()
        return torch_threads(1)

    def train_epoch(self) -> None:
        """One pass over the training set, each model in its own order."""
        with self._alone_on_one_thread():
            self._train_epoch()

    def _train_epoch(self) -> None:
        data, n = self.data, self.data.x_train.shape[0]
        x_shape = data.x_train.shape[1:]
        dropout = self.dropout if any(p > 0 for p in self.dropout) else None
        order = torch.stack([epoch_order(g, n) for g in self.order_generators])
        order = order.to(data.x_train.device)
        running = None
        if self.train_metrics == "running":
            running = Tally.zeros(len(self.dropout), data.num_classes, data.x_train.device)
        for start in range(0, n, self.batch_size):
            idx = order[:, start : start + self.batch_size]
            xb = data.x_train.index_select(0, idx.reshape(-1)).view(*idx.shape, *x_shape)
            self.optimizer.step([self._gradient(xb, data.y_train[idx], dropout, running)])
        self.epoch += 1
        self._running = running

    def _gradient(
        self,
        xb: torch.Tensor,
        labels: torch.Tensor,
        dropout: list[float] | None,
        running: Tally | None = None,
    ) -> torch.Tensor:
        """Gradient (M, n_params) of every model's mean loss on its batch xb[m]; the
        batch's loss and accuracy (before the step, in train mode) go into `running`."""
        if self.dense:

            def loss_grad(logits: torch.Tensor) -> torch.Tensor:
                if running is not None:
                    running.add(logits, labels, class_dim=1, confusion=False)
                return cross_entropy_grad(logits, labels, dim=1)

            grads = dense_train_grads(
                self.arch,
                self.activation,
                self.params,
                xb.reshape(*labels.shape, -1).transpose(1, 2),
                loss_grad,
                dropout,
                self.dropout_generators,
            )
            return flatten_params(self.arch, grads)
        bf16 = self.precision == "bf16"
        with torch.autocast(xb.device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = population_forward(
                self.arch,
                self.activation,
                self.params,
                xb,
                dropout=dropout,
                dropout_generators=self.dropout_generators,
                differentiable=bf16,
            )
        if running is not None:
            running.add(logits.detach().float(), labels, confusion=False)
        dlogits = cross_entropy_grad(logits.detach().float(), labels).to(logits.dtype)
        return torch.autograd.grad(logits, self.flat, grad_outputs=dlogits)[0]

    def record(self) -> EpochRecord:
        """Weights and metrics of every model at the current epoch.

        Train metrics are the running means of the epoch just trained ("running") or a
        pass over the training set ("full"). A full pass also stands in for the running
        means at epoch 0 and right after `load_state_dict`, when no batch was seen.
        """
        running = self._running if self.epoch > 0 else None
        with self._alone_on_one_thread():
            return _record(
                self.epoch,
                self.arch,
                self.activation,
                self.params,
                self.data,
                self.diverged,
                running,
            )

    def state_dict(self) -> dict[str, torch.Tensor]:
        """CPU tensors that restore this trainer exactly (see `load_state_dict`)."""
        state = {
            "epoch": torch.tensor(self.epoch),
            "diverged": self.diverged.cpu(),
            "params": self.flat.detach().cpu(),
        }
        state |= {f"optimizer.{k}": v for k, v in self.optimizer.state_dict().items()}
        for name in ("order", "dropout"):
            gens = getattr(self, f"{name}_generators")
            state[f"rng.{name}"] = torch.stack([g.get_state() for g in gens])
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Continue from a state saved by `state_dict` for the same models."""
        with torch.no_grad():
            self.flat.copy_(state["params"])
        prefix = "optimizer."
        self.optimizer.load_state_dict(
            {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        )
        for name in ("order", "dropout"):
            gens = getattr(self, f"{name}_generators")
            for g, g_state in zip(gens, state[f"rng.{name}"], strict=True):
                g.set_state(g_state.clone())  # set_state ignores a view's offset
        self.diverged.copy_(state["diverged"])
        self.epoch = int(state["epoch"])
        self._running = None  # the loaded epoch's batches were seen by another trainer


def train_population(
    arch: Architecture,
    models: Sequence[ModelSpec],
    data: TrainData,
    epochs: int,
    batch_size: int,
    *,
    train_metrics: str = "running",
    flush_subnormals: bool = True,
    precision: str = "fp32",
) -> Iterator[EpochRecord]:
    """Train models that share activation and optimizer; yield a record per epoch 0..epochs."""
    trainer = PopulationTrainer(
        arch,
        models,
        data,
        batch_size,
        train_metrics,
        flush_subnormals=flush_subnormals,
        precision=precision,
    )
    yield trainer.record()
    while trainer.epoch < epochs:
        trainer.train_epoch()
        yield trainer.record()


def _record(
    epoch: int,
    arch: Architecture,
    activation: str,
    params: Sequence[torch.Tensor],
    data: TrainData,
    diverged: torch.Tensor,
    train: Tally | None = None,
) -> EpochRecord:
    if train is None:
        train = evaluate_population(
            arch, activation, params, data.x_train, data.y_train, data.num_classes
        )
    test = evaluate_population(arch, activation, params, data.x_test, data.y_test, data.num_classes)
    flat = flatten_params(arch, [p.detach() for p in params])
    bad = ~torch.isfinite(flat).all(1) | (flat.abs().amax(1) > DIVERGENCE_LIMIT)
    bad |= ~torch.isfinite(train.loss_sum) | ~torch.isfinite(test.loss_sum)
    diverged |= bad
    return EpochRecord(
        epoch=epoch,
        weights=flat.float().cpu().numpy(),
        train_loss=train.loss(),
        train_acc=train.accuracy(),
        test_loss=test.loss(),
        test_acc=test.accuracy(),
        test_f1=test.f1(),
        diverged=diverged.cpu().numpy().copy(),
    )
