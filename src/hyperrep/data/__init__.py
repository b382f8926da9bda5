"""Image data sets for model zoos: the synthetic Tetris set, MNIST and Fashion-MNIST.

``load_dataset(name, **kwargs)`` returns an :class:`ImageDataset` of normalised
tensors; ``list_datasets()`` gives the registered names.
"""

from typing import TYPE_CHECKING

from hyperrep._lazy import lazy_package

#: Mini-batch size the Tetris zoo is trained with (chosen together with the data).
TETRIS_BATCH_SIZE = 8

# imported on first use (they load torch)
__getattr__, __dir__, __all__ = lazy_package(__name__, __file__)

if TYPE_CHECKING:
    from hyperrep.data._dataset import ImageDataset, list_datasets, load_dataset, register_dataset
    from hyperrep.data.mnist import DataNotFoundError, load_fashion_mnist, load_mnist
    from hyperrep.data.tetris import make_tetris
