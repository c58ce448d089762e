"""Plug-ins by name: each kind (shot detectors, fingerprint encoders, visual trunks,
training objectives) keeps one :class:`Registry`, filled with a decorator where each
plug-in is defined, in the manner of PySceneDetect's backends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from videothat.core.errors import ParameterError

T = TypeVar("T")


class Registry(Generic[T]):
    """Named plug-ins of one ``kind`` (the word used in error messages)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@REGISTRY.register("name")`` over a class or function."""

        def add(item: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = item
            return item

        return add

    def get(self, name: str) -> T:
        """The plug-in called ``name``; :class:`ParameterError` naming the choices otherwise."""
        try:
            return self._items[name]
        except KeyError:
            raise ParameterError(f"unknown {self.kind} {name!r}; choose one of {', '.join(self.names)}") from None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)
