"""Population forward pass for CNNs on the C kernels, in the batch-innermost layout.

Activations are kept as (models, channels, height, width, batch) so that the kernels
vectorise over images (see `_kernels/conv.c`). A max-pool right after a convolution
runs inside the kernel, and so does the backward pass of an activation after that
(tanh, sigmoid, relu); any other pool or activation runs in PyTorch on the same
memory. The batch is padded with zero images to a multiple of the kernels' vector
width and the padding is cut off again at the flatten, so padded images never reach
the loss.
"""

from __future__ import annotations

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
)
from hyperrep.arch._activations import stacked_dropout_masks
from hyperrep.zoo._native import (
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
    def forward(ctx, x, w, bias, pool, activation):  # type: ignore[override]
        out, idx = conv_forward(x, w, bias, pool)
        if activation is not None:
            _IN_PLACE[activation](out)
        ctx.pool, ctx.activation = pool, activation
        ctx.save_for_backward(x, w, idx, out if activation is not None else None)
        return out

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        x, w, idx, out = ctx.saved_tensors
        dx, dw, db = conv_backward(
            g.contiguous(), idx, x, w, ctx.pool, ctx.needs_input_grad[0], ctx.activation, out
        )
        return dx, dw, db, None, None


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
    padded = -(-b // LANES) * LANES
    if x.stride(0) == 0 and isinstance(arch.layers[0], Conv2d):
        x = x[:1]  # one batch for all models: the first convolution reads it once
    h = F.pad(x.permute(0, 2, 3, 4, 1), (0, padded - b)).contiguous()
    slots = iter(params)
    layers = list(arch.layers)
    i = 0
    while i < len(layers):
        layer = layers[i]
        if isinstance(layer, Conv2d):
            w = next(slots).contiguous()
            bias = next(slots).contiguous() if layer.bias else w.new_zeros(w.shape[:2])
            pool, fused_act, used = _fusion(layers, i, activation)
            h = _ConvBlock.apply(h, w, bias, pool, fused_act)
            i += used
            if fused_act is not None and layers[i - 1].dropout:
                h = _dropout(h, b, dropout, dropout_generators)
            continue
        if isinstance(layer, MaxPool2d):
            _, c, hh, ww, _ = h.shape
            nchw = h.view(m * c, hh, ww, padded).permute(0, 3, 1, 2)  # channels-last memory
            h = F.max_pool2d(nchw, layer.kernel_size).permute(0, 2, 3, 1)
            h = h.reshape(m, c, *h.shape[1:])
        elif isinstance(layer, Activation):
            h = act(h)
            if layer.dropout:
                h = _dropout(h, b, dropout, dropout_generators)
        elif isinstance(layer, Flatten):
            if h.ndim == 5:
                h = h.permute(0, 4, 1, 2, 3)[:, :b].reshape(m, b, -1)
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


def _dropout(
    h: torch.Tensor,
    b: int,
    dropout: Sequence[float] | None,
    generators: Sequence[torch.Generator] | None,
) -> torch.Tensor:
    if dropout is None or generators is None:
        return h
    return h * _lane_masks(h.shape, b, dropout, generators)


def _lane_masks(
    shape: torch.Size, b: int, dropout: Sequence[float], generators: Sequence[torch.Generator]
) -> torch.Tensor:
    """The dropout masks the reference draws for (b, *features), in this layout."""
    if len(shape) == 3:  # (M, B, features): after the flatten
        return stacked_dropout_masks(shape[1:], dropout, generators, "cpu")
    m, c, hh, ww, padded = shape
    masks = stacked_dropout_masks((b, c, hh, ww), dropout, generators, "cpu")
    return F.pad(masks.permute(0, 2, 3, 4, 1), (0, padded - b), value=1.0)
