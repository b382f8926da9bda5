"""hyperrep: learning on neural network weights.

Model zoos (`hyperrep.zoo`), architecture descriptions (`hyperrep.arch`) and data sets
(`hyperrep.data`); the names below are the curated public API.
"""

from importlib.metadata import PackageNotFoundError, version

from hyperrep._errors import HyperrepError
from hyperrep.arch import Architecture, create_architecture, list_architectures
from hyperrep.zoo import (
    Zoo,
    ZooConfig,
    create_zoo,
    create_zoo_config,
    list_zoo_presets,
    open_zoo,
)

try:
    __version__ = version("hyperrep")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "Architecture",
    "HyperrepError",
    "Zoo",
    "ZooConfig",
    "__version__",
    "create_architecture",
    "create_zoo",
    "create_zoo_config",
    "list_architectures",
    "list_zoo_presets",
    "open_zoo",
]
