"""Population forward pass for CNNs on the C kernels, in the batch-innermost layout.

Activations are kept as (rows, channels, height, width, lanes) so that the kernels
vectorise over images (see `_kernels/conv.c`). A max-pool right after a convolution
runs inside the kernel, and so does the backward pass of an activation after that
(tanh, sigmoid, relu); any other pool or activation runs in PyTorch on the same
memory. When each model's batch b fills whole vectors (b a multiple of LANES), a row
is a model. Otherwise G = LANES / gcd(b, LANES) models share a row, interleaved along
the lanes (b = 10: 8 models x 10 images = 80 lanes), so no lane computes padding; the
model count is padded with zero models to a multiple of G. A batch shared by all
models (evaluation) is padded with zero images instead. Padding never reaches the loss:
it is cut off at the flatten.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from hyperrep.arch import (
    Activation,
    Architecture,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    activation_fn,
    stacked_dropout_masks,
)
from hyperrep.population._native import (
    FUSED_ACTIVATIONS,
    LANES,
    POOLS,
    conv_backward,
    conv_forward,
)

_IN_PLACE = {"tanh": torch.tanh_, "sigmoid": torch.sigmoid_, "relu": torch.relu_}


class _ConvBlock(torch.autograd.Function):
    """Convolution, then max pooling and activation when the kernels fuse them."""

    @staticmethod
    def forward(ctx, x, w, bias, pool, activation, group):  # type: ignore[override]
        out, idx, lanes = conv_forward(x, w, bias, pool=pool, group=group)
        if activation is not None:
            _IN_PLACE[activation](out)
        ctx.pool, ctx.activation, ctx.group = pool, activation, group
        ctx.save_for_backward(x, w, idx, out if activation is not None else None, lanes)
        return out

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        x, w, idx, out, lanes = ctx.saved_tensors
        dx, dw, db = conv_backward(
            g.contiguous(),
            idx,
            x,
            w,
            ctx.pool,
            ctx.needs_input_grad[0],
            activation=ctx.activation,
            activated=out,
            group=ctx.group,
            lanes=lanes,
        )
        return dx, dw, db, None, None, None


def lanes_forward(
    arch: Architecture,
    activation: str,
    params: Sequence[torch.Tensor],
    x: torch.Tensor,
    dropout: Sequence[float] | None = None,
    dropout_generators: Sequence[torch.Generator] | None = None,
) -> torch.Tensor:
    """Logits (M, B, classes) of M CNNs, each on its own batch x[m] (M, B, C, H, W)."""
    act = activation_fn(activation)
    m, b = x.shape[:2]
    layout = _Layout.choose(m, b, shared=x.stride(0) == 0)
    if x.stride(0) == 0 and isinstance(arch.layers[0], Conv2d):
        h = layout.to_lanes(x, shared=True)  # one batch for all models: read once
    else:
        h = layout.to_lanes(x)
    slots = iter(params)
    layers = list(arch.layers)
    i = 0
    while i < len(layers):
        layer = layers[i]
        if isinstance(layer, Conv2d):
            w = layout.pad_models(next(slots)).contiguous()
            bias = next(slots) if layer.bias else w.new_zeros(m, w.shape[1])
            bias = layout.pad_models(bias).contiguous()
            pool, fused_act, used = _fusion(layers, i, activation)
            h = _ConvBlock.apply(h, w, bias, pool, fused_act, layout.group)
            i += used
            if fused_act is not None and layers[i - 1].dropout:
                h = _dropout(h, layout, dropout, dropout_generators)
            continue
        if isinstance(layer, MaxPool2d):
            rows, c, hh, ww, lanes = h.shape
            nchw = h.view(rows * c, hh, ww, lanes).permute(0, 3, 1, 2)  # channels-last memory
            h = F.max_pool2d(nchw, layer.kernel_size).permute(0, 2, 3, 1)
            h = h.reshape(rows, c, *h.shape[1:])
        elif isinstance(layer, Activation):
            h = act(h)
            if layer.dropout:
                h = _dropout(h, layout, dropout, dropout_generators)
        elif isinstance(layer, Flatten):
            if h.ndim == 5:
                h = layout.from_lanes(h).reshape(m, b, -1)
        elif isinstance(layer, Linear):
            w = next(slots)
            h = torch.bmm(h, w.transpose(1, 2))
            if layer.bias:
                h = h + next(slots).unsqueeze(1)
        i += 1
    return h


def _fusion(layers: list[object], i: int, activation: str) -> tuple[int, str | None, int]:
    """What the kernel fuses into the convolution at layers[i]: (pool window, activation
    or None, number of layers consumed)."""
    pool, used = 1, 1
    after = layers[i + 1] if i + 1 < len(layers) else None
    if isinstance(after, MaxPool2d) and after.kernel_size in POOLS:
        pool, used = after.kernel_size, 2
    after = layers[i + used] if i + used < len(layers) else None
    if isinstance(after, Activation) and activation in FUSED_ACTIVATIONS:
        return pool, activation, used + 1
    return pool, None, used


class _Layout:
    """Where each (model, image) lies in the (rows, C, H, W, lanes) layout."""

    def __init__(self, models: int, batch: int, group: int, padded: int) -> None:
        self.models, self.batch, self.group, self.padded = models, batch, group, padded
        self.rows = -(-models // group)

    @classmethod
    def choose(cls, models: int, batch: int, shared: bool) -> _Layout:
        """Interleave models when a batch does not fill whole vectors and that computes
        fewer lanes than padding each model's batch would; else pad (a shared batch too)."""
        padded = cls(models, batch, 1, -(-batch // LANES) * LANES)
        if shared or batch % LANES == 0:
            return padded
        interleaved = cls(models, batch, LANES // math.gcd(batch, LANES), batch)
        if interleaved.rows * interleaved.group * batch > models * padded.padded:
            return padded  # few models: zero models would cost more than zero images
        return interleaved

    def pad_models(self, t: torch.Tensor) -> torch.Tensor:
        """Per-model tensor (M, ...) with zero rows up to a multiple of the group."""
        extra = self.rows * self.group - t.shape[0]
        return torch.cat([t, t.new_zeros(extra, *t.shape[1:])]) if extra else t

    def to_lanes(self, t: torch.Tensor, shared: bool = False, fill: float = 0.0) -> torch.Tensor:
        """(M, b, *features) -> (rows, *features, lanes); with `shared`, t[0] alone, as
        the one row that all models read."""
        t = t[:1] if shared else self.pad_models(t)
        t = F.pad(t, (0, 0) * (t.ndim - 2) + (0, self.padded - self.batch), value=fill)
        g = 1 if shared else self.group
        t = t.reshape(t.shape[0] // g, g, *t.shape[1:])  # (rows, G, b, *features)
        order = (0, *range(3, t.ndim), 1, 2)
        return t.permute(order).reshape(*t.shape[:1], *t.shape[3:], -1).contiguous()

    def from_lanes(self, h: torch.Tensor) -> torch.Tensor:
        """(rows, *features, lanes) -> (M, b, *features), padding cut off."""
        h = h.reshape(*h.shape[:-1], self.group, self.padded)
        nf = h.ndim - 3
        h = h.permute(0, nf + 1, nf + 2, *range(1, nf + 1))
        h = h.reshape(-1, *h.shape[2:])
        return h[: self.models, : self.batch]


def _dropout(
    h: torch.Tensor,
    layout: _Layout,
    dropout: Sequence[float] | None,
    generators: Sequence[torch.Generator] | None,
) -> torch.Tensor:
    if dropout is None or generators is None:
        return h
    if h.ndim == 3:  # (M, B, features): after the flatten
        return h * stacked_dropout_masks(h.shape[1:], dropout, generators, "cpu")
    # the masks the reference draws for (b, *features), in this layout
    masks = stacked_dropout_masks((layout.batch, *h.shape[1:4]), dropout, generators, "cpu")
    return h * layout.to_lanes(masks, fill=1.0)
