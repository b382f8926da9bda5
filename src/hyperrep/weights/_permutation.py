"""Permutation symmetry of hidden neurons (appendix A.2), as index gathers on flat vectors.

Permuting the output units of a hidden layer (rows of its weight, entries of its bias)
together with the matching inputs of the next parametric layer (columns of a linear
weight, input channels of a convolution, or the blocks of a flattened conv output)
leaves the network's function unchanged. The output layer is never permuted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import torch

from hyperrep._errors import HyperrepError
from hyperrep.arch import Architecture, Conv2d, Linear


@dataclass(frozen=True)
class HiddenGroup:
    """One hidden layer's units and every flat slice that moves when they are permuted."""

    size: int  # number of units (neurons or channels)
    weight: tuple[int, int]  # (offset, stop) of the producing layer's weight
    bias: tuple[int, int] | None
    consumer: tuple[int, int]  # (offset, stop) of the next parametric layer's weight
    consumer_rows: int  # output units of the consumer
    block: int  # consumer weight entries per (row, input unit): k*k, H*W or 1


@cache
def hidden_groups(arch: Architecture) -> tuple[HiddenGroup, ...]:
    """The permutable hidden layers of an architecture, in order."""
    slots = {(s.layer, s.kind): s for s in arch.param_slots}
    layers = arch.parametric_layers
    groups = []
    for producer, consumer in zip(layers[:-1], layers[1:], strict=True):
        w = slots[(producer, "weight")]
        b = slots.get((producer, "bias"))
        cw = slots[(consumer, "weight")]
        units = w.shape[0]
        fan_in = math.prod(cw.shape[1:])
        cons = arch.layers[consumer]
        if isinstance(cons, Conv2d) and cons.in_channels != units:
            raise HyperrepError(f"{arch.name}: layer {consumer} does not consume {units} channels")
        if isinstance(cons, Linear) and fan_in % units:
            raise HyperrepError(f"{arch.name}: layer {consumer} inputs are not {units} blocks")
        groups.append(
            HiddenGroup(
                size=units,
                weight=(w.offset, w.stop),
                bias=(b.offset, b.stop) if b is not None else None,
                consumer=(cw.offset, cw.stop),
                consumer_rows=cw.shape[0],
                block=fan_in // units,
            )
        )
    return tuple(groups)


def permutation_index(arch: Architecture, perms: list[torch.Tensor]) -> torch.Tensor:
    """Gather index (B, n_params) applying one permutation per hidden layer and sample.

    `perms[g]` is (B, size_g): new unit i of hidden layer g is old unit perms[g][:, i].
    """
    groups = hidden_groups(arch)
    if len(perms) != len(groups):
        raise HyperrepError(f"{arch.name}: expected {len(groups)} permutations, got {len(perms)}")
    batch = perms[0].shape[0] if perms else 1
    device = perms[0].device if perms else None
    index = torch.arange(arch.n_params, device=device).repeat(batch, 1)
    for group, perm in zip(groups, perms, strict=True):
        if tuple(perm.shape) != (batch, group.size):
            raise HyperrepError(f"permutation of shape {tuple(perm.shape)}, expected "
                                f"({batch}, {group.size})")  # fmt: skip
        lo, hi = group.weight
        rows = index[:, lo:hi].view(batch, group.size, -1)
        index[:, lo:hi] = rows.gather(1, perm[:, :, None].expand_as(rows)).reshape(batch, -1)
        if group.bias is not None:
            lo, hi = group.bias
            index[:, lo:hi] = index[:, lo:hi].gather(1, perm)
        lo, hi = group.consumer
        cols = index[:, lo:hi].view(batch, group.consumer_rows, group.size, group.block)
        gathered = cols.gather(2, perm[:, None, :, None].expand_as(cols))
        index[:, lo:hi] = gathered.reshape(batch, -1)
    return index


