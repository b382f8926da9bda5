"""Layer types. Each one says, in one place, everything the rest of hyperrep needs:
the shape it outputs, its parameter tensors and their fixed initial values, its FLOPs,
its reference `torch.nn` module, its pass over a population of models (a leading model
axis on every tensor), how its units move under a permutation of hidden units, and
which whole-network fast paths ("dense": the hand-written MLP pass; "lanes": the C
convolution kernels) can run it.

torch is imported inside the methods that need it, so describing a network is free.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar

from hyperrep._errors import HyperrepError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from hyperrep.arch._permutation_spec import SpecBuilder

Shape = tuple[int, ...]
# devices where a population's convolution is one grouped convolution (a GPU pays per
# launch); on the CPU a loop over models is faster (see Conv2d.population)
GROUPED_CONV_DEVICES = frozenset({"cuda"})


@dataclass
class ModuleContext:
    """What a reference module needs besides the layer: the model's nonlinearity and
    dropout, and the stack residual connections save their inputs on."""

    activation: str
    dropout: float
    generator: Any  # torch.Generator | None
    saved: list = field(default_factory=list)


@dataclass
class PopulationContext:
    """State of one population pass: M models, batch B, shared-input flag, residual stack."""

    activation: Callable
    models: int
    batch: int
    shared: bool  # the batch is one tensor expanded over models (first layer reads it once)
    dropout: Sequence[float] | None
    generators: Sequence[Any] | None
    saved: list = field(default_factory=list)


@dataclass(frozen=True)
class Layer:
    """Base of the layer types: no parameters, shape unchanged, every fast path."""

    fast_paths: ClassVar[frozenset[str]] = frozenset({"dense", "lanes"})
    convolutional: ClassVar[bool] = False
    batch_dependent: ClassVar[bool] = False  # outputs depend on the other samples of a batch

    def output_shape(self, shape: Shape, where: str) -> Shape:
        return shape

    def param_shapes(self) -> list[tuple[str, Shape]]:
        """(kind, shape) of each parameter tensor, in flat-vector order."""
        return []

    def track(self, shape: Shape, saved: list[Shape], where: str) -> None:
        """Check what flows past this layer beyond its own shapes (residual sums)."""

    def fixed_init(self, kind: str) -> float | None:
        """A constant the parameter `kind` starts at, or None to draw it (init scheme)."""
        return None

    def flops(self, in_shape: Shape, out_shape: Shape) -> int:
        """Multiply-adds x 2 of one sample's forward pass."""
        return 0

    def module(self, ctx: ModuleContext) -> nn.Module:
        from torch import nn

        return nn.Identity()

    def population(
        self, h: torch.Tensor, params: list[torch.Tensor], ctx: PopulationContext
    ) -> torch.Tensor:
        """h (M, B, *features) -> the layer's output for every model."""
        return h

    def permute(self, spec: SpecBuilder, slots: dict, in_shape: Shape, out_shape: Shape) -> None:
        """Register the flat slices that move with the units of the current features."""

    def to_dict(self) -> dict[str, Any]:
        return {"type": type(self).__name__, **asdict(self)}


@dataclass(frozen=True)
class Linear(Layer):
    """Fully connected layer, weight of shape (out_features, in_features)."""

    in_features: int
    out_features: int
    bias: bool = True

    def output_shape(self, shape: Shape, where: str) -> Shape:
        if shape != (self.in_features,):
            raise HyperrepError(f"{where}: Linear expects ({self.in_features},), got {shape}")
        return (self.out_features,)

    def param_shapes(self) -> list[tuple[str, Shape]]:
        out = [("weight", (self.out_features, self.in_features))]
        return out + [("bias", (self.out_features,))] if self.bias else out

    def flops(self, in_shape: Shape, out_shape: Shape) -> int:
        return 2 * self.in_features * self.out_features

    def module(self, ctx: ModuleContext) -> nn.Module:
        from torch import nn

        return nn.Linear(self.in_features, self.out_features, bias=self.bias)

    def population(self, h, params, ctx):
        import torch

        w = params[0]
        h = torch.matmul(h[0], w.transpose(1, 2)) if ctx.shared else torch.bmm(h, w.transpose(1, 2))
        ctx.shared = False
        return h + params[1].unsqueeze(1) if self.bias else h

    def permute(self, spec, slots, in_shape, out_shape):
        spec.consume(slots["weight"], rows=self.out_features)
        spec.produce(slots["weight"], slots.get("bias"))


