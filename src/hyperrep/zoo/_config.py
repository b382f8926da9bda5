"""Zoo configuration as data: which models a zoo holds and how each is trained."""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from hyperrep._errors import HyperrepError
from hyperrep.population import TRAIN_METRICS, ModelSpec, check_init, check_precision
from hyperrep.zoo._order import balanced_order

GRID_KEYS = ("init", "optimizer", "activation", "lr", "weight_decay", "dropout")
MODEL_ORDERS = ("balanced", "grid")
# what a zoo.json written before these fields existed was trained with: format 1 lacks
# the protocol fields, formats 1-3 the model order (a grid zoo's subset was then a random
# draw, `model_order` "grid"; a one-configuration zoo's order is the same either way)
_FORMAT_1_DEFAULTS = {"init_scheme": "fan-in", "train_metrics": "full", "holdout": 0}


@dataclass(frozen=True)
class ZooConfig:
    """A zoo: architecture, data, training schedule, and the grid of models.

    Every combination of `grid` values is trained once per seed: with the shared
    `seeds`, or, when `random_seeds_per_config` is set, with that many seeds drawn for
    each combination from [1, 1e6] by `seed_draw_seed`.

    `init_scheme` says what the init names mean ("authors" or "fan-in", zoo/_init.py).
    `train_metrics` says how train loss / accuracy (and so GGap) are recorded: "running",
    the mean over the epoch's mini-batches in train mode as the authors' training loop
    does, or "full", a pass over the whole training set in eval mode after the epoch.
    `holdout` training images are set aside before training, drawn as the authors'
    `random_split(..., generator=manual_seed(holdout_seed))`; models never see them.
    `model_order` says which models a zoo of `n_models` holds. "balanced" (the default):
    the first `n_models` of a fixed order of the grid in which every prefix is balanced
    over each hyperparameter's values and the seeds (zoo/_order.py), so a zoo grows by
    training only the new models. "grid" (zoos of format 3 and earlier): the grid
    in its natural order, and a subset a random draw with seed 0, which cannot grow.
    `flush_subnormals` zeroes subnormal weights and optimizer moments after every step
    (`hyperrep.population`; zoos of format 4 and earlier were trained without it).
    `precision` is the arithmetic of the training steps: "fp32" (the authors', and every
    zoo of format 5 and earlier) or "bf16" (CNNs: bfloat16 products on fp32 master
    weights, docs/zoo.md "bf16").
    `source` marks a zoo imported from another format (`init_scheme` "imported": the init
    names are the source's own); such a zoo is read, never trained or grown.
    """

    preset: str
    architecture: str
    dataset: str
    epochs: int
    batch_size: int
    grid: dict[str, tuple[Any, ...]]
    seeds: tuple[int, ...] = ()
    random_seeds_per_config: int = 0
    seed_draw_seed: int = 0
    n_models: int | None = None  # train a deterministic subset of this size
    train_subset: int | None = None  # first k training images
    test_subset: int | None = None
    dataset_options: dict[str, Any] = field(default_factory=dict)
    init_scheme: str = "authors"
    train_metrics: str = "running"
    holdout: int = 0
    holdout_seed: int = 42
    model_order: str = "balanced"
    flush_subnormals: bool = True
    precision: str = "fp32"
    source: str | None = None  # imported zoos: where from (they are read, never trained)

    def __post_init__(self) -> None:
        for method in self.grid.get("init", ()):
            check_init(method, self.init_scheme)
        if self.train_metrics not in TRAIN_METRICS:
            raise HyperrepError(
                f"train_metrics must be one of {', '.join(TRAIN_METRICS)}, "
                f"got {self.train_metrics!r}"
            )
        if self.model_order not in MODEL_ORDERS:
            raise HyperrepError(
                f"model_order must be one of {', '.join(MODEL_ORDERS)}, got {self.model_order!r}"
            )
        if self.precision != "fp32":
            from hyperrep.arch import create_architecture

            check_precision(self.precision, create_architecture(self.architecture).convolutional)
        if self.holdout < 0:
            raise HyperrepError(f"holdout must be >= 0, got {self.holdout}")
        missing = [k for k in GRID_KEYS if k not in self.grid]
        if missing:
            raise HyperrepError(f"zoo {self.preset!r}: grid lacks {missing}")
        if bool(self.seeds) == bool(self.random_seeds_per_config):
            raise HyperrepError(
                f"zoo {self.preset!r}: give either seeds or random seeds per config"
            )
        for name, value in (("epochs", self.epochs), ("batch_size", self.batch_size)):
            if value < 1:
                raise HyperrepError(f"{name} must be >= 1, got {value}")
        for name in ("n_models", "train_subset", "test_subset"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise HyperrepError(f"{name} must be >= 1, got {value}")
        if self.n_models is not None and self.n_models > self.total_models:
            raise HyperrepError(
                f"zoo {self.preset!r} has {self.total_models} models; {self.n_models} asked for"
            )

    @property
    def total_models(self) -> int:
        """Size of the full grid, before any `n_models` subset."""
        combos = int(np.prod([len(self.grid[k]) for k in GRID_KEYS]))
        return combos * (len(self.seeds) or self.random_seeds_per_config)

    def models(self) -> list[ModelSpec]:
        """The zoo's models in their order (see `model_order`); model_id is the position
        in the full grid (every combination of `grid` values, then its seeds)."""
        combos = list(itertools.product(*(self.grid[k] for k in GRID_KEYS)))
        if self.seeds:
            seeds_per_combo = [self.seeds] * len(combos)
        else:
            rng = np.random.default_rng(self.seed_draw_seed)
            draws = rng.integers(1, 1_000_001, size=(len(combos), self.random_seeds_per_config))
            seeds_per_combo = [tuple(int(s) for s in row) for row in draws]
        specs = []
        for combo, seeds in zip(combos, seeds_per_combo, strict=True):
            values = dict(zip(GRID_KEYS, combo, strict=True))
            for seed in seeds:
                specs.append(
                    ModelSpec(
                        model_id=len(specs), seed=int(seed), init_scheme=self.init_scheme, **values
                    )
                )
        if len(combos) == 1:  # a seed zoo: its seeds in order, whatever the model order
            return specs[: self.n_models]
        if self.model_order == "grid":
            if self.n_models is None or self.n_models >= len(specs):
                return specs
            keep = np.random.default_rng(0).choice(len(specs), size=self.n_models, replace=False)
            return [specs[i] for i in sorted(keep)]
        order = balanced_order(self._levels())
        return [specs[i] for i in order[: self.n_models]]

    def _levels(self) -> np.ndarray:
        """Per model of the grid, the index of its value of each grid key and its seed
        slot (the position of its seed among its configuration's seeds)."""
        per_combo = len(self.seeds) or self.random_seeds_per_config
        # np.indices in C order enumerates combinations as itertools.product does
        index = np.indices([len(self.grid[k]) for k in GRID_KEYS]).reshape(len(GRID_KEYS), -1).T
        slots = np.tile(np.arange(per_combo), len(index))[:, None]
        return np.hstack([np.repeat(index, per_combo, axis=0), slots])

    def with_overrides(self, **overrides: Any) -> ZooConfig:
        """A copy with the given fields replaced (None values are ignored)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, inverse of `from_dict`."""
        data = asdict(self)
        data["grid"] = {k: list(v) for k, v in self.grid.items()}
        data["seeds"] = list(self.seeds)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ZooConfig:
        """Rebuild a configuration from `to_dict` output (of any zoo format)."""
        data = {**_FORMAT_1_DEFAULTS, **data}
        data["grid"] = {k: tuple(v) for k, v in data["grid"].items()}
        if "model_order" not in data:  # formats 1-3; one configuration: the same order
            one = all(len(v) == 1 for v in data["grid"].values())
            data["model_order"] = "balanced" if one else "grid"
        data.setdefault("flush_subnormals", False)  # formats 1-4
        data["seeds"] = tuple(data.get("seeds", ()))
        return cls(**data)
