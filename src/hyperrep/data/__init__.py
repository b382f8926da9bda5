"""Image data sets for model zoos: the synthetic Tetris set, MNIST and Fashion-MNIST.

``load_dataset(name, **kwargs)`` returns an :class:`ImageDataset` of normalised
tensors; ``list_datasets()`` gives the registered names.
"""

from ._dataset import ImageDataset, list_datasets, load_dataset, register_dataset
from .mnist import DataNotFoundError, load_fashion_mnist, load_mnist
from .tetris import TETRIS_BATCH_SIZE, make_tetris

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
