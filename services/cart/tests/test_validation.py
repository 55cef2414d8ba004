"""Input handling and the JSON error contract, without a database: the store stub fails the test if a bad
request gets as far as storage."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import cart_stubs
import pytest

if TYPE_CHECKING:
    from flask.testing import FlaskClient

MAX_BODY_BYTES = 16 * 1024


def test_identifiers_must_match_entirely() -> None:
    from cart.validation import IDENTIFIER

    assert IDENTIFIER.fullmatch("apple-1_X")
    # The old check (re.match with "$") accepted this: "$" also matches just before a final newline.
    assert IDENTIFIER.fullmatch("apple\n") is None
    assert IDENTIFIER.fullmatch("a" * 65) is None


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("not json", "JSON object"),
        ("[" * 16000, "JSON object"),  # deeper than the JSON parser's recursion limit: still a 400
        ('["sku", "apple"]', "JSON object"),
        ({"quantity": 1}, "'sku' is required"),
        ({"sku": 5}, "'sku' is required"),
        ({"sku": "apple", "quantity": 0}, "from 1 to 99"),
        ({"sku": "apple", "quantity": 100}, "from 1 to 99"),
        ({"sku": "apple", "quantity": -1}, "from 1 to 99"),
        ({"sku": "apple", "quantity": "2"}, "integer"),
        ({"sku": "apple", "quantity": True}, "integer"),
        ({"sku": "apple", "quantity": 2.0}, "integer"),
        ({"sku": "apple", "quantity": None}, "integer"),
        ({"sku": "bad sku!", "quantity": 1}, "letters, digits"),
        ({"sku": "apple\n", "quantity": 1}, "letters, digits"),
        ({"sku": "", "quantity": 1}, "letters, digits"),
        ({"sku": "a" * 65, "quantity": 1}, "letters, digits"),
        ({"sku": "apple", "quantity": 1, "price": 3}, "unexpected field"),
    ],
)
def test_bad_item_is_a_400_with_a_json_error(offline_client: FlaskClient, body: object, fragment: str) -> None:
    if isinstance(body, str):
        response = offline_client.post("/carts/c1/items", data=body, content_type="application/json")
    else:
        response = offline_client.post("/carts/c1/items", json=body)
    assert response.status_code == 400
    assert response.json is not None
    assert fragment in response.json["error"] and response.json["status"] == 400


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/carts/c1%0A"), ("POST", "/carts/c1%0A/items"), ("DELETE", "/carts/c1/items/apple%0A")],
)
def test_trailing_newline_in_the_path_is_a_400(offline_client: FlaskClient, method: str, path: str) -> None:
    response = offline_client.open(path, method=method, json={"sku": "apple"})
    assert response.status_code == 400
    assert response.json == {"error": response.json["error"], "status": 400}


def test_a_20_kib_body_is_a_413(offline_client: FlaskClient) -> None:
    body = '{"sku": "apple", "quantity": 1, "pad": "' + "x" * 20 * 1024 + '"}'
    response = offline_client.post("/carts/c1/items", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.json == {"error": f"the request body must be at most {MAX_BODY_BYTES} bytes", "status": 413}


def test_a_large_body_without_content_length_is_a_413(offline_client: FlaskClient) -> None:
    import io

    # A chunked request: no Content-Length, the server marks the input as terminated.
    body = io.BytesIO(b'{"sku": "' + b"x" * 20 * 1024 + b'"}')
    response = offline_client.post(
        "/carts/c1/items",
        input_stream=body,
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413


def test_non_json_content_type_is_a_415(offline_client: FlaskClient) -> None:
    response = offline_client.post(
        "/carts/c1/items", data="sku=apple", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.json == {"error": "Content-Type must be application/json", "status": 415}


def test_unknown_route_is_a_json_404(offline_client: FlaskClient) -> None:
    response = offline_client.get("/nope")
    assert response.status_code == 404
    assert response.json is not None and response.json["status"] == 404


def test_wrong_method_is_a_json_405_with_allow(offline_client: FlaskClient) -> None:
    response = offline_client.put("/carts/c1", json={})
    assert response.status_code == 405
    assert response.json is not None and response.json["status"] == 405
    assert "GET" in response.headers["Allow"]


def test_an_unexpected_error_is_a_json_500_without_details(
    caplog: pytest.LogCaptureFixture, make_app: Callable[..., Any]
) -> None:
    client = make_app(cart_stubs.ExplodingStore(RuntimeError("secret internals"))).test_client()
    response = client.get("/carts/c1")
    assert response.status_code == 500
    assert response.json == {"error": "internal server error", "status": 500}
    assert "RuntimeError" in caplog.text  # logged for the operator


@pytest.mark.parametrize(
    ("outcome", "status"),
    [("ReadOnlyDatabase", 503), ("DatabaseUnavailable", 503), ("LimitExceeded", 409), ("StorageFailure", 500)],
)
def test_store_outcomes_map_to_status_codes(outcome: str, status: int, make_app: Callable[..., Any]) -> None:
    import cart.store

    exc = getattr(cart.store, outcome)(f"the {outcome} message")
    client = make_app(cart_stubs.ExplodingStore(exc)).test_client()
    response = client.post("/carts/c1/items", json={"sku": "apple"})
    assert response.status_code == status
    assert response.json == {"error": str(exc), "status": status}


def test_version_reports_build_sha_and_digest(monkeypatch: pytest.MonkeyPatch, offline_client: FlaskClient) -> None:
    monkeypatch.setenv("GIT_SHA", "abc123")
    monkeypatch.setenv("IMAGE_DIGEST", "sha256:" + "0" * 64)
    body = offline_client.get("/version").json
    assert body is not None
    assert body["sha"] == "abc123"
    assert body["digest"] == "sha256:" + "0" * 64


def test_metrics_count_requests_by_route_template(offline_client: FlaskClient) -> None:
    offline_client.get("/carts/c9%0A")
    text = offline_client.get("/metrics").get_data(as_text=True)
    assert 'cart_http_requests_total{method="GET",path="/carts/<cart_id>",status="400"} 1.0' in text
    assert "cart_http_request_duration_seconds_bucket" in text
