"""Adam and SGD over stacked parameters, with a learning rate and weight decay per model.

The update follows torch.optim.Adam / torch.optim.SGD (L2 weight decay added to the
gradient; SGD with momentum 0.9) so that each model matches a plain PyTorch run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from hyperrep._errors import UnknownNameError
from hyperrep.population._native import flush_subnormal_native_

OPTIMIZERS = ("adam", "sgd")
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
SGD_MOMENTUM = 0.9
SMALLEST_NORMAL = torch.finfo(torch.float32).tiny  # 1.18e-38


def flush_subnormal_(t: torch.Tensor) -> torch.Tensor:
    """Set entries of magnitude below the smallest normal float32 to 0, in place.

    Weights and Adam moments of units that get no gradient decay into subnormal numbers
    (weight decay, beta1 ** steps), and every multiply with a subnormal operand takes a
    slow microcode path on x86: a MNIST-HYP population with 9% subnormal weights ran its
    forward pass 9x slower (docs/zoo.md). Flushing after each step is deterministic on
    any thread count, unlike the per-thread FTZ / DAZ flags, and changes no value by more
    than 1.2e-38.
    """
    if flush_subnormal_native_(t):  # the same in one pass over memory
        return t
    return t.masked_fill_(t.abs() < SMALLEST_NORMAL, 0.0)


class PopulationOptimizer:
    """Steps every model of a population with its own lr and weight decay."""

    def __init__(
        self,
        name: str,
        params: Sequence[torch.Tensor],
        lr: torch.Tensor,
        weight_decay: torch.Tensor,
        *,
        flush_subnormals: bool = True,
    ) -> None:
        if name not in OPTIMIZERS:
            raise UnknownNameError(f"unknown optimizer {name!r}; known: {', '.join(OPTIMIZERS)}")
        self.name = name
        self.params = list(params)
        self.steps = 0
        self.flush_subnormals = flush_subnormals
        self._lr = [lr.view(-1, *[1] * (p.ndim - 1)).to(p.dtype) for p in self.params]
        self._wd = [weight_decay.view(-1, *[1] * (p.ndim - 1)).to(p.dtype) for p in self.params]
        self._use_wd = bool((weight_decay != 0).any())
        self._m = [torch.zeros_like(p) for p in self.params]
        self._v = [torch.zeros_like(p) for p in self.params] if name == "adam" else []

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Step count and moment buffers, as CPU tensors."""
        state = {"steps": torch.tensor(self.steps)}
        for name in ("m", "v"):
            for i, buf in enumerate(getattr(self, f"_{name}")):
                state[f"{name}.{i}"] = buf.cpu()
        return state

    @torch.no_grad()
    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore what `state_dict` returned."""
        self.steps = int(state["steps"])
        for name in ("m", "v"):
            for i, buf in enumerate(getattr(self, f"_{name}")):
                buf.copy_(state[f"{name}.{i}"])

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor]) -> None:
        """Apply one update given the gradient of every stacked parameter."""
        self.steps += 1
        for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
            if self._use_wd:
                g = g + self._wd[i] * p
            if self.name == "adam":
                self._adam(i, p, g)
            else:
                buf = self._m[i]
                if self.steps == 1:
                    buf.copy_(g)
                else:
                    buf.mul_(SGD_MOMENTUM).add_(g)
                p.sub_(self._lr[i] * buf)
            if self.flush_subnormals:
                for t in (p, self._m[i], *self._v[i : i + 1]):
                    flush_subnormal_(t)

    def _adam(self, i: int, p: torch.Tensor, g: torch.Tensor) -> None:
        beta1, beta2 = ADAM_BETAS
        m, v = self._m[i], self._v[i]
        m.lerp_(g, 1 - beta1)
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        bias1 = 1 - beta1**self.steps
        bias2_sqrt = math.sqrt(1 - beta2**self.steps)
        denom = (v.sqrt() / bias2_sqrt).add_(ADAM_EPS)
        p.sub_((self._lr[i] / bias1) * m / denom)
