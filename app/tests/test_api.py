"""Unit tests of the cart API through Flask's test client (no server, no container)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cart.api import create_app
from flask.testing import FlaskClient


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    monkeypatch.setenv("GIT_SHA", "abc123")
    monkeypatch.setenv("IMAGE_DIGEST", "sha256:" + "0" * 64)
    yield create_app().test_client()


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_version_reports_build_sha_and_digest(client: FlaskClient) -> None:
    body = client.get("/version").json
    assert body["sha"] == "abc123"
    assert body["digest"] == "sha256:" + "0" * 64


def test_add_list_remove(client: FlaskClient) -> None:
    assert client.get("/carts/c1").json["items"] == []
    created = client.post("/carts/c1/items", json={"sku": "apple", "quantity": 2})
    assert created.status_code == 201
    assert created.json == {"cart_id": "c1", "sku": "apple", "quantity": 2}
    client.post("/carts/c1/items", json={"sku": "apple", "quantity": 3})
    client.post("/carts/c1/items", json={"sku": "pear"})
    cart = client.get("/carts/c1").json
    assert cart["items"] == [{"sku": "apple", "quantity": 5}, {"sku": "pear", "quantity": 1}]
    assert cart["total_quantity"] == 6
    assert client.delete("/carts/c1/items/apple").status_code == 204
    assert client.get("/carts/c1").json["items"] == [{"sku": "pear", "quantity": 1}]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("not json", "JSON object"),
        ({"quantity": 1}, "'sku' is required"),
        ({"sku": "apple", "quantity": 0}, "from 1 to 99"),
        ({"sku": "apple", "quantity": 100}, "from 1 to 99"),
        ({"sku": "apple", "quantity": "2"}, "integer"),
        ({"sku": "apple", "quantity": True}, "integer"),
        ({"sku": "bad sku!", "quantity": 1}, "letters, digits"),
    ],
)
def test_bad_item_is_a_400_with_a_json_error(client: FlaskClient, body: object, fragment: str) -> None:
    if isinstance(body, str):
        response = client.post("/carts/c1/items", data=body, content_type="application/json")
    else:
        response = client.post("/carts/c1/items", json=body)
    assert response.status_code == 400
    assert fragment in response.json["error"]


def test_removing_a_missing_item_is_a_404(client: FlaskClient) -> None:
    response = client.delete("/carts/c1/items/ghost")
    assert response.status_code == 404
    assert "not in cart" in response.json["error"]


def test_unknown_route_is_a_json_404(client: FlaskClient) -> None:
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.json["status"] == 404


def test_metrics_count_requests_by_route_template(client: FlaskClient) -> None:
    client.get("/carts/c9")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'cart_http_requests_total{method="GET",path="/carts/<cart_id>",status="200"} 1.0' in text
    assert "cart_http_request_duration_seconds_bucket" in text
