"""One explicit description of a network that every stage of hyperrep reads.

The zoo trainer, the flat-vector layout, and (later) permutation and tokenization all
derive what they need from an `Architecture`: its layers, the shape flowing between
them, and where each parameter tensor lies in the flat vector.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from hyperrep._errors import HyperrepError


@dataclass(frozen=True)
class Linear:
    """Fully connected layer, weight of shape (out_features, in_features)."""

    in_features: int
    out_features: int
    bias: bool = True


@dataclass(frozen=True)
class Conv2d:
    """2-D convolution, stride 1, no padding; weight (out_channels, in_channels, k, k)."""

    in_channels: int
    out_channels: int
    kernel_size: int
    bias: bool = True


@dataclass(frozen=True)
class MaxPool2d:
    """Non-overlapping max pooling with a square window."""

    kernel_size: int


@dataclass(frozen=True)
class Activation:
    """The network's nonlinearity, chosen per model.

    The model's dropout (if any) follows it when `dropout` is set; the authors' CNN has
    none after its third convolution (`def_net.py`, see docs/zoo.md).
    """

    dropout: bool = True


@dataclass(frozen=True)
class Flatten:
    """Flattens (C, H, W) to C*H*W in C-major order, as torch.flatten does."""


Layer = Linear | Conv2d | MaxPool2d | Activation | Flatten
ParametricLayer = Linear | Conv2d
_LAYER_TYPES: dict[str, type] = {
    cls.__name__: cls for cls in (Linear, Conv2d, MaxPool2d, Activation, Flatten)
}


@dataclass(frozen=True)
class ParamSlot:
    """Where one parameter tensor lies in the flat vector."""

    name: str  # state_dict key of the equivalent torch.nn.Sequential, e.g. "0.weight"
    layer: int  # index into Architecture.layers
    kind: str  # "weight" or "bias"
    shape: tuple[int, ...]
    offset: int

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def stop(self) -> int:
        return self.offset + self.size


@dataclass(frozen=True)
class Architecture:
    """A feed-forward network: input shape and a sequence of layers.

    The flat parameter vector lists, for each parametric layer in order, its weight
    (row-major, as PyTorch stores it) and then its bias.
    """

    name: str
    input_shape: tuple[int, ...]  # (features,) or (channels, height, width)
    layers: tuple[Layer, ...]

    def __post_init__(self) -> None:
        self.feature_shapes  # noqa: B018 - validates that shapes flow through the layers

    @property
    def feature_shapes(self) -> tuple[tuple[int, ...], ...]:
        """Shape of one sample's features after each layer (input not included)."""
        shape = tuple(self.input_shape)
        shapes = []
        for i, layer in enumerate(self.layers):
            shape = _output_shape(layer, shape, f"{self.name} layer {i}")
            shapes.append(shape)
        if len(shape) != 1:
            raise HyperrepError(f"{self.name}: network must end in a flat output, got {shape}")
        return tuple(shapes)

    @property
    def num_outputs(self) -> int:
        return self.feature_shapes[-1][0]

    @property
    def parametric_layers(self) -> tuple[int, ...]:
        """Indices of the layers that hold parameters."""
        return tuple(i for i, layer in enumerate(self.layers) if isinstance(layer, Linear | Conv2d))

    @property
    def param_slots(self) -> tuple[ParamSlot, ...]:
        """Every parameter tensor with its position in the flat vector."""
        slots, offset = [], 0
        for i in self.parametric_layers:
            layer = self.layers[i]
            for kind, shape in _param_shapes(layer):
                slots.append(ParamSlot(f"{i}.{kind}", i, kind, shape, offset))
                offset += math.prod(shape)
        return tuple(slots)

    @property
    def n_params(self) -> int:
        slots = self.param_slots
        return slots[-1].stop if slots else 0

    def same_layout(self, other: Architecture) -> bool:
        """True if both take the same input and lay out the same parameter tensors, so a
        representation of one reads the other's weights (dropout placement may differ)."""
        slots = [(s.name, s.kind, s.shape) for s in self.param_slots]
        return self.input_shape == other.input_shape and slots == [
            (s.name, s.kind, s.shape) for s in other.param_slots
        ]

    def forward_flops(self) -> int:
        """Multiply-adds x 2 of one sample's forward pass through the parametric layers."""
        flops = 0
        for layer, out_shape in zip(self.layers, self.feature_shapes, strict=True):
            if isinstance(layer, Linear):
                flops += 2 * layer.in_features * layer.out_features
            elif isinstance(layer, Conv2d):
                fan_in = layer.in_channels * layer.kernel_size**2
                flops += 2 * fan_in * math.prod(out_shape)
        return flops

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description, inverse of `from_dict`."""
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "layers": [{"type": type(x).__name__, **asdict(x)} for x in self.layers],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Architecture:
        """Rebuild an architecture from `to_dict` output."""
        layers = []
        for entry in data["layers"]:
            entry = dict(entry)
            layer_type = _LAYER_TYPES.get(entry.pop("type", None))
            if layer_type is None:
                raise HyperrepError(f"unknown layer type in architecture {data.get('name')!r}")
            layers.append(layer_type(**entry))
        return cls(data["name"], tuple(data["input_shape"]), tuple(layers))


def _param_shapes(layer: ParametricLayer) -> list[tuple[str, tuple[int, ...]]]:
    if isinstance(layer, Linear):
        shapes = [("weight", (layer.out_features, layer.in_features))]
        out = layer.out_features
    else:
        k = layer.kernel_size
        shapes = [("weight", (layer.out_channels, layer.in_channels, k, k))]
        out = layer.out_channels
    if layer.bias:
        shapes.append(("bias", (out,)))
    return shapes


def _output_shape(layer: Layer, shape: tuple[int, ...], where: str) -> tuple[int, ...]:
    if isinstance(layer, Linear):
        if shape != (layer.in_features,):
            raise HyperrepError(f"{where}: Linear expects ({layer.in_features},), got {shape}")
        return (layer.out_features,)
    if isinstance(layer, Conv2d):
        if len(shape) != 3 or shape[0] != layer.in_channels:
            raise HyperrepError(
                f"{where}: Conv2d expects {layer.in_channels} channels, got {shape}"
            )
        h, w = shape[1] - layer.kernel_size + 1, shape[2] - layer.kernel_size + 1
        if h < 1 or w < 1:
            raise HyperrepError(f"{where}: kernel larger than input {shape}")
        return (layer.out_channels, h, w)
    if isinstance(layer, MaxPool2d):
        if len(shape) != 3:
            raise HyperrepError(f"{where}: MaxPool2d needs (C, H, W), got {shape}")
        return (shape[0], shape[1] // layer.kernel_size, shape[2] // layer.kernel_size)
    if isinstance(layer, Flatten):
        return (math.prod(shape),)
    return shape
