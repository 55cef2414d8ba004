"""Several replicas on one database: each app here has its own pool, as separate containers would."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from flask import Flask

THREADS = 8


@pytest.fixture
def replicas(make_app: Callable[..., Flask], make_store: Callable[..., Any]) -> tuple[Flask, Flask]:
    return make_app(make_store()), make_app(make_store())


def run_together(work: Callable[[int], None]) -> None:
    """Run work(0..THREADS-1) in threads released at the same moment; re-raise the first failure."""
    barrier = threading.Barrier(THREADS)

    def body(n: int) -> None:
        barrier.wait(timeout=10)
        work(n)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for future in [pool.submit(body, n) for n in range(THREADS)]:
            future.result(timeout=30)


def test_replicas_see_the_same_cart(replicas: tuple[Flask, Flask], cart_id: str) -> None:
    one, two = (app.test_client() for app in replicas)
    assert one.post(f"/carts/{cart_id}/items", json={"sku": "apple", "quantity": 2}).status_code == 201
    assert two.get(f"/carts/{cart_id}").json["items"] == [{"sku": "apple", "quantity": 2}]
    assert two.post(f"/carts/{cart_id}/items", json={"sku": "apple", "quantity": 3}).json["quantity"] == 5
    assert two.delete(f"/carts/{cart_id}/items/apple").status_code == 204
    assert one.get(f"/carts/{cart_id}").json["items"] == []


def test_concurrent_adds_from_8_threads_sum_exactly(replicas: tuple[Flask, Flask], cart_id: str) -> None:
    adds_per_thread = 12  # 8 * 12 = 96: below the per-item cap, so every add must land
    statuses: list[int] = []

    def work(n: int) -> None:
        client = replicas[n % 2].test_client()  # half the threads on each replica
        for _ in range(adds_per_thread):
            statuses.append(client.post(f"/carts/{cart_id}/items", json={"sku": "apple"}).status_code)

    run_together(work)
    assert statuses == [201] * THREADS * adds_per_thread
    cart = replicas[0].test_client().get(f"/carts/{cart_id}").json
    assert cart["items"] == [{"sku": "apple", "quantity": THREADS * adds_per_thread}]


def test_the_item_limit_holds_under_concurrent_adds(replicas: tuple[Flask, Flask], cart_id: str) -> None:
    client = replicas[0].test_client()
    for n in range(96):
        client.post(f"/carts/{cart_id}/items", json={"sku": f"old-{n}"})
    statuses: list[int] = []

    def work(n: int) -> None:  # 8 new SKUs race for the last 4 places
        statuses.append(
            replicas[n % 2].test_client().post(f"/carts/{cart_id}/items", json={"sku": f"new-{n}"}).status_code
        )

    run_together(work)
    assert sorted(statuses) == [201] * 4 + [409] * 4
    assert len(client.get(f"/carts/{cart_id}").json["items"]) == 100


def test_the_quantity_cap_holds_under_concurrent_adds(replicas: tuple[Flask, Flask], cart_id: str) -> None:
    client = replicas[0].test_client()
    client.post(f"/carts/{cart_id}/items", json={"sku": "apple", "quantity": 90})
    statuses: list[int] = []

    def work(n: int) -> None:  # 8 adds of 2 race for the 9 units left under the cap: 4 fit
        statuses.append(
            replicas[n % 2]
            .test_client()
            .post(f"/carts/{cart_id}/items", json={"sku": "apple", "quantity": 2})
            .status_code
        )

    run_together(work)
    assert sorted(statuses) == [201] * 4 + [409] * 4
    assert client.get(f"/carts/{cart_id}").json["items"] == [{"sku": "apple", "quantity": 98}]
