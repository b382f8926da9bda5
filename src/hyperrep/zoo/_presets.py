"""The zoos of the paper (appendix Tables 1 and 2), registered by name.

Every preset initialises as the authors did ("authors" init scheme, biases 0.01) and
records running-mean train metrics. The CNN zoos follow the authors' training scripts
(ModelZoos/ModelZooDataset `train_zoo_mnist_uniform.py`): batch 10, 50,000 of the 60,000
training images (10,000 held out with seed 42), Fashion-MNIST normalised with 0.5 / 0.5.
See docs/zoo.md.
"""

from __future__ import annotations

from hyperrep._registry import Registry
from hyperrep.data import TETRIS_BATCH_SIZE
from hyperrep.zoo._config import ZooConfig

ZOO_PRESETS: Registry[ZooConfig] = Registry("zoo preset")
register_zoo = ZOO_PRESETS.register

_TETRIS_EPOCHS = 75
_MNIST_EPOCHS = 25
_MNIST_BATCH = 10
_MNIST_HOLDOUT = 10_000
_FASHION_NORMALISATION = {"mean": 0.5, "std": 0.5}
_MNIST_HYP_INITS = ("uniform", "normal", "kaiming_uniform", "kaiming_normal")
_MNIST_HYP_ACTS = ("tanh", "relu", "sigmoid", "gelu")


def _fixed(**values: object) -> dict[str, tuple[object, ...]]:
    grid: dict[str, tuple[object, ...]] = {
        "init": ("uniform",),
        "optimizer": ("adam",),
        "activation": ("tanh",),
        "lr": (3e-4,),
        "weight_decay": (0.0,),
        "dropout": (0.0,),
    }
    grid.update({k: v if isinstance(v, tuple) else (v,) for k, v in values.items()})
    return grid


@register_zoo("tetris-seed")
def tetris_seed() -> ZooConfig:
    """1,000 Tetris MLPs that differ only in their seed (1-1000)."""
    return ZooConfig(
        "tetris-seed",
        "tetris-mlp",
        "tetris",
        _TETRIS_EPOCHS,
        TETRIS_BATCH_SIZE,
        _fixed(lr=3e-5),
        seeds=tuple(range(1, 1001)),
    )


@register_zoo("tetris-hyp")
def tetris_hyp() -> ZooConfig:
    """3,600 Tetris MLPs: 6 inits x 2 activations x 3 learning rates x seeds 1-100."""
    inits = (
        "uniform",
        "normal",
        "kaiming_normal",
        "kaiming_uniform",
        "xavier_normal",
        "xavier_uniform",
    )
    grid = _fixed(init=inits, activation=("tanh", "relu"), lr=(1e-3, 1e-4, 1e-5))
    return ZooConfig(
        "tetris-hyp",
        "tetris-mlp",
        "tetris",
        _TETRIS_EPOCHS,
        TETRIS_BATCH_SIZE,
        grid,
        seeds=tuple(range(1, 101)),
    )


def _seed_zoo(name: str, dataset: str) -> ZooConfig:
    return ZooConfig(
        name,
        "mnist-cnn",
        dataset,
        _MNIST_EPOCHS,
        _MNIST_BATCH,
        _fixed(lr=3e-4),
        seeds=tuple(range(1, 1001)),
        holdout=_MNIST_HOLDOUT,
        dataset_options=dict(_FASHION_NORMALISATION) if dataset == "fashion-mnist" else {},
    )


@register_zoo("mnist-seed")
def mnist_seed() -> ZooConfig:
    """1,000 MNIST CNNs that differ only in their seed (1-1000)."""
    return _seed_zoo("mnist-seed", "mnist")


@register_zoo("fashion-seed")
def fashion_seed() -> ZooConfig:
    """1,000 Fashion-MNIST CNNs that differ only in their seed (1-1000)."""
    return _seed_zoo("fashion-seed", "fashion-mnist")


