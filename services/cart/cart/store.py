"""What the HTTP layer needs from cart storage, and the outcomes it turns into status codes.

Carts live in the region's PostgreSQL database (cart.pgstore), shared by every replica; there is deliberately no
in-memory implementation to fall back to, because replicas that silently keep their own carts disagree with each
other. Unit tests that need no database pass their own object with these methods to ``create_app``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from prometheus_client.registry import Collector

Role = Literal["primary", "standby"]


@dataclass(frozen=True)
class DatabaseHealth:
    role: Role  # "standby": the database refuses writes (hot standby, or a read-only session)
    latency_ms: float


class StoreError(Exception):
    """A storage outcome the API answers with a specific status; the message is safe to show to clients."""


class LimitExceeded(StoreError):
    """The write would break a cart limit (cart.limits): 409."""


class ReadOnlyDatabase(StoreError):
    """The database is a hot standby (or the session is read-only): writes are refused until promotion: 503."""


class DatabaseUnavailable(StoreError):
    """The database did not answer (down, unreachable, timed out, pool exhausted): 503, worth retrying."""


class StorageFailure(StoreError):
    """Any other database error (missing migration, missing privilege, bug): 500; details are only logged."""


class CartStore(Protocol):
    def items(self, cart_id: str) -> dict[str, int]:
        """sku -> quantity; an unknown cart is empty."""
        ...

    def add(self, cart_id: str, sku: str, quantity: int) -> int:
        """Add ``quantity`` of ``sku``; returns the new quantity of that item."""
        ...

    def remove(self, cart_id: str, sku: str) -> bool:
        """Remove ``sku`` entirely; False when it was not in the cart."""
        ...

    def health(self) -> DatabaseHealth: ...

    def collectors(self) -> Sequence[Collector]:
        """Prometheus collectors of the store, registered by the app next to its own."""
        ...

    def close(self) -> None: ...
