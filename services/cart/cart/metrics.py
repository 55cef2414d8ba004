"""Prometheus metrics: HTTP requests (registered by the app) and database calls (owned by the store)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.registry import Collector

DB_OPERATIONS = ("get_cart", "add_item", "remove_item", "health")
DB_ERROR_KINDS = ("unavailable", "timeout", "read_only", "other")
# Sub-millisecond on a unix socket, tens of ms across a VPC, seconds when something is wrong.
DB_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "cart_http_requests", "HTTP requests served", ["method", "path", "status"], registry=registry
        )
        self.latency = Histogram(
            "cart_http_request_duration_seconds", "HTTP request latency", ["method", "path"], registry=registry
        )


class DbMetrics:
    """Created unregistered: the store owns them and each app registers them in its own registry."""

    def __init__(self) -> None:
        self.duration = Histogram(
            "cart_db_query_duration_seconds",
            "Time of one database operation, including the wait for a pooled connection",
            ["operation"],
            buckets=DB_BUCKETS,
            registry=None,
        )
        self.errors = Counter(
            "cart_db_errors", "Failed database operations by kind", ["operation", "kind"], registry=None
        )
        # Series exist at 0 from the start, so rate() and alerts work before the first error.
        for operation in DB_OPERATIONS:
            self.duration.labels(operation)
            for kind in DB_ERROR_KINDS:
                self.errors.labels(operation, kind)

    def observe(self, operation: str, seconds: float) -> None:
        self.duration.labels(operation).observe(seconds)

    def error(self, operation: str, kind: str) -> None:
        self.errors.labels(operation, kind).inc()

    def collectors(self) -> tuple[Collector, ...]:
        return (self.duration, self.errors)
