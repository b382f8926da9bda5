"""Permutation symmetry of hidden neurons (appendix A.2), as index gathers on flat vectors.

Permuting the output units of a hidden layer (rows of its weight, entries of its bias)
together with the matching inputs of the next parametric layer (columns of a linear
weight, input channels of a convolution, or the blocks of a flattened conv output)
leaves the network's function unchanged. The output layer is never permuted. Which
slices move together is the architecture's `permutation_spec`.
"""

from __future__ import annotations

import math

import torch

from hyperrep._errors import HyperrepError
from hyperrep.arch import Architecture, PermGroup, permutation_spec


def hidden_groups(arch: Architecture) -> tuple[PermGroup, ...]:
    """The groups of interchangeable hidden units, in order (`permutation_spec`)."""
    return permutation_spec(arch).groups


def permutation_index(arch: Architecture, perms: list[torch.Tensor]) -> torch.Tensor:
    """Gather index (B, n_params) applying one permutation per group and sample.

    `perms[g]` is (B, size_g): new unit i of group g is old unit perms[g][:, i].
    """
    groups = hidden_groups(arch)
    if len(perms) != len(groups):
        raise HyperrepError(f"{arch.name}: expected {len(groups)} permutations, got {len(perms)}")
    batch = perms[0].shape[0] if perms else 1
    device = perms[0].device if perms else None
    index = torch.arange(arch.n_params, device=device).repeat(batch, 1)
    for group, perm in zip(groups, perms, strict=True):
        if tuple(perm.shape) != (batch, group.size):
            raise HyperrepError(
                f"permutation of shape {tuple(perm.shape)}, expected ({batch}, {group.size})"
            )
        for e in group.entries:  # each entry on its own axis: the gathers commute
            view = index[:, e.offset : e.stop].view(batch, e.outer, e.size, e.inner)
            gathered = view.gather(2, perm[:, None, :, None].expand_as(view))
            index[:, e.offset : e.stop] = gathered.reshape(batch, -1)
    return index


def permute(arch: Architecture, weights: torch.Tensor, perms: list[torch.Tensor]) -> torch.Tensor:
    """The flat vectors (B, n_params) with their hidden units permuted by `perms`."""
    if weights.ndim != 2 or weights.shape[1] != arch.n_params:
        raise HyperrepError(
            f"{arch.name}: expected (batch, {arch.n_params}) vectors, got {tuple(weights.shape)}"
        )
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
    """Per group, the order that sorts its units by the l2 norm of their own parameters
    (incoming weights, bias, BatchNorm scale and shift; ties broken by position)."""
    perms = []
    for group in hidden_groups(arch):
        norms = weights.new_zeros(weights.shape[0], group.size)
        for e in group.entries:
            if e.incoming:
                block = weights[:, e.offset : e.stop].reshape(weights.shape[0], group.size, -1)
                norms = norms + block.pow(2).sum(2)
        perms.append(torch.argsort(norms, dim=1, stable=True))
    return perms


def canonicalize(arch: Architecture, weights: torch.Tensor) -> torch.Tensor:
    """Weights with the hidden units of every layer sorted by their norm: one
    representative per permutation class (when norms are distinct)."""
    return permute(arch, weights, canonical_permutations(arch, weights))
