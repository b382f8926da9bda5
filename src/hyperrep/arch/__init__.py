"""Network descriptions shared by zoo training, weight layout and tokenization."""

from hyperrep.arch._activations import ACTIVATIONS, activation_fn
from hyperrep.arch._flat import (
    flatten_params,
    state_dict_to_vector,
    unflatten_params,
    vector_to_state_dict,
)
from hyperrep.arch._module import to_module
from hyperrep.arch._presets import (
    create_architecture,
    list_architectures,
    register_architecture,
)
from hyperrep.arch._spec import (
    Activation,
    Architecture,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    ParamSlot,
)

__all__ = [
    "ACTIVATIONS",
    "activation_fn",
    "flatten_params",
    "state_dict_to_vector",
    "unflatten_params",
    "vector_to_state_dict",
    "Activation",
    "Architecture",
    "Conv2d",
    "Flatten",
    "Linear",
    "MaxPool2d",
    "ParamSlot",
    "create_architecture",
    "list_architectures",
    "register_architecture",
    "to_module",
]
