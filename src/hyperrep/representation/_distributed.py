"""Data-parallel representation training under `torchrun` (torch.distributed).

Every rank draws the same batch order and the same augmented views (one random stream,
as in a single process), encodes its shard of each batch, and all-gathers the latents
so that the projection head, its BatchNorm and NT-Xent see the whole batch; the
gradients are averaged over ranks. N processes so train the model one process trains
with the same batch (up to float rounding, with dropout 0: dropout masks are drawn per
rank). See docs/scale.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist

from hyperrep._errors import HyperrepError


@dataclass(frozen=True)
class Ranks:
    """This process's place among the training processes (rank 0 of 1 when alone)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        """True on the process that writes files and shows progress."""
        return self.rank == 0

    def shard_sizes(self, n: int) -> list[int]:
        """Rows of a batch of `n` on each rank: contiguous, sizes differing by at most one."""
        return [n // self.world + (r < n % self.world) for r in range(self.world)]

    def shard(self, n: int) -> slice:
        """This rank's rows of a batch of `n`."""
        sizes = self.shard_sizes(n)
        start = sum(sizes[: self.rank])
        return slice(start, start + sizes[self.rank])

    def gather(self, x: torch.Tensor, n: int) -> torch.Tensor:
        """Every rank's shard of a batch of `n` rows, in rank order; gradients flow back
        to each rank's own shard."""
        if not self.distributed:
            return x
        return _Gather.apply(x, self.shard_sizes(n), self.rank)

    def average_gradients(self, parameters: Iterable[torch.nn.Parameter]) -> None:
        """Replace each gradient by its mean over ranks (one all-reduce of a flat buffer)."""
        if not self.distributed:
            return
        params = [p for p in parameters if p.requires_grad]
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world
        start = 0
        for p in params:
            p.grad = flat[start : start + p.numel()].view_as(p).clone()
            start += p.numel()

    def sum(self, values: dict[str, float]) -> dict[str, float]:
        """Sum of per-rank values (same keys on every rank)."""
        if not self.distributed:
            return values
        keys = sorted(values)
        total = torch.tensor([values[k] for k in keys], dtype=torch.float64)
        dist.all_reduce(total)
        return dict(zip(keys, total.tolist(), strict=True))

    def agree(self, ok: bool) -> bool:
        """True if `ok` holds on every rank."""
        if not self.distributed:
            return ok
        flag = torch.tensor([int(ok)])
        dist.all_reduce(flag, op=dist.ReduceOp.MIN)
        return bool(flag.item())


class _Gather(torch.autograd.Function):
    """all_gather with a backward: each rank gets the sum over ranks of the gradient of
    its shard (every rank computes the same loss from the gathered batch, and gradients
    are then averaged, so the sum is what makes the average exact)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, sizes: list[int], rank: int) -> torch.Tensor:  # type: ignore[override]
        ctx.sizes, ctx.rank = sizes, rank
        padded = x.new_zeros((max(sizes), *x.shape[1:]))
        padded[: x.shape[0]] = x
        parts = [torch.empty_like(padded) for _ in sizes]
        dist.all_gather(parts, padded.contiguous())
        return torch.cat([part[:size] for part, size in zip(parts, sizes, strict=True)])

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:  # type: ignore[override]
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        start = sum(ctx.sizes[: ctx.rank])
        return grad[start : start + ctx.sizes[ctx.rank]], None, None


def ranks_from_env() -> Ranks:
    """The ranks `torchrun` describes in the environment (RANK, WORLD_SIZE, LOCAL_RANK)."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError:
        raise HyperrepError("RANK / WORLD_SIZE / LOCAL_RANK must be integers") from None
    return Ranks(rank, world, local)


@contextmanager
def process_group(ranks: Ranks, device: str) -> Iterator[str]:
    """Join the training processes (gloo on CPU, nccl on CUDA) for the duration; yields
    this rank's device (cuda:LOCAL_RANK for CUDA)."""
    if not ranks.distributed:
        yield device
        return
    cuda = device.startswith("cuda")
    if cuda:
        device = f"cuda:{ranks.local_rank}"
        torch.cuda.set_device(device)
    owned = not dist.is_initialized()
    if owned:
        dist.init_process_group("nccl" if cuda else "gloo")
    try:
        yield device
        # rank 0 still writes its last checkpoint; a rank leaving the group early aborts
        # in gloo's teardown, and torchrun then stops every rank
        dist.barrier()
    finally:
        if owned:
            dist.destroy_process_group()
