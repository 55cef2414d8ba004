"""A store stand-in for tests that must not reach a database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cart.store import DatabaseHealth


class UntouchableStore:
    """For tests of input handling: any call to the store means validation let something through."""

    def _fail(self, *args: object) -> Any:
        raise AssertionError(f"the store was called with {args}")

    items = add = remove = _fail

    def health(self) -> DatabaseHealth:
        return DatabaseHealth(role="primary", latency_ms=0.0)

    def collectors(self) -> Sequence[Any]:
        return ()

    def close(self) -> None:
        pass


class ExplodingStore(UntouchableStore):
    """Raises the given exception from every cart operation."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def _raise(self, *args: object) -> Any:
        raise self.exc

    items = add = remove = _raise
