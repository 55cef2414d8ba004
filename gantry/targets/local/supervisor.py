"""The local stand-in for the ECS service scheduler: keeps each environment's desired count of healthy replicas
in each region, as recorded by the last deploy.

Every second it looks at each region: a load balancer that lost recorded replicas (restarted) gets them back;
a replica whose container exited or whose load balancer checks fail is replaced from the recorded task
definition, and the replacement is in service before the failed one is removed. It acts only while holding
the environment's deploy lease, so it never races a deploy, and never touches an environment whose deploy was
interrupted (that is `gantry recover`'s). Metrics for Prometheus: desired and in-service replicas per region
and environment, and replacements made (the alerts ReplicasBelowDesired and ReplicaReplaced read them); for a
service with a database, each region's cluster role and its replication from the writer (the Database* and
Replication* alerts). Replicas that fail because their region's database does not answer are left alone:
new ones would fail the same way, and a DR failover, not the scheduler, is what helps.

Run by `gantry up` as `python -m gantry.targets.local.supervisor --config FILE --metrics-port PORT`.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from datetime import UTC, datetime

import docker.errors
from prometheus_client import Counter, Gauge, start_http_server

from gantry.config import load_config
from gantry.errors import GantryError
from gantry.leases import Holder, LeaseHeldError
from gantry.targets.local.database import NodeStatus
from gantry.targets.local.rollout import Region, RegionRecord, Replica
from gantry.targets.local.target import LocalTarget

SUPERVISOR_RUN = "supervisor"
DESIRED = Gauge("gantry_replicas_desired", "Replicas the last deploy asked for", ["region", "env"])
IN_SERVICE = Gauge("gantry_replicas_in_service", "Recorded replicas the load balancer has UP", ["region", "env"])
REPLACED = Counter(
    "gantry_replica_replacements", "Replicas replaced after they exited or failed checks", ["region", "env"]
)
FAILURES = Counter("gantry_supervisor_errors", "Repairs that failed (retried next round)", ["region", "env"])
DB_UP = Gauge("gantry_database_up", "The region's PostgreSQL cluster answers", ["region"])
DB_WRITER = Gauge("gantry_database_writer", "The region's cluster takes writes (the primary)", ["region"])
DB_STREAMING = Gauge("gantry_database_standby_streaming", "The standby streams WAL from the writer", ["region"])
DB_LAG_BYTES = Gauge("gantry_database_replication_lag_bytes", "WAL the standby has not replayed yet", ["region"])
DB_LAG_SECONDS = Gauge(
    "gantry_database_replication_lag_seconds", "Replay lag of the standby as the writer measures it", ["region"]
)


def watch_databases(target: LocalTarget) -> dict[str, NodeStatus]:
    """Publish each region's database status; the regions whose database answers."""
    if not target.databases.enabled:
        return {}
    nodes = {node.region: node for node in target.databases.status()}
    for region, node in nodes.items():
        DB_UP.labels(region).set(node.role in ("primary", "standby"))
        DB_WRITER.labels(region).set(node.role == "primary")
        if node.role == "standby":
            DB_STREAMING.labels(region).set(bool(node.streaming))
            DB_LAG_BYTES.labels(region).set(node.lag_bytes if node.lag_bytes is not None else float("nan"))
            DB_LAG_SECONDS.labels(region).set(node.lag_seconds if node.lag_seconds is not None else float("nan"))
        else:
            for gauge in (DB_STREAMING, DB_LAG_BYTES, DB_LAG_SECONDS):
                with contextlib.suppress(KeyError):  # a series only for standbys
                    gauge.remove(region)
    return nodes


def log(text: str) -> None:
    print(f"{datetime.now(UTC):%H:%M:%S} {text}", flush=True)


def supervise(target: LocalTarget, place: Region, databases: dict[str, NodeStatus]) -> None:
    record = place.record
    if record is None:
        return
    DESIRED.labels(place.region, place.env).set(record.desired)
    seen = _observe(place, record, target.settings.health_timeout_seconds)
    if seen is None:
        return
    failed, missing = seen
    if not failed and not missing:
        return
    node = databases.get(place.region)
    if failed and node is not None and node.role not in ("primary", "standby"):
        return  # the replicas fail because their database does (see the module docstring)
    _repair(target, place)


def _observe(place: Region, record: RegionRecord, grace: float) -> tuple[list[Replica], bool] | None:
    """(replicas that failed, whether the load balancer lost some), publishing the in-service count; None
    while a deploy is removing containers (look again next round)."""
    try:
        failed = place.failed(record, grace) if place.balancer.running() else []
        healthy = place.healthy(record)
    except docker.errors.NotFound:
        return None
    # A replica found dead is out of service even before the load balancer's checks notice it, and stays
    # counted so while the (blocking) replacement runs: ReplicasBelowDesired sees it.
    dead = {replica.name for replica in failed}
    IN_SERVICE.labels(place.region, place.env).set(len([name for name in healthy if name not in dead]))
    missing = place.balancer.running() and len(healthy) < len(record.replicas) and not failed
    return failed, missing


def _repair(target: LocalTarget, place: Region) -> None:
    """Under the environment's lease: give the load balancer its replicas back, replace the failed ones."""
    try:
        holder = Holder.me(SUPERVISOR_RUN, f"repair {place.env} in {place.region}", repair=True)
        lease = target.leases().acquire(place.env, holder)
    except LeaseHeldError:
        return  # a deploy is at work: it leaves the region as it should be
    try:
        if lease.found.abandoned_by is not None or (lease.found.intent and lease.found.intent.open):
            return  # an interrupted deploy: `gantry recover` decides what the region serves
        record = place.record
        if record is None:
            return
        for change in place.reconcile_balancer():
            log(f"{place.region} {place.env}: {change}")
        dead = place.failed(record, target.settings.health_timeout_seconds)
        if dead:
            log(f"{place.region} {place.env}: replacing {', '.join(r.name for r in dead)}")
            started = time.monotonic()
            place.replace(record, dead, target.settings.health_timeout_seconds)
            REPLACED.labels(place.region, place.env).inc(len(dead))
            seconds = time.monotonic() - started
            log(f"{place.region} {place.env}: {len(dead)} replacement(s) in service after {seconds:.1f} s")
    finally:
        lease.release()


def main() -> None:
    parser = argparse.ArgumentParser(description="Keep every environment's desired count of healthy replicas.")
    parser.add_argument("--config", required=True)
    parser.add_argument("--metrics-port", type=int, required=True)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    target = LocalTarget(load_config(args.config))
    start_http_server(args.metrics_port, addr="127.0.0.1")
    places = [target.region(env, region) for env in target.cfg.environments for region in target.cfg.regions_of(env)]
    log(f"supervising {len(places)} environment region(s)")
    while True:
        try:
            databases = watch_databases(target)
        except Exception as exc:  # monitoring must not stop repairs; the log says what it was
            log(f"database status: unexpected {type(exc).__name__}: {exc}")
            databases = {}
        for place in places:
            try:
                supervise(target, place, databases)
            except GantryError as exc:
                FAILURES.labels(place.region, place.env).inc()
                log(f"{place.region} {place.env}: repair failed, retrying: {exc}")
            except Exception as exc:  # the loop must outlive any one failure; the log says what it was
                FAILURES.labels(place.region, place.env).inc()
                log(f"{place.region} {place.env}: unexpected {type(exc).__name__}: {exc}")
        time.sleep(args.interval)


if __name__ == "__main__":
    main()
