"""Named registries of pluggable classes (training algorithms, MVM periphery models, …).

A registry maps a class attribute ``name`` to the class; registering is one decorator
line, so adding an algorithm or a non-ideality is writing one class.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T", bound=type)


class Registry(Generic[T]):
    """Classes by their ``name``; ``kind`` words the error for an unknown name."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._classes: dict[str, T] = {}

    def register(self, cls: T) -> T:
        """Register ``cls`` under ``cls.name`` (usable as a decorator).

        Raises
        ------
        ValueError
            If another class already has that name.
        """
        name: str = cls.name  # type: ignore[attr-defined]
        if self._classes.get(name, cls) is not cls:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._classes[name] = cls
        return cls

    def __getitem__(self, name: str) -> T:
        """The class registered as ``name``.

        Raises
        ------
        ValueError
            Naming the unknown name and listing the registered ones.
        """
        if name not in self._classes:
            raise ValueError(f"unknown {self.kind} {name!r}; expected one of "
                             f"{', '.join(self._classes)}")
        return self._classes[name]

    def __contains__(self, name: object) -> bool:
        return name in self._classes

    def __iter__(self) -> Iterator[str]:
        return iter(self._classes)

    def pop(self, name: str) -> T:
        """Unregister ``name`` (e.g. a class registered by a test)."""
        return self._classes.pop(name)
