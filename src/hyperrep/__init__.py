"""hyperrep: learning on neural network weights.

Model zoos (`hyperrep.zoo`), architecture descriptions (`hyperrep.arch`) and data sets
(`hyperrep.data`); the names below are the curated public API.
"""

from typing import TYPE_CHECKING

from hyperrep._errors import HyperrepError
from hyperrep._lazy import lazy_package
from hyperrep._version import __version__

# imported on first use: `import hyperrep` stays cheap (no torch until needed)
__getattr__, __dir__, __all__ = lazy_package(__name__, __file__)

if TYPE_CHECKING:
    from hyperrep.arch import Architecture, create_architecture, list_architectures
    from hyperrep.zoo import (
        Zoo,
        ZooConfig,
        create_zoo,
        create_zoo_config,
        list_zoo_presets,
        open_zoo,
    )