@register_zoo("mnist-resnet-seed")
def mnist_resnet_seed() -> ZooConfig:
    """1,000 small residual CNNs with BatchNorm on MNIST, seeds 1-1000 (not in the paper)."""
    return ZooConfig(
        "mnist-resnet-seed",
        "mnist-resnet",
        "mnist",
        _MNIST_EPOCHS,
        32,
        _fixed(init="kaiming_normal", activation="relu", lr=1e-3),
        seeds=tuple(range(1, 1001)),
        holdout=_MNIST_HOLDOUT,
    )


def _hyp1_grid() -> dict[str, tuple[object, ...]]:
    return _fixed(
        init=_MNIST_HYP_INITS,
        optimizer=("adam", "sgd"),
        activation=_MNIST_HYP_ACTS,
        lr=(3e-3, 1e-3, 3e-4, 1e-4),
        dropout=(0.0, 0.3, 0.5),
        weight_decay=(0.0, 1e-3, 1e-1),
    )


def _hyp5_grid() -> dict[str, tuple[object, ...]]:
    return _fixed(
        init=_MNIST_HYP_INITS,
        optimizer=("adam", "sgd"),
        activation=_MNIST_HYP_ACTS,
        lr=(1e-3, 1e-4),
        dropout=(0.0, 0.5),
        weight_decay=(1e-3, 1e-1),
    )


@register_zoo("mnist-hyp-1-fix-seed")
def mnist_hyp_1_fix_seed() -> ZooConfig:
    """1,152 hyperparameter configurations, all with seed 42."""
    return ZooConfig(
        "mnist-hyp-1-fix-seed",
        "mnist-cnn",
        "mnist",
        _MNIST_EPOCHS,
        _MNIST_BATCH,
        _hyp1_grid(),
        seeds=(42,),
        holdout=_MNIST_HOLDOUT,
    )


@register_zoo("mnist-hyp-1-rand-seed")
def mnist_hyp_1_rand_seed() -> ZooConfig:
    """1,152 hyperparameter configurations, each with one seed drawn from [1, 1e6]."""
    return ZooConfig(
        "mnist-hyp-1-rand-seed",
        "mnist-cnn",
        "mnist",
        _MNIST_EPOCHS,
        _MNIST_BATCH,
        _hyp1_grid(),
        random_seeds_per_config=1,
        seed_draw_seed=1,
        holdout=_MNIST_HOLDOUT,
    )


@register_zoo("mnist-hyp-5-fix-seed")
def mnist_hyp_5_fix_seed() -> ZooConfig:
    """256 hyperparameter configurations, each with seeds 1-5 (1,280 models)."""
    return ZooConfig(
        "mnist-hyp-5-fix-seed",
        "mnist-cnn",
        "mnist",
        _MNIST_EPOCHS,
        _MNIST_BATCH,
        _hyp5_grid(),
        seeds=(1, 2, 3, 4, 5),
        holdout=_MNIST_HOLDOUT,
    )


@register_zoo("mnist-hyp-5-rand-seed")
def mnist_hyp_5_rand_seed() -> ZooConfig:
    """256 hyperparameter configurations, each with 5 seeds drawn from [1, 1e6]."""
    return ZooConfig(
        "mnist-hyp-5-rand-seed",
        "mnist-cnn",
        "mnist",
        _MNIST_EPOCHS,
        _MNIST_BATCH,
        _hyp5_grid(),
        random_seeds_per_config=5,
        seed_draw_seed=5,
        holdout=_MNIST_HOLDOUT,
    )


def create_zoo_config(name: str, **overrides: object) -> ZooConfig:
    """The preset called `name`, with overrides (n_models, epochs, train_subset, ...)."""
    return ZOO_PRESETS.create(name).with_overrides(**overrides)


def list_zoo_presets() -> list[str]:
    """Names of the registered zoo presets."""
    return ZOO_PRESETS.names()
