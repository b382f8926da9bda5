"""hyperrep: learning on neural network weights.

Model zoos (`hyperrep.zoo`), architecture descriptions (`hyperrep.arch`) and data sets
(`hyperrep.data`); the names below are the curated public API.
"""

import os

# OpenMP threads that wait for work spin only briefly, then sleep: GNU OpenMP's long default
# spin starves a second CPU-bound job on a shared machine (measured: 15% of the alone rate
# beside another build, 54% with this; alone speed unchanged on the CNN kernels). Must be
# set before torch loads the runtime; a policy or spin count the user set wins.
# See docs/reliability.md.
if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = "3000"

from typing import TYPE_CHECKING  # noqa: E402

from hyperrep._errors import HyperrepError  # noqa: E402
from hyperrep._lazy import lazy_package  # noqa: E402
from hyperrep._version import __version__  # noqa: E402

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
