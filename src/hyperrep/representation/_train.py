"""Training a hyper-representation on a zoo, with validation, best checkpoint and resume,
into a run folder (`_run_folder.py`)."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from hyperrep._device import check_device
from hyperrep._errors import HyperrepError
from hyperrep._io import check_free_space
from hyperrep._lock import is_unclaimed, writer_lock
from hyperrep.arch import Architecture
from hyperrep.representation import _run_folder as folder
from hyperrep.representation._behaviour import Behaviour, split_behaviours
from hyperrep.representation._config import RunConfig
from hyperrep.representation._data import CheckpointData, Normalizer, load_checkpoints
from hyperrep.representation._distributed import Ranks, process_group, ranks_from_env
from hyperrep.representation._losses import layer_ids, pooled_r2
from hyperrep.representation._model import HyperRepresentation
from hyperrep.representation._objective import Views, learning_rate, objective
from hyperrep.zoo import Zoo

_VAL_SEED = 12345  # fixed views for the validation contrastive loss


def selection_score(config: RunConfig, metrics: dict[str, float]) -> float:
    """How good an epoch's validation metrics are (higher is better): -val loss, or val R^2
    (when there is a decoder) if the config selects by it."""
    if config.train.selection == "val_r2" and "val_r2" in metrics:
        return metrics["val_r2"]
    if "val_loss" in metrics:
        return -metrics["val_loss"]
    return -metrics["val_contrastive"]  # runs stored before val_loss was recorded


class Trainer:
    """Holds the model, optimiser and random state of one run; trains epoch by epoch."""

    def __init__(
        self,
        arch: Architecture,
        config: RunConfig,
        data: CheckpointData,
        device: str,
        ranks: Ranks | None = None,
        behaviours: dict[str, Behaviour] | None = None,
    ) -> None:
        self.arch, self.config, self.device = arch, config, device
        self.ranks = ranks or Ranks()
        t = config.train
        if t.behaviour_weight > 0 and behaviours is None:
            raise HyperrepError("a behavioural term needs its targets (`split_behaviours`)")
        if t.behaviour_weight > 0 and self.ranks.distributed:
            raise HyperrepError("the behavioural term does not run under torchrun yet")
        self.behaviours = behaviours if t.behaviour_weight > 0 else None
        torch.manual_seed(t.seed)
        self.model = HyperRepresentation(arch, config.model, decoder=t.has_decoder).to(device)
        train_raw = data.split("train")
        self.normalizer = (
            Normalizer.fit(arch, train_raw) if t.normalize else Normalizer.identity(arch)
        )
        self.train_x = self.normalizer.forward(train_raw).to(device)
        self.val_raw = data.split("val").to(device)
        if self.val_raw.shape[0] < 2:  # the validation loss needs a batch of two views
            raise HyperrepError(
                "the validation split holds "
                f"{self.val_raw.shape[0]} checkpoint(s); training needs at "
                "least 2 (a zoo with more models)"
            )
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=t.lr, weight_decay=t.weight_decay
        )
        self.generator = torch.Generator().manual_seed(t.seed + 1)
        self.views = Views.from_config(arch, config)
        self.layer_ids = layer_ids(arch).to(device) if t.recon_loss == "layer" else None
        self.steps_per_epoch = math.ceil(self.train_x.shape[0] / t.batch_size)
        self.epoch = 0
        self.history: list[dict[str, float]] = []
        self.best: float | None = None
        self.lr_scale = 1.0  # reduce-on-plateau factor so far
        self.plateau_best = math.inf
        self.plateau_wait = 0

    # -- schedule and loss -------------------------------------------------------------
    def _lr(self, step: int) -> float:
        return learning_rate(self.config.train, step, self.steps_per_epoch, scale=self.lr_scale)

    def _step_plateau(self, train_loss: float) -> None:
        """ReduceLROnPlateau(mode min, factor 0.3, threshold 1e-4 relative) on the epoch's
        training loss, as the authors stepped it."""
        if train_loss < self.plateau_best * (1 - 1e-4):
            self.plateau_best, self.plateau_wait = train_loss, 0
            return
        self.plateau_wait += 1
        if self.plateau_wait > self.config.train.plateau_patience:
            self.lr_scale *= 0.3
            self.plateau_wait = 0

    def _loss(
        self,
        x: torch.Tensor,
        generator: torch.Generator,
        shard: bool = False,
        *,
        rows: torch.Tensor | None = None,
        split: str = "train",
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The objective on checkpoints `rows` of `split` (their normalised weights `x`;
        the rows matter to the behavioural term only)."""
        behaviour = None
        if self.behaviours is not None:
            if rows is None:
                raise HyperrepError("the behavioural term needs the batch's checkpoint rows")
            targets = self.behaviours[split]
            draws = generator if split == "train" else None  # validation: fixed inputs

            def behaviour(decoded: torch.Tensor) -> torch.Tensor:
                views = decoded.shape[0] // len(rows)  # each view's rows in the batch's order
                return targets.loss(self.normalizer.inverse(decoded), rows.repeat(views), draws)

        return objective(self.model, self.views, x, self.config.train, generator,
                         layers=self.layer_ids, ranks=self.ranks, shard=shard,
                         device=self.device, behaviour=behaviour)  # fmt: skip

    # -- one step, one epoch -------------------------------------------------------------
    def step(
        self, rows: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """One optimizer step on the training checkpoints `rows`; the loss and its terms."""
        loss, terms = self._loss(self.train_x[rows.to(self.device)], generator, True, rows=rows)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.ranks.average_gradients(self.model.parameters())
        self.optimizer.step()
        return loss, terms

    def train_epoch(self, bar: tqdm | None = None) -> dict[str, float]:
        """One pass over the training split; returns the epoch's mean losses."""
        t = self.config.train
        self.model.train()
        order = torch.randperm(self.train_x.shape[0], generator=self.generator)
        sums: dict[str, float] = {}
        for i, start in enumerate(range(0, len(order), t.batch_size)):
            idx = order[start : start + t.batch_size]
            if len(idx) < max(2, self.ranks.world):
                continue
            for group in self.optimizer.param_groups:
                group["lr"] = self._lr(self.epoch * self.steps_per_epoch + i)
            loss, terms = self.step(idx, self.generator)
            for k, v in {"loss": float(loss.detach()), **terms}.items():
                sums[k] = sums.get(k, 0.0) + v
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: f"{v:.4f}" for k, v in terms.items()}, refresh=False)
        self.epoch += 1
        sums = self.ranks.sum(sums)  # every rank's share: the means are the whole batches'
        means = {
            f"train_{k}": v / (self.steps_per_epoch * self.ranks.world) for k, v in sums.items()
        }
        if t.schedule == "plateau":
            self._step_plateau(means["train_loss"])
        return means

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Validation metrics: reconstruction R^2 (raw weights, unaugmented inputs), and the
        training objective and its terms on views drawn from a fixed seed."""
        self.model.eval()
        metrics: dict[str, float] = {}
        x = self.normalizer.forward(self.val_raw)
        if self.model.has_decoder:
            decoded = torch.cat([self.model.decode(self.model.encode(b)) for b in x.split(1024)])
            target = self.normalizer.inverse(self.views.target(x))
            metrics["val_r2"] = pooled_r2(self.normalizer.inverse(decoded), target)
        g = torch.Generator().manual_seed(_VAL_SEED)
        sums: dict[str, float] = {}
        count = 0
        size = self.config.train.batch_size
        for start in range(0, x.shape[0], size):
            batch = x[start : start + size]
            if batch.shape[0] < 2:
                continue
            rows = torch.arange(start, start + batch.shape[0])
            loss, terms = self._loss(batch, g, rows=rows, split="val")
            for k, v in {"loss": float(loss), **terms}.items():
                sums[k] = sums.get(k, 0.0) + v * batch.shape[0]
            count += batch.shape[0]
        metrics.update({f"val_{k}": v / max(1, count) for k, v in sums.items()})
        return metrics

    def score(self, metrics: dict[str, float]) -> float:
        return selection_score(self.config, metrics)

    # -- state ---------------------------------------------------------------------------
    def model_tensors(self) -> dict[str, torch.Tensor]:
        state = {f"model.{k}": v.detach().cpu() for k, v in self.model.state_dict().items()}
        state["normalizer.mean"] = self.normalizer.mean
        state["normalizer.std"] = self.normalizer.std
        return state

    def state_tensors(self) -> dict[str, torch.Tensor]:
        state = self.model_tensors()
        opt = self.optimizer.state_dict()
        for i, param_state in opt["state"].items():
            for k, v in param_state.items():
                state[f"optimizer.{i}.{k}"] = torch.as_tensor(v).cpu()
        state["rng.data"] = self.generator.get_state()
        state["rng.torch"] = torch.get_rng_state()
        state["epoch"] = torch.tensor(self.epoch)
        state["plateau"] = torch.tensor(
            [self.lr_scale, self.plateau_best, float(self.plateau_wait)], dtype=torch.float64
        )
        return state

    def load_state_tensors(self, state: dict[str, torch.Tensor]) -> None:
        self.model.load_state_dict(
            {k[len("model.") :]: v for k, v in state.items() if k.startswith("model.")}
        )
        self.normalizer = Normalizer(state["normalizer.mean"], state["normalizer.std"])
        opt = self.optimizer.state_dict()
        for key, value in state.items():
            if key.startswith("optimizer."):
                _, i, name = key.split(".", 2)
                opt["state"].setdefault(int(i), {})[name] = (
                    value.to(self.device) if name != "step" else value
                )
        self.optimizer.load_state_dict(opt)
        self.generator.set_state(state["rng.data"].clone())
        torch.set_rng_state(state["rng.torch"].clone())
        self.epoch = int(state["epoch"])
        if "plateau" in state:
            scale, best, wait = state["plateau"].tolist()
            self.lr_scale, self.plateau_best, self.plateau_wait = scale, best, int(wait)


def _run_meta(zoo: Zoo, config: RunConfig) -> dict[str, Any]:
    from hyperrep._version import __version__

    return {
        "format": folder.RUN_FORMAT,
        "format_version": 1,
        "hyperrep_version": __version__,
        "zoo": {
            "path": str(zoo.path.resolve()),
            "preset": zoo.config.preset,
            "config": zoo.meta["config"],
            "models": zoo.model_limit,  # None: all of them
        },
        "architecture": zoo.architecture.to_dict(),
        "config": config.to_dict(),
    }


def train_representation(
    zoo: Zoo,
    config: RunConfig,
    out: str | Path,
    *,
    device: str = "cpu",
    progress: bool = True,
    on_epoch: Callable[[int], None] | None = None,
    data_dir: str | Path | None = None,
) -> list[dict[str, float]]:
    """Train on `zoo` into run folder `out` (resuming a run with the same settings there);
    returns the per-epoch history. `data_dir` holds the zoo's data set (MNIST files), read
    for the behavioural term only.

    Started by `torchrun` (WORLD_SIZE > 1 in the environment), the processes train one
    model together (`_distributed`); rank 0 writes the run folder and shows progress.
    """
    check_device(device)
    if not zoo.complete:
        some = "its first models are" if zoo.model_limit else "it is"
        raise HyperrepError(
            f"{zoo.path} is not complete ({some} still training); finish it "
            "with `hyperrep zoo create`, or learn from its first N finished "
            "models with --models N"
        )
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise HyperrepError(f"{out} exists and is not an empty folder or a hyperrep run")
    ranks = ranks_from_env()
    with (
        process_group(ranks, device) as rank_device,
        _main_rank_lock(out, ranks),
        _private_rng(rank_device),
    ):
        return _train_locked(
            zoo, config, out, rank_device, progress and ranks.main, on_epoch, ranks, data_dir
        )


def _private_rng(device: str) -> contextlib.AbstractContextManager:
    """torch's global generators as they were, once training is done: the run seeds them
    (the model's init and dropout draw from them) and a caller's stream is left alone."""
    cuda = [torch.device(device).index or 0] if device.startswith("cuda") else []
    return torch.random.fork_rng(devices=cuda)


@contextmanager
def _main_rank_lock(out: Path, ranks: Ranks) -> Iterator[None]:
    """The run folder's writer lock, taken by rank 0; every rank stops if it cannot."""
    with ExitStack() as stack:
        error: HyperrepError | None = None
        if ranks.main:
            try:
                stack.enter_context(writer_lock(out, "run"))
            except HyperrepError as err:
                error = err
        if not ranks.agree(error is None):
            raise error or HyperrepError(f"rank 0 could not lock {out}; see its message")
        yield


def _train_locked(
    zoo: Zoo,
    config: RunConfig,
    out: Path,
    device: str,
    progress: bool,
    on_epoch: Callable[[int], None] | None,
    ranks: Ranks,
    data_dir: str | Path | None,
) -> list[dict[str, float]]:
    meta = json.loads(json.dumps(_run_meta(zoo, config)))  # as it reads back from disk
    resume = (out / folder.RUN_FILE).is_file()
    if resume:
        old = folder.read_description(out)
        same_zoo = all(old.get("zoo", {}).get(k) == meta["zoo"][k] for k in ("config", "models"))
        old_config = json.loads(json.dumps(RunConfig.from_dict(old["config"]).to_dict()))
        if old_config != meta["config"] or not same_zoo:
            raise HyperrepError(f"{out} holds a run with other settings; choose another --out")
    elif not is_unclaimed(out):
        raise HyperrepError(f"{out} exists and is not an empty folder or a hyperrep run")

    data = load_checkpoints(
        zoo,
        config.train.split_seed,
        include_init=config.train.include_init,
        weight_limit=config.train.weight_limit,
    )
    behaviours = None
    if config.train.behaviour_weight > 0:
        behaviours = split_behaviours(zoo, data, config.train, data_dir, device)
    trainer = Trainer(zoo.architecture, config, data, device, ranks, behaviours)
    refused = None
    if ranks.main and not resume:
        # model.safetensors, last.safetensors (model and two Adam moments), and the
        # temporary copies atomic writes make of both
        size = 4 * sum(p.numel() for p in trainer.model.parameters())
        try:
            check_free_space(out, 8 * size, "the run's model and resume files")
        except HyperrepError as err:
            refused = err
    # every rank has read the folder before rank 0 writes to it, and all stop together
    if not ranks.agree(refused is None):
        raise refused or HyperrepError("rank 0 refused to start the run (see its message)")
    if ranks.main:
        try:
            out.mkdir(parents=True, exist_ok=True)
            if not resume:
                folder.write_description(out, meta)
        except OSError as err:
            raise HyperrepError(f"cannot write a run to {out}: {err.strerror or err}") from err
    last = folder.load_last_epoch(out)
    if last is not None:  # the commit point of an epoch: state and history together
        trainer.load_state_tensors(last[0])
        trainer.history = last[1]
        trainer.best = max((trainer.score(h) for h in trainer.history), default=None)
        if ranks.main:
            folder.write_history(out, trainer.history)  # a kill may have beaten it
    total = config.train.epochs * trainer.steps_per_epoch
    with tqdm(
        total=total,
        initial=trainer.epoch * trainer.steps_per_epoch,
        unit="step",
        disable=not progress,
        desc=f"train {config.train.variant}",
        dynamic_ncols=True,
    ) as bar:
        while trainer.epoch < config.train.epochs:
            metrics = {"epoch": trainer.epoch + 1, **trainer.train_epoch(bar)}
            if not ranks.main:  # the others go on to the next epoch's first all-reduce
                trainer.history.append(metrics)
                continue
            metrics.update(trainer.validate())
            trainer.history.append(metrics)
            score = trainer.score(metrics)
            best = trainer.best is None or score > trainer.best
            if best:
                trainer.best = score
            folder.save_epoch(out, trainer.state_tensors(), trainer.history,
                              trainer.model_tensors() if best else None)  # fmt: skip
            shown = ", ".join(
                f"{k.replace('_', ' ')} {v:.4f}" for k, v in metrics.items() if k.startswith("val")
            )
            if progress:
                bar.write(f"epoch {trainer.epoch}/{config.train.epochs}: {shown}")
            if on_epoch is not None:
                on_epoch(trainer.epoch)
    return trainer.history
