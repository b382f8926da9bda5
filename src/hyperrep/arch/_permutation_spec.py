"""Which slices of the flat vector move together when hidden units are permuted.

A `PermutationSpec` is a list of groups, one per set of interchangeable hidden units.
Each group names, as `PermEntry`s, every slice of the flat vector that follows its
units: the producing layer's weight rows and bias, a BatchNorm's scale and shift, and
the next layers' input columns (for a flattened feature map, blocks of H*W columns).
Outputs of the network are never permuted.

`permutation_spec(arch)` derives the spec by walking the layers (each layer type says
its part in `Layer.permute`): for a chain there is one group per hidden parametric
layer; a residual connection ties the units written into the residual stream (the
layer before `ResidualStart` and the last one before `ResidualAdd`) into one group, as
git-re-basin-style specs do. A spec can also be written by hand: it is plain data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from hyperrep._errors import HyperrepError

if TYPE_CHECKING:
    from hyperrep.arch._spec import Architecture, ParamSlot


@dataclass(frozen=True)
class PermEntry:
    """The flat slice [offset, offset + outer*size*inner), viewed as (outer, size, inner),
    permuted along its middle axis. `incoming`: the units' own parameters (their norms
    order the canonical form), as opposed to a later layer's input columns."""

    offset: int
    outer: int
    size: int
    inner: int
    incoming: bool

    @property
    def stop(self) -> int:
        return self.offset + self.outer * self.size * self.inner


@dataclass(frozen=True)
class PermGroup:
    """Interchangeable hidden units and the slices that move with them."""

    size: int
    entries: tuple[PermEntry, ...]


@dataclass(frozen=True)
class PermutationSpec:
    groups: tuple[PermGroup, ...]

    def check(self, n_params: int) -> None:
        """Entries lie inside the vector, fit their group, and a group's entries do not
        overlap (a weight is typically in two groups: its rows and its input columns)."""
        for g in self.groups:
            spans = []
            for e in g.entries:
                if e.size != g.size or e.offset < 0 or e.stop > n_params:
                    raise HyperrepError(
                        f"permutation entry {e} does not fit its group of "
                        f"{g.size} units in {n_params} parameters"
                    )
                spans.append((e.offset, e.stop))
            spans.sort()
            if any(start < stop for (_, stop), (start, _) in zip(spans, spans[1:])):  # noqa: B905
                raise HyperrepError("entries of one permutation group overlap")


@dataclass
class _Group:
    size: int
    entries: list[PermEntry] = field(default_factory=list)
    merged: bool = False


class SpecBuilder:
    """Collects groups while the layers are walked in order (see `Layer.permute`)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.groups: list[_Group] = []
        self.current: _Group | None = None  # the group indexing the current features
        self.saved: list[_Group | None] = []

    def consume(self, weight: ParamSlot, rows: int) -> None:
        """The weight's input axis reads the current features."""
        if self.current is None:
            return
        size = self.current.size
        fan_in = math.prod(weight.shape[1:])
        if fan_in % size:
            raise HyperrepError(f"{self.name}: {weight.name} inputs are not {size} blocks")
        self.current.entries.append(PermEntry(weight.offset, rows, size, fan_in // size, False))

    def produce(self, weight: ParamSlot, bias: ParamSlot | None) -> None:
        """A new group: the units whose weight rows (and bias) these are."""
        size = weight.shape[0]
        group = _Group(size, [PermEntry(weight.offset, 1, size, weight.size // size, True)])
        if bias is not None:
            group.entries.append(PermEntry(bias.offset, 1, size, 1, True))
        self.groups.append(group)
        self.current = group

    def attach(self, *slots: ParamSlot) -> None:
        """Per-unit parameters of the current features (a BatchNorm's scale and shift)."""
        if self.current is None:
            return
        for slot in slots:
            if slot.shape != (self.current.size,):
                raise HyperrepError(
                    f"{self.name}: {slot.name} has shape {slot.shape}, "
                    f"expected ({self.current.size},)"
                )
            self.current.entries.append(PermEntry(slot.offset, 1, self.current.size, 1, True))

    def save(self) -> None:
        self.saved.append(self.current)

    def merge_saved(self) -> None:
        """A residual sum: the current units and the saved ones are the same units."""
        if not self.saved:
            raise HyperrepError(f"{self.name}: ResidualAdd without a ResidualStart")
        saved, current = self.saved.pop(), self.current
        if saved is current:
            return
        if saved is None or current is None:
            raise HyperrepError(f"{self.name}: a residual sum adds the input to hidden units")
        if saved.size != current.size:
            raise HyperrepError(
                f"{self.name}: a residual sum of {saved.size} and {current.size} units"
            )
        saved.entries.extend(current.entries)
        current.merged = True
        self.current = saved

    def finish(self) -> PermutationSpec:
        if self.saved:
            raise HyperrepError(f"{self.name}: ResidualStart without a ResidualAdd")
        output = self.current
        groups = [g for g in self.groups if not g.merged and g is not output]
        return PermutationSpec(tuple(PermGroup(g.size, tuple(g.entries)) for g in groups))


@cache
def permutation_spec(arch: Architecture) -> PermutationSpec:
    """The permutation spec of an architecture, derived from its layers."""
    builder = SpecBuilder(arch.name)
    slots = arch.slots_by_layer
    in_shape = tuple(arch.input_shape)
    for i, (layer, out_shape) in enumerate(zip(arch.layers, arch.feature_shapes, strict=True)):
        layer.permute(builder, slots.get(i, {}), in_shape, out_shape)
        in_shape = out_shape
    spec = builder.finish()
    spec.check(arch.n_params)
    return spec
