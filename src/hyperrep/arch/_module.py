"""A plain torch.nn module for one model of an architecture (the reference path)."""

from __future__ import annotations

import torch
from torch import nn

from hyperrep.arch._activations import activation_fn, dropout_mask
from hyperrep.arch._layers import ModuleContext
from hyperrep.arch._spec import Architecture


class ActivationDropout(nn.Module):
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


class GlobalAvgPoolModule(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(-2, -1))


class SaveFeatures(nn.Module):
    """Pushes its input on a stack shared with the matching `AddSaved`."""

    def __init__(self, saved: list) -> None:
        super().__init__()
        self.saved = saved

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.saved.append(x)
        return x


class AddSaved(nn.Module):
    def __init__(self, saved: list) -> None:
        super().__init__()
        self.saved = saved

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.saved.pop()


class _OnSaved:
    """Mixin: the layer computes on the features on top of the residual stack (a
    projection shortcut) and passes its own input unchanged; state_dict keys stay the
    layer's own."""

    def __init__(self, saved: list, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.saved = saved

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.saved[-1] = super().forward(self.saved[-1])
        return x


class ShortcutConv(_OnSaved, nn.Conv2d):
    """A convolution of the saved features."""


class ShortcutBatchNorm(_OnSaved, nn.BatchNorm2d):
    """BatchNorm of the saved features."""


def to_module(
    arch: Architecture,
    activation: str = "tanh",
    *,
    dropout: float = 0.0,
    dropout_generator: torch.Generator | None = None,
) -> nn.Sequential:
    """An `nn.Sequential` whose state_dict keys are the architecture's slot names."""
    ctx = ModuleContext(activation, dropout, dropout_generator)
    return nn.Sequential(*(layer.module(ctx) for layer in arch.layers))
