"""Population forward pass for CNNs on the C kernels, in the batch-innermost layout.

Activations are kept as (models, channels, height, width, batch) so that the kernels
vectorise over images (see `_kernels/conv.c`). A max-pool right after a convolution
runs inside the kernel; any other runs as PyTorch's channels-last max-pool. The batch
is padded with zero images to a multiple of the kernels' vector width and the padding
is cut off again at the flatten, so padded images never reach the loss.
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
from hyperrep.zoo._native import LANES, POOLS, conv_backward, conv_forward


class _ConvPool(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, bias, pool):  # type: ignore[override]
        out, idx = conv_forward(x, w, bias, pool)
        ctx.pool = pool
        ctx.save_for_backward(x, w, idx)
        return out

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        x, w, idx = ctx.saved_tensors
        dx, dw, db = conv_backward(g.contiguous(), idx, x, w, ctx.pool, ctx.needs_input_grad[0])
        return dx, dw, db, None


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
    h = F.pad(x.permute(0, 2, 3, 4, 1), (0, padded - b)).contiguous()
    slots = iter(params)
    layers = arch.layers
    for i, layer in enumerate(layers):
        if isinstance(layer, Conv2d):
            w = next(slots).contiguous()
            bias = next(slots).contiguous() if layer.bias else w.new_zeros(w.shape[:2])
            h = _ConvPool.apply(h, w, bias, _fused_pool(layers, i))
        elif isinstance(layer, MaxPool2d):
            if _fused_pool(layers, i - 1) > 1:
                continue
            _, c, hh, ww, _ = h.shape
            nchw = h.view(m * c, hh, ww, padded).permute(0, 3, 1, 2)  # channels-last memory
            h = F.max_pool2d(nchw, layer.kernel_size).permute(0, 2, 3, 1)
            h = h.reshape(m, c, *h.shape[1:])
        elif isinstance(layer, Activation):
            h = act(h)
            if dropout is not None and dropout_generators is not None:
                h = h * _lane_masks(h.shape, b, dropout, dropout_generators)
        elif isinstance(layer, Flatten):
            if h.ndim == 5:
                h = h.permute(0, 4, 1, 2, 3)[:, :b].reshape(m, b, -1)
        elif isinstance(layer, Linear):
            w = next(slots)
            h = torch.bmm(h, w.transpose(1, 2))
            if layer.bias:
                h = h + next(slots).unsqueeze(1)
    return h


def _fused_pool(layers: Sequence[object], i: int) -> int:
    """The pooling window fused into the convolution at layers[i] (1: none)."""
    after = layers[i + 1] if i + 1 < len(layers) else None
    if isinstance(layers[i], Conv2d) and isinstance(after, MaxPool2d):
        return after.kernel_size if after.kernel_size in POOLS else 1
    return 1


def _lane_masks(
    shape: torch.Size, b: int, dropout: Sequence[float], generators: Sequence[torch.Generator]
) -> torch.Tensor:
    """The dropout masks the reference draws for (b, *features), in this layout."""
    if len(shape) == 3:  # (M, B, features): after the flatten
        return stacked_dropout_masks(shape[1:], dropout, generators, "cpu")
    m, c, hh, ww, padded = shape
    masks = stacked_dropout_masks((b, c, hh, ww), dropout, generators, "cpu")
    return F.pad(masks.permute(0, 2, 3, 4, 1), (0, padded - b), value=1.0)
