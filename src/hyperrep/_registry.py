"""A small name -> factory registry, the way presets, architectures and data sets are added."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from hyperrep._errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to factories; adding an entry is one decorated function."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Callable[..., T]] = {}

    def register(self, name: str | None = None) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator that registers a factory under `name` (default: the function's name)."""

        def decorate(fn: Callable[..., T]) -> Callable[..., T]:
            key = (name or fn.__name__).lower().replace("_", "-")
            if key in self._entries:
                raise ValueError(f"{self.kind} {key!r} is already registered")
            self._entries[key] = fn
            return fn

        return decorate

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)

    def registered(self) -> list[str]:
        """Registered names, in the order they were registered."""
        return list(self._entries)

    def factory(self, name: str) -> Callable[..., T]:
        """The factory registered under `name`."""
        key = name.lower().replace("_", "-")
        if key not in self._entries:
            known = ", ".join(self.names())
            raise UnknownNameError(f"unknown {self.kind} {name!r}; known: {known}")
        return self._entries[key]

    def create(self, name: str, **kwargs: object) -> T:
        """Call the factory registered under `name`."""
        return self.factory(name)(**kwargs)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower().replace("_", "-") in self._entries
