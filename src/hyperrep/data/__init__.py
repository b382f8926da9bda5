"""Image data sets for model zoos: the synthetic Tetris set, MNIST and Fashion-MNIST.

``load_dataset(name, **kwargs)`` returns an :class:`ImageDataset` of normalised
tensors; ``list_datasets()`` gives the registered names.
"""

from typing import TYPE_CHECKING

from hyperrep._lazy import lazy_exports

#: Mini-batch size the Tetris zoo is trained with (chosen together with the data).
TETRIS_BATCH_SIZE = 8

# imported on first use (they load torch)
__getattr__, __dir__ = lazy_exports(__name__, {
    "ImageDataset": "._dataset", "list_datasets": "._dataset", "load_dataset": "._dataset",
    "register_dataset": "._dataset", "DataNotFoundError": ".mnist",
    "load_fashion_mnist": ".mnist", "load_mnist": ".mnist", "make_tetris": ".tetris",
})  # fmt: skip
if TYPE_CHECKING:
    from ._dataset import ImageDataset, list_datasets, load_dataset, register_dataset
    from .mnist import DataNotFoundError, load_fashion_mnist, load_mnist
    from .tetris import make_tetris

__all__ = [
    "TETRIS_BATCH_SIZE",
    "DataNotFoundError",
    "ImageDataset",
    "list_datasets",
    "load_dataset",
    "load_fashion_mnist",
    "load_mnist",
    "make_tetris",
    "register_dataset",
]
