"""The cart API on a real PostgreSQL 15: CRUD, ordering and the storage limits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cart.limits import MAX_ITEMS_PER_CART, MAX_QUANTITY

if TYPE_CHECKING:
    from flask.testing import FlaskClient


def add(client: FlaskClient, cart_id: str, sku: str, quantity: int | None = None) -> Any:
    body: dict[str, Any] = {"sku": sku} if quantity is None else {"sku": sku, "quantity": quantity}
    return client.post(f"/carts/{cart_id}/items", json=body)


def test_add_list_remove(client: FlaskClient, cart_id: str) -> None:
    assert client.get(f"/carts/{cart_id}").json == {"cart_id": cart_id, "items": [], "total_quantity": 0}
    created = add(client, cart_id, "apple", 2)
    assert created.status_code == 201
    assert created.json == {"cart_id": cart_id, "sku": "apple", "quantity": 2}
    assert add(client, cart_id, "apple", 3).json["quantity"] == 5
    assert add(client, cart_id, "pear").json["quantity"] == 1  # quantity defaults to 1
    cart = client.get(f"/carts/{cart_id}").json
    assert cart["items"] == [{"sku": "apple", "quantity": 5}, {"sku": "pear", "quantity": 1}]
    assert cart["total_quantity"] == 6
    assert client.delete(f"/carts/{cart_id}/items/apple").status_code == 204
    assert client.get(f"/carts/{cart_id}").json["items"] == [{"sku": "pear", "quantity": 1}]


def test_items_come_back_in_code_point_order(client: FlaskClient, cart_id: str) -> None:
    skus = ["b", "A", "a-", "_x", "Z9", "-1"]
    for sku in skus:
        add(client, cart_id, sku)
    assert [item["sku"] for item in client.get(f"/carts/{cart_id}").json["items"]] == sorted(skus)


def test_removing_a_missing_item_is_a_404(client: FlaskClient, cart_id: str) -> None:
    response = client.delete(f"/carts/{cart_id}/items/ghost")
    assert response.status_code == 404
    assert response.json == {"error": f"'ghost' is not in cart '{cart_id}'", "status": 404}


def test_stored_quantity_is_capped_at_99(client: FlaskClient, cart_id: str) -> None:
    assert add(client, cart_id, "apple", 60).status_code == 201
    assert add(client, cart_id, "apple", 39).json["quantity"] == MAX_QUANTITY
    refused = add(client, cart_id, "apple", 1)
    assert refused.status_code == 409
    assert refused.json == {
        "error": f"cart '{cart_id}' has 99 of 'apple'; adding 1 would exceed the limit of 99 per item",
        "status": 409,
    }
    assert client.get(f"/carts/{cart_id}").json["items"] == [{"sku": "apple", "quantity": 99}]


def test_a_cart_holds_at_most_100_distinct_items(client: FlaskClient, cart_id: str) -> None:
    for n in range(MAX_ITEMS_PER_CART):
        assert add(client, cart_id, f"sku-{n:03d}").status_code == 201
    refused = add(client, cart_id, "one-too-many")
    assert refused.status_code == 409
    assert refused.json == {"error": f"cart '{cart_id}' already has the limit of 100 distinct items", "status": 409}
    assert add(client, cart_id, "sku-000", 5).json["quantity"] == 6  # a full cart still takes more of an item
    assert client.delete(f"/carts/{cart_id}/items/sku-000").status_code == 204
    assert add(client, cart_id, "one-too-many").status_code == 201  # room again
    assert len(client.get(f"/carts/{cart_id}").json["items"]) == MAX_ITEMS_PER_CART