@dataclass(frozen=True)
class Conv2d(Layer):
    """2-D convolution; weight (out_channels, in_channels, k, k)."""

    in_channels: int
    out_channels: int
    kernel_size: int
    bias: bool = True
    stride: int = 1
    padding: int = 0

    convolutional: ClassVar[bool] = True

    @property
    def fast_paths(self) -> frozenset[str]:  # the C kernels: stride 1, no padding
        return frozenset({"lanes"}) if (self.stride, self.padding) == (1, 0) else frozenset()

    def output_shape(self, shape: Shape, where: str) -> Shape:
        if len(shape) != 3 or shape[0] != self.in_channels:
            raise HyperrepError(f"{where}: Conv2d expects {self.in_channels} channels, got {shape}")
        if self.stride < 1 or self.padding < 0 or self.kernel_size < 1:
            raise HyperrepError(f"{where}: Conv2d needs kernel, stride >= 1 and padding >= 0")
        h, w = ((n + 2 * self.padding - self.kernel_size) // self.stride + 1 for n in shape[1:])
        if h < 1 or w < 1:
            raise HyperrepError(f"{where}: kernel larger than input {shape}")
        return (self.out_channels, h, w)

    def param_shapes(self) -> list[tuple[str, Shape]]:
        k = self.kernel_size
        out = [("weight", (self.out_channels, self.in_channels, k, k))]
        return out + [("bias", (self.out_channels,))] if self.bias else out

    def flops(self, in_shape: Shape, out_shape: Shape) -> int:
        return 2 * self.in_channels * self.kernel_size**2 * math.prod(out_shape)

    def module(self, ctx: ModuleContext) -> nn.Module:
        from torch import nn

        return nn.Conv2d(**self._torch_arguments())

    def _torch_arguments(self) -> dict[str, Any]:
        names = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "bias")
        return {name: getattr(self, name) for name in names}

    def population(self, h, params, ctx):
        import torch
        import torch.nn.functional as F

        w, bias = params[0], params[1] if self.bias else None
        m, b = ctx.models, ctx.batch
        opts = {"stride": self.stride, "padding": self.padding}
        shared = ctx.shared  # one convolution with the filters of all models side by side
        if shared or h.device.type in GROUPED_CONV_DEVICES:  # grouped: one launch, not M
            ctx.shared = False
            x = h[0] if shared else h.transpose(0, 1).reshape(b, m * h.shape[2], *h.shape[3:])
            flat_b = bias.reshape(-1) if bias is not None else None
            out = F.conv2d(
                x, w.reshape(-1, *w.shape[2:]), flat_b, groups=1 if shared else m, **opts
            )
            return out.view(b, m, w.shape[1], *out.shape[2:]).transpose(0, 1)
        # On CPU a loop of dense convolutions beats grouped convolutions and im2col +
        # batched matmul by 5-90x in the backward pass (measured; see docs/zoo.md).
        # unbind, not h[i]: indexing would make backward zero-fill a full-size tensor per model
        biases = bias.unbind(0) if bias is not None else [None] * m
        return torch.stack(
            [
                F.conv2d(x, k, c, **opts)
                for x, k, c in zip(h.unbind(0), w.unbind(0), biases, strict=True)
            ]
        )

    def permute(self, spec, slots, in_shape, out_shape):
        spec.consume(slots["weight"], rows=self.out_channels)
        spec.produce(slots["weight"], slots.get("bias"))

    def to_dict(self) -> dict[str, Any]:
        """As before stride and padding existed when they are 1 and 0 (older readers and
        the architecture digests of existing zoos stay valid)."""
        out = super().to_dict()
        for name, default in (("stride", 1), ("padding", 0)):
            if out[name] == default:
                del out[name]
        return out