def permute(arch: Architecture, weights: torch.Tensor, perms: list[torch.Tensor]) -> torch.Tensor:
    """The flat vectors (B, n_params) with their hidden units permuted by `perms`."""
    if weights.ndim != 2 or weights.shape[1] != arch.n_params:
        raise HyperrepError(f"{arch.name}: expected (batch, {arch.n_params}) vectors, "
                            f"got {tuple(weights.shape)}")  # fmt: skip
    index = permutation_index(arch, [p.to(weights.device) for p in perms])
    return weights.gather(1, index.expand(weights.shape[0], -1))


def random_permutations(
    arch: Architecture, batch: int, generator: torch.Generator
) -> list[torch.Tensor]:
    """Fresh uniform permutations of every hidden layer for `batch` samples."""
    return [
        torch.argsort(torch.rand(batch, g.size, generator=generator), dim=1)
        for g in hidden_groups(arch)
    ]


class PermutationPool:
    """A fixed pool of permutations drawn once from `seed`.

    mode "joint": `size` independent uniform draws of every hidden layer at once.
    mode "per-layer": the authors' construction (dataset_simclr.py): hidden layer g gets
    its own list of n_g = max(1, min(k_g!, size) // n_layers) orderings (all k_g! of them
    when that is every ordering, else n_g random ones), and each of the `size` pool
    entries picks one ordering per layer from those lists, so a small layer sees only a
    handful of orderings however large the pool.
    For the Tetris MLP, `size=120` with `exhaustive=True` gives all 5! permutations.
    """

    def __init__(
        self,
        arch: Architecture,
        size: int,
        seed: int = 0,
        exhaustive: bool = False,
        mode: str = "joint",
    ) -> None:
        self.arch = arch
        if size < 1:
            raise HyperrepError(f"a permutation pool needs size >= 1, got {size}")
        generator = torch.Generator().manual_seed(seed)
        if exhaustive:
            groups = hidden_groups(arch)
            if len(groups) != 1 or math.factorial(groups[0].size) > 1_000_000:
                raise HyperrepError("exhaustive pools need one small hidden layer")
            pool = _all_permutations(groups[0].size)
            self.perms = [pool]
        elif mode == "joint":
            self.perms = random_permutations(arch, size, generator)
        elif mode == "per-layer":
            self.perms = _per_layer_pool(arch, size, generator)
        else:
            raise HyperrepError(f"unknown pool mode {mode!r}; known: joint, per-layer")

    def __len__(self) -> int:
        return self.perms[0].shape[0]

    def sample(self, batch: int, generator: torch.Generator) -> list[torch.Tensor]:
        """`batch` permutations drawn uniformly from the pool."""
        pick = torch.randint(len(self), (batch,), generator=generator)
        return [p[pick] for p in self.perms]


def _per_layer_pool(
    arch: Architecture, size: int, generator: torch.Generator
) -> list[torch.Tensor]:
    groups = hidden_groups(arch)
    out = []
    for group in groups:
        n_orders = max(1, min(math.factorial(group.size), size) // len(groups))
        if n_orders == math.factorial(group.size):
            orders = _all_permutations(group.size)
        else:
            orders = torch.argsort(torch.rand(n_orders, group.size, generator=generator), dim=1)
        out.append(orders[torch.randint(n_orders, (size,), generator=generator)])
    return out


def _all_permutations(n: int) -> torch.Tensor:
    from itertools import permutations

    return torch.tensor(list(permutations(range(n))), dtype=torch.int64)


def canonical_permutations(arch: Architecture, weights: torch.Tensor) -> list[torch.Tensor]:
    """Per hidden layer, the order that sorts its units by the l2 norm of their incoming
    weights and bias (ties broken by position)."""
    perms = []
    for group in hidden_groups(arch):
        lo, hi = group.weight
        norms = weights[:, lo:hi].reshape(weights.shape[0], group.size, -1).pow(2).sum(2)
        if group.bias is not None:
            norms = norms + weights[:, group.bias[0] : group.bias[1]].pow(2)
        perms.append(torch.argsort(norms, dim=1, stable=True))
    return perms


def canonicalize(arch: Architecture, weights: torch.Tensor) -> torch.Tensor:
    """Weights with the hidden units of every layer sorted by their norm: one
    representative per permutation class (when norms are distinct)."""
    return permute(arch, weights, canonical_permutations(arch, weights))
