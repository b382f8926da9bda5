"""A plain torch.nn module for one model of an architecture (the reference path)."""

from __future__ import annotations

import torch
from torch import nn

from hyperrep.arch._activations import activation_fn, dropout_mask
from hyperrep.arch._spec import Activation, Architecture, Conv2d, Flatten, Linear, MaxPool2d


class _ActivationDropout(nn.Module):
    def __init__(self, activation: str, dropout: float, generator: torch.Generator | None):
        super().__init__()
        self.fn = activation_fn(activation)
        self.p = dropout
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.fn(x)
        if self.training and self.p > 0:
            if self.generator is None:
                raise RuntimeError("dropout in training mode needs a generator")
            x = x * dropout_mask(tuple(x.shape), self.p, self.generator, x.device)
        return x


def to_module(
    arch: Architecture,
    activation: str = "tanh",
    dropout: float = 0.0,
    dropout_generator: torch.Generator | None = None,
) -> nn.Sequential:
    """An `nn.Sequential` whose state_dict keys are the architecture's slot names."""
    modules: list[nn.Module] = []
    for layer in arch.layers:
        if isinstance(layer, Linear):
            modules.append(nn.Linear(layer.in_features, layer.out_features, bias=layer.bias))
        elif isinstance(layer, Conv2d):
            modules.append(
                nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, bias=layer.bias)
            )
        elif isinstance(layer, MaxPool2d):
            modules.append(nn.MaxPool2d(layer.kernel_size))
        elif isinstance(layer, Activation):
            p = dropout if layer.dropout else 0.0
            modules.append(_ActivationDropout(activation, p, dropout_generator))
        elif isinstance(layer, Flatten):
            modules.append(nn.Flatten())
    return nn.Sequential(*modules)
