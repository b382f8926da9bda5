"""Neuron tokens: one token per output neuron / channel, its incoming weights and its bias."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import torch

from hyperrep._errors import HyperrepError
from hyperrep.arch import Architecture


@dataclass(frozen=True)
class LayerTokens:
    """The tokens of one parametric layer and where their values lie in the flat vector."""

    layer: int  # index into Architecture.layers
    index: torch.Tensor  # (n_tokens, width) int64 positions in the flat vector

    @property
    def n_tokens(self) -> int:
        return self.index.shape[0]

    @property
    def width(self) -> int:
        return self.index.shape[1]


class TokenLayout:
    """Converts batches of flat vectors (B, n_params) to neuron tokens and back, exactly.

    Layer l contributes one token per output unit, of width fan_in (+1 with a bias):
    the unit's weight row (c_in * k * k values for a convolution) followed by its bias.
    """

    def __init__(self, arch: Architecture) -> None:
        self.arch = arch
        layers = []
        for layer in arch.parametric_layers:
            slots = arch.slots_by_layer[layer]
            weight = slots["weight"]
            out = weight.shape[0]
            index = torch.arange(weight.offset, weight.stop).view(out, -1)
            bias = slots.get("bias")
            if bias is not None:
                index = torch.cat([index, torch.arange(bias.offset, bias.stop).view(out, 1)], 1)
            layers.append(LayerTokens(layer, index))
        self.layers = tuple(layers)
        token_of = torch.empty(arch.n_params, dtype=torch.int64)
        start = 0
        for lt in self.layers:
            ids = torch.arange(start, start + lt.n_tokens).view(-1, 1).expand_as(lt.index)
            token_of[lt.index.reshape(-1)] = ids.reshape(-1)
            start += lt.n_tokens
        self.token_of_param = token_of  # (n_params,) token id of every flat position

    @property
    def n_tokens(self) -> int:
        return sum(lt.n_tokens for lt in self.layers)

    @property
    def max_width(self) -> int:
        return max(lt.width for lt in self.layers)

    def _check(self, flat: torch.Tensor) -> None:
        if flat.ndim != 2 or flat.shape[1] != self.arch.n_params:
            raise HyperrepError(
                f"{self.arch.name}: expected vectors (batch, {self.arch.n_params}), "
                f"got {tuple(flat.shape)}"
            )

    def to_tokens(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """Per layer, tokens of shape (B, n_tokens_l, width_l)."""
        self._check(flat)
        return [flat[:, lt.index.to(flat.device)] for lt in self.layers]

    def from_tokens(self, tokens: list[torch.Tensor]) -> torch.Tensor:
        """Inverse of `to_tokens`."""
        if len(tokens) != len(self.layers):
            raise HyperrepError(f"expected {len(self.layers)} token tensors, got {len(tokens)}")
        batch = tokens[0].shape[0]
        flat = tokens[0].new_empty(batch, self.arch.n_params)
        for lt, t in zip(self.layers, tokens, strict=True):
            if tuple(t.shape[1:]) != (lt.n_tokens, lt.width):
                raise HyperrepError(
                    f"layer {lt.layer}: tokens {tuple(t.shape[1:])}, expected "
                    f"{(lt.n_tokens, lt.width)}"
                )
            flat[:, lt.index.reshape(-1).to(flat.device)] = t.reshape(batch, -1)
        return flat

    def to_padded(self, flat: torch.Tensor) -> torch.Tensor:
        """All tokens in one (B, n_tokens, max_width) tensor, zero-padded on the right."""
        out = flat.new_zeros(flat.shape[0], self.n_tokens, self.max_width)
        start = 0
        for lt, t in zip(self.layers, self.to_tokens(flat), strict=True):
            out[:, start : start + lt.n_tokens, : lt.width] = t
            start += lt.n_tokens
        return out

    def from_padded(self, padded: torch.Tensor) -> torch.Tensor:
        """Inverse of `to_padded` (the padding is ignored)."""
        tokens, start = [], 0
        for lt in self.layers:
            tokens.append(padded[:, start : start + lt.n_tokens, : lt.width])
            start += lt.n_tokens
        return self.from_tokens(tokens)


@cache
def token_layout(arch: Architecture) -> TokenLayout:
    """The (cached) token layout of an architecture."""
    return TokenLayout(arch)
