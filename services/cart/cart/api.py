"""HTTP API: carts, health, version and Prometheus metrics.

``create_app()`` (what gunicorn runs) takes its database from the environment (cart.config) and refuses to start
without one; ``create_app(store)`` serves the given store (tests)."""

from __future__ import annotations

import atexit
import logging
import os
import sys
import time

from flask import Flask, Response, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from cart.errors import ApiError, install_error_handlers
from cart.limits import MAX_BODY_BYTES
from cart.metrics import HttpMetrics
from cart.store import CartStore
from cart.validation import identifier, item_from_body

# gunicorn's exit status for "worker failed to boot": the master stops instead of respawning the worker forever.
EXIT_CONFIG_ERROR = 3


def create_app(store: CartStore | None = None) -> Flask:
    carts = store if store is not None else _store_from_environment()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.extensions["cart_store"] = carts  # whoever made the app from the environment can close its pool
    registry = CollectorRegistry()
    http = HttpMetrics(registry)
    for collector in carts.collectors():
        registry.register(collector)
    install_error_handlers(app)

    @app.before_request
    def _start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        # The route template, not the raw path, keeps label cardinality bounded.
        path = request.url_rule.rule if request.url_rule else "unmatched"
        http.requests.labels(request.method, path, str(response.status_code)).inc()
        http.latency.labels(request.method, path).observe(time.perf_counter() - g.get("started", time.perf_counter()))
        return response

    @app.get("/healthz")
    def healthz() -> Response:
        # An unreachable database raises DatabaseUnavailable: 503, and the load balancer takes this replica out.
        # A standby is healthy: it serves reads, and answers writes with a clear 503.
        health = carts.health()
        return jsonify(status="ok", database={"role": health.role, "latency_ms": health.latency_ms})

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
        items = carts.items(identifier(cart_id, "cart id"))
        return jsonify(
            cart_id=cart_id,
            items=[{"sku": sku, "quantity": qty} for sku, qty in sorted(items.items())],
            total_quantity=sum(items.values()),
        )

    @app.post("/carts/<cart_id>/items")
    def add_item(cart_id: str) -> tuple[Response, int]:
        identifier(cart_id, "cart id")
        sku, quantity = item_from_body(request)
        total = carts.add(cart_id, sku, quantity)
        return jsonify(cart_id=cart_id, sku=sku, quantity=total), 201

    @app.delete("/carts/<cart_id>/items/<sku>")
    def remove_item(cart_id: str, sku: str) -> tuple[str, int]:
        if not carts.remove(identifier(cart_id, "cart id"), identifier(sku, "'sku'")):
            raise ApiError(f"'{sku}' is not in cart '{cart_id}'", status=404)
        return "", 204

    return app


def _store_from_environment() -> CartStore:
    # Imported here, not at the top: the API and its unit tests with an explicit store need no database driver.
    from cart.config import ConfigError, database_settings
    from cart.pgstore import PostgresCartStore
    from cart.redact import register_secret

    try:
        settings = database_settings(os.environ)
    except ConfigError as exc:
        print(f"cart: refusing to start: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(EXIT_CONFIG_ERROR) from None
    if settings.password is not None:
        register_secret(settings.password)
    _configure_logging()
    store = PostgresCartStore(settings)
    atexit.register(store.close)
    return store


def _configure_logging() -> None:
    # Under gunicorn nothing configures the root logger; without this, warnings would go out unformatted.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("cart").setLevel(logging.INFO)