@dataclass(frozen=True)
class MaxPool2d(Layer):
    """Non-overlapping max pooling with a square window."""

    kernel_size: int
    fast_paths: ClassVar[frozenset[str]] = frozenset({"lanes"})

    def output_shape(self, shape: Shape, where: str) -> Shape:
        if len(shape) != 3:
            raise HyperrepError(f"{where}: MaxPool2d needs (C, H, W), got {shape}")
        return (shape[0], shape[1] // self.kernel_size, shape[2] // self.kernel_size)

    def module(self, ctx):
        from torch import nn

        return nn.MaxPool2d(self.kernel_size)

    def population(self, h, params, ctx):
        import torch.nn.functional as F

        out = F.max_pool2d(h.reshape(ctx.models * ctx.batch, *h.shape[2:]), self.kernel_size)
        return out.reshape(ctx.models, ctx.batch, *out.shape[1:])


@dataclass(frozen=True)
class Activation(Layer):
    """The network's nonlinearity, chosen per model.

    The model's dropout (if any) follows it when `dropout` is set; the authors' CNN has
    none after its third convolution (`def_net.py`, see docs/zoo.md).
    """

    dropout: bool = True

    def module(self, ctx):
        from hyperrep.arch._module import ActivationDropout

        return ActivationDropout(
            ctx.activation, ctx.dropout if self.dropout else 0.0, ctx.generator
        )

    def population(self, h, params, ctx):
        from hyperrep.arch._activations import stacked_dropout_masks

        h = ctx.activation(h)
        if self.dropout and ctx.dropout is not None and ctx.generators is not None:
            h = h * stacked_dropout_masks(h.shape[1:], ctx.dropout, ctx.generators, h.device)
        return h


@dataclass(frozen=True)
class Flatten(Layer):
    """Flattens (C, H, W) to C*H*W in C-major order, as torch.flatten does."""

    def output_shape(self, shape: Shape, where: str) -> Shape:
        return (math.prod(shape),)

    def module(self, ctx):
        from torch import nn

        return nn.Flatten()

    def population(self, h, params, ctx):
        return h.reshape(ctx.models, ctx.batch, -1)


@dataclass(frozen=True)
class GlobalAvgPool(Layer):
    """Mean over the spatial axes: (C, H, W) -> (C,)."""

    fast_paths: ClassVar[frozenset[str]] = frozenset()

    def output_shape(self, shape: Shape, where: str) -> Shape:
        if len(shape) != 3:
            raise HyperrepError(f"{where}: GlobalAvgPool needs (C, H, W), got {shape}")
        return (shape[0],)

    def module(self, ctx):
        from hyperrep.arch._module import GlobalAvgPoolModule

        return GlobalAvgPoolModule()

    def population(self, h, params, ctx):
        return h.mean(dim=(-2, -1))


@dataclass(frozen=True)
class BatchNorm2d(Layer):
    """Per-channel normalisation with the batch's statistics, in training and in
    evaluation alike (PyTorch's `track_running_stats=False`), so that the weights alone
    determine the function; scale starts at 1, shift at 0."""

    channels: int
    eps: float = 1e-5
    fast_paths: ClassVar[frozenset[str]] = frozenset()
    batch_dependent: ClassVar[bool] = True

    def output_shape(self, shape: Shape, where: str) -> Shape:
        if len(shape) != 3 or shape[0] != self.channels:
            raise HyperrepError(
                f"{where}: BatchNorm2d expects {self.channels} channels, got {shape}"
            )
        return shape

    def param_shapes(self) -> list[tuple[str, Shape]]:
        return [("weight", (self.channels,)), ("bias", (self.channels,))]

    def fixed_init(self, kind: str) -> float | None:
        return 1.0 if kind == "weight" else 0.0

    def flops(self, in_shape: Shape, out_shape: Shape) -> int:
        return 2 * math.prod(out_shape)

    def module(self, ctx):
        from torch import nn

        return nn.BatchNorm2d(self.channels, eps=self.eps, track_running_stats=False)

    def population(self, h, params, ctx):
        import torch.nn.functional as F

        m, b, c = ctx.models, ctx.batch, self.channels
        x = h.transpose(0, 1).reshape(b, m * c, *h.shape[3:])  # one channel per (model, c)
        out = F.batch_norm(
            x, None, None, params[0].reshape(-1), params[1].reshape(-1), training=True, eps=self.eps
        )
        return out.reshape(b, m, c, *h.shape[3:]).transpose(0, 1)

    def permute(self, spec, slots, in_shape, out_shape):
        spec.attach(slots["weight"], slots["bias"])


@dataclass(frozen=True)
class ResidualStart(Layer):
    """Saves the features; the matching `ResidualAdd` adds them back (a skip connection)."""

    fast_paths: ClassVar[frozenset[str]] = frozenset()

    def track(self, shape, saved, where):
        saved.append(shape)

    def module(self, ctx):
        from hyperrep.arch._module import SaveFeatures

        return SaveFeatures(ctx.saved)

    def population(self, h, params, ctx):
        ctx.saved.append(h)
        return h

    def permute(self, spec, slots, in_shape, out_shape):
        spec.save()


@dataclass(frozen=True)
class ResidualAdd(Layer):
    """Adds the features saved by the last open `ResidualStart` (same shape)."""

    fast_paths: ClassVar[frozenset[str]] = frozenset()

    def track(self, shape, saved, where):
        if not saved:
            raise HyperrepError(f"{where}: ResidualAdd without a ResidualStart")
        if saved.pop() != shape:
            raise HyperrepError(f"{where}: ResidualAdd of features {shape} to other shapes")

    def module(self, ctx):
        from hyperrep.arch._module import AddSaved

        return AddSaved(ctx.saved)

    def population(self, h, params, ctx):
        return h + ctx.saved.pop()

    def permute(self, spec, slots, in_shape, out_shape):
        spec.merge_saved()


@dataclass(frozen=True)
class ShortcutConv2d(Conv2d):
    """A convolution of the features saved by the last open `ResidualStart` (a ResNet's
    projection shortcut, e.g. 1x1 with stride 2): the saved features are replaced by its
    output, the main path passes unchanged."""

    fast_paths: ClassVar[frozenset[str]] = frozenset()

    def output_shape(self, shape: Shape, where: str) -> Shape:
        return shape

    def track(self, shape, saved, where):
        if not saved:
            raise HyperrepError(f"{where}: ShortcutConv2d without a ResidualStart")
        saved[-1] = Conv2d.output_shape(self, saved[-1], where)

    def module(self, ctx):
        from hyperrep.arch._module import ShortcutConv

        return ShortcutConv(ctx.saved, **self._torch_arguments())

    def population(self, h, params, ctx):
        shared, ctx.shared = ctx.shared, False  # the saved features are per model
        ctx.saved[-1] = Conv2d.population(self, ctx.saved[-1], params, ctx)
        ctx.shared = shared
        return h

    def permute(self, spec, slots, in_shape, out_shape):
        current, spec.current = spec.current, spec.saved[-1]
        Conv2d.permute(self, spec, slots, in_shape, out_shape)
        spec.saved[-1], spec.current = spec.current, current


@dataclass(frozen=True)
class ShortcutBatchNorm2d(BatchNorm2d):
    """`BatchNorm2d` of the saved features (after a `ShortcutConv2d`)."""

    def track(self, shape, saved, where):
        if not saved:
            raise HyperrepError(f"{where}: ShortcutBatchNorm2d without a ResidualStart")
        BatchNorm2d.output_shape(self, saved[-1], where)

    def output_shape(self, shape: Shape, where: str) -> Shape:
        return shape

    def module(self, ctx):
        from hyperrep.arch._module import ShortcutBatchNorm

        return ShortcutBatchNorm(ctx.saved, self.channels, eps=self.eps, track_running_stats=False)

    def population(self, h, params, ctx):
        ctx.saved[-1] = BatchNorm2d.population(self, ctx.saved[-1], params, ctx)
        return h

    def permute(self, spec, slots, in_shape, out_shape):
        current, spec.current = spec.current, spec.saved[-1]
        BatchNorm2d.permute(self, spec, slots, in_shape, out_shape)
        spec.current = current


LAYER_TYPES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (
        Linear,
        Conv2d,
        MaxPool2d,
        Activation,
        Flatten,
        GlobalAvgPool,
        BatchNorm2d,
        ResidualStart,
        ResidualAdd,
        ShortcutConv2d,
        ShortcutBatchNorm2d,
    )
}


def layer_from_dict(entry: dict[str, Any], arch_name: Any) -> Layer:
    """Rebuild a layer from `Layer.to_dict` output."""
    entry = dict(entry)
    layer_type = LAYER_TYPES.get(entry.pop("type", None))
    if layer_type is None:
        raise HyperrepError(f"unknown layer type in architecture {arch_name!r}")
    known = {f.name for f in fields(layer_type)}
    if set(entry) - known:
        raise HyperrepError(
            f"unknown {layer_type.__name__} fields {sorted(set(entry) - known)} "
            f"in architecture {arch_name!r}"
        )
    return layer_type(**entry)
