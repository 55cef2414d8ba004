"""HTTP API: carts, health, version and Prometheus metrics."""

from __future__ import annotations

import os
import re
import time
from typing import Any

from flask import Flask, Response, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from werkzeug.exceptions import HTTPException

from cart.store import CartStore

MAX_QUANTITY = 99
IDENTIFIER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _error(message: str, status: int) -> tuple[Response, int]:
    return jsonify(error=message, status=status), status


def _identifier(value: str, what: str) -> str:
    if not IDENTIFIER.match(value):
        raise BadRequest(f"{what} must be 1-64 letters, digits, '-' or '_'")
    return value


def _item_from_body() -> tuple[str, int]:
    body: Any = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest('body must be a JSON object like {"sku": "apple", "quantity": 2}')
    sku = body.get("sku")
    if not isinstance(sku, str):
        raise BadRequest("'sku' is required and must be a string")
    quantity = body.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        raise BadRequest(f"'quantity' must be an integer from 1 to {MAX_QUANTITY}")
    return _identifier(sku, "'sku'"), quantity


def create_app(store: CartStore | None = None) -> Flask:
    app = Flask(__name__)
    carts = store or CartStore()
    registry = CollectorRegistry()
    requests_total = Counter(
        "cart_http_requests", "HTTP requests served", ["method", "path", "status"], registry=registry
    )
    latency = Histogram(
        "cart_http_request_duration_seconds", "HTTP request latency", ["method", "path"], registry=registry
    )

    @app.before_request
    def _start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        # The route template, not the raw path, keeps label cardinality bounded.
        path = request.url_rule.rule if request.url_rule else "unmatched"
        requests_total.labels(request.method, path, str(response.status_code)).inc()
        latency.labels(request.method, path).observe(time.perf_counter() - g.get("started", time.perf_counter()))
        return response

    @app.errorhandler(BadRequest)
    def _bad_request(exc: BadRequest) -> tuple[Response, int]:
        return _error(str(exc), exc.status)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int]:
        return _error(exc.description or exc.name, exc.code or 500)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @app.get("/version")
    def version() -> Response:
        return jsonify(
            sha=os.environ.get("GIT_SHA", "unknown"),
            digest=os.environ.get("IMAGE_DIGEST", "unknown"),
            region=os.environ.get("REGION", "unknown"),
            environment=os.environ.get("DEPLOY_ENV", "unknown"),
        )

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

    @app.get("/carts/<cart_id>")
    def get_cart(cart_id: str) -> Response:
        items = carts.items(_identifier(cart_id, "cart id"))
        return jsonify(
            cart_id=cart_id,
            items=[{"sku": sku, "quantity": qty} for sku, qty in sorted(items.items())],
            total_quantity=sum(items.values()),
        )

    @app.post("/carts/<cart_id>/items")
    def add_item(cart_id: str) -> tuple[Response, int]:
        _identifier(cart_id, "cart id")
        sku, quantity = _item_from_body()
        total = carts.add(cart_id, sku, quantity)
        return jsonify(cart_id=cart_id, sku=sku, quantity=total), 201

    @app.delete("/carts/<cart_id>/items/<sku>")
    def remove_item(cart_id: str, sku: str) -> tuple[str, int]:
        if not carts.remove(_identifier(cart_id, "cart id"), _identifier(sku, "'sku'")):
            raise BadRequest(f"'{sku}' is not in cart '{cart_id}'", status=404)
        return "", 204

    return app
