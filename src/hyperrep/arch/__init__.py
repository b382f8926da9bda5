"""Network descriptions shared by zoo training, weight layout and tokenization."""

from typing import TYPE_CHECKING

from hyperrep._lazy import lazy_package
from hyperrep.arch._layers import (
    Activation,
    BatchNorm2d,
    Conv2d,
    Flatten,
    GlobalAvgPool,
    Layer,
    Linear,
    MaxPool2d,
    ModuleContext,
    PopulationContext,
    ResidualAdd,
    ResidualStart,
    ShortcutBatchNorm2d,
    ShortcutConv2d,
)
from hyperrep.arch._permutation_spec import (
    PermEntry,
    PermGroup,
    PermutationSpec,
    permutation_spec,
)
from hyperrep.arch._presets import (
    create_architecture,
    list_architectures,
    register_architecture,
    resnet_architecture,
)
from hyperrep.arch._spec import Architecture, ParamSlot

# the parts that need torch load on first use
__getattr__, __dir__, __all__ = lazy_package(__name__, __file__)

if TYPE_CHECKING:
    from hyperrep.arch._activations import ACTIVATIONS, activation_fn, stacked_dropout_masks
    from hyperrep.arch._flat import (
        flatten_params,
        state_dict_to_vector,
        unflatten_params,
        vector_to_state_dict,
    )
    from hyperrep.arch._module import to_module
