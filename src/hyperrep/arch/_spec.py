"""One explicit description of a network that every stage of hyperrep reads.

The zoo trainer, the flat-vector layout, and (later) permutation and tokenization all
derive what they need from an `Architecture`: its layers, the shape flowing between
them, and where each parameter tensor lies in the flat vector.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from hyperrep._errors import HyperrepError
from hyperrep.arch._layers import Layer, layer_from_dict


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
        shapes, saved = [], []
        for i, layer in enumerate(self.layers):
            shape = layer.output_shape(shape, f"{self.name} layer {i}")
            layer.track(shape, saved, f"{self.name} layer {i}")
            shapes.append(shape)
        if saved:
            raise HyperrepError(f"{self.name}: ResidualStart without a ResidualAdd")
        if len(shape) != 1:
            raise HyperrepError(f"{self.name}: network must end in a flat output, got {shape}")
        return tuple(shapes)

    @property
    def num_outputs(self) -> int:
        return self.feature_shapes[-1][0]

    @property
    def parametric_layers(self) -> tuple[int, ...]:
        """Indices of the layers that hold parameters."""
        return tuple(i for i, layer in enumerate(self.layers) if layer.param_shapes())

    @cached_property
    def param_slots(self) -> tuple[ParamSlot, ...]:
        """Every parameter tensor with its position in the flat vector."""
        slots, offset = [], 0
        for i in self.parametric_layers:
            for kind, shape in self.layers[i].param_shapes():
                slots.append(ParamSlot(f"{i}.{kind}", i, kind, shape, offset))
                offset += math.prod(shape)
        return tuple(slots)

    @cached_property
    def slots_by_layer(self) -> dict[int, dict[str, ParamSlot]]:
        """layer index -> parameter kind -> slot: the one per-layer parameter map."""
        out: dict[int, dict[str, ParamSlot]] = {}
        for slot in self.param_slots:
            out.setdefault(slot.layer, {})[slot.kind] = slot
        return out

    @property
    def n_params(self) -> int:
        slots = self.param_slots
        return slots[-1].stop if slots else 0

    @property
    def convolutional(self) -> bool:
        """True if any layer is a convolution."""
        return any(layer.convolutional for layer in self.layers)

    @property
    def batch_dependent(self) -> bool:
        """True if a sample's output depends on the rest of its batch (BatchNorm with
        batch statistics): evaluation then uses fixed batches (`EVAL_BATCH` of the zoo)."""
        return any(layer.batch_dependent for layer in self.layers)

    def supports(self, fast_path: str) -> bool:
        """True if every layer declares the whole-network fast path `fast_path`
        ("dense": the hand-written MLP pass; "lanes": the C convolution kernels)."""
        return all(fast_path in layer.fast_paths for layer in self.layers)

    def same_layout(self, other: Architecture) -> bool:
        """True if both take the same input and lay out the same parameter tensors, so a
        representation of one reads the other's weights (dropout placement may differ)."""
        slots = [(s.name, s.kind, s.shape) for s in self.param_slots]
        return self.input_shape == other.input_shape and slots == [
            (s.name, s.kind, s.shape) for s in other.param_slots
        ]

    def forward_flops(self) -> int:
        """Multiply-adds x 2 of one sample's forward pass through the parametric layers."""
        shapes = (tuple(self.input_shape), *self.feature_shapes)
        return sum(layer.flops(shapes[i], shapes[i + 1]) for i, layer in enumerate(self.layers))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description, inverse of `from_dict`."""
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "layers": [layer.to_dict() for layer in self.layers],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Architecture:
        """Rebuild an architecture from `to_dict` output."""
        layers = [layer_from_dict(entry, data.get("name")) for entry in data["layers"]]
        return cls(data["name"], tuple(data["input_shape"]), tuple(layers))
