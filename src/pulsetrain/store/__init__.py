"""Result stores."""

from pulsetrain.store.sqlite import ResultStore

__all__ = ["ResultStore"]
