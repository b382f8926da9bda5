"""Network descriptions shared by zoo training, weight layout and tokenization."""

from typing import TYPE_CHECKING

from hyperrep._lazy import lazy_exports
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
)
from hyperrep.arch._spec import Architecture, ParamSlot

# the parts that need torch load on first use
__getattr__, __dir__ = lazy_exports(__name__, {
    "ACTIVATIONS": "._activations", "activation_fn": "._activations",
    "stacked_dropout_masks": "._activations",
    "flatten_params": "._flat", "state_dict_to_vector": "._flat",
    "unflatten_params": "._flat", "vector_to_state_dict": "._flat",
    "to_module": "._module",
})  # fmt: skip
if TYPE_CHECKING:
    from hyperrep.arch._activations import ACTIVATIONS, activation_fn, stacked_dropout_masks
    from hyperrep.arch._flat import (
        flatten_params,
        state_dict_to_vector,
        unflatten_params,
        vector_to_state_dict,
    )
    from hyperrep.arch._module import to_module

__all__ = [
    "ModuleContext",
    "PopulationContext",
    "stacked_dropout_masks",
    "ACTIVATIONS",
    "activation_fn",
    "flatten_params",
    "state_dict_to_vector",
    "unflatten_params",
    "vector_to_state_dict",
    "Activation",
    "Architecture",
    "BatchNorm2d",
    "Conv2d",
    "Flatten",
    "GlobalAvgPool",
    "Layer",
    "Linear",
    "MaxPool2d",
    "ParamSlot",
    "PermEntry",
    "PermGroup",
    "PermutationSpec",
    "ResidualAdd",
    "ResidualStart",
    "permutation_spec",
    "create_architecture",
    "list_architectures",
    "register_architecture",
    "to_module",
]
