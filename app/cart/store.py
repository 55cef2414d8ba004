"""In-memory cart storage. Each replica keeps its own carts: the sample service exists to exercise the
pipeline, and a real service would put this behind a database shared by all replicas."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class Cart:
    items: dict[str, int] = field(default_factory=dict)  # sku -> quantity


class CartStore:
    def __init__(self) -> None:
        self._carts: dict[str, Cart] = {}
        self._lock = threading.Lock()

    def items(self, cart_id: str) -> dict[str, int]:
        with self._lock:
            return dict(self._carts.get(cart_id, Cart()).items)

    def add(self, cart_id: str, sku: str, quantity: int) -> int:
        """Add `quantity` of `sku`; returns the new quantity in the cart."""
        with self._lock:
            cart = self._carts.setdefault(cart_id, Cart())
            cart.items[sku] = cart.items.get(sku, 0) + quantity
            return cart.items[sku]

    def remove(self, cart_id: str, sku: str) -> bool:
        """Remove `sku` entirely; False when it was not in the cart."""
        with self._lock:
            cart = self._carts.get(cart_id)
            if cart is None or sku not in cart.items:
                return False
            del cart.items[sku]
            return True
