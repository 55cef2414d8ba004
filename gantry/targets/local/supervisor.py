"""The local stand-in for the ECS service scheduler: keeps each environment's desired count of healthy replicas
in each region, as recorded by the last deploy.

Every second it looks at each region: a load balancer that lost recorded replicas (restarted) gets them back;
a replica whose container exited or whose load balancer checks fail is replaced from the recorded task
definition, and the replacement is in service before the failed one is removed. It acts only while holding
the environment's deploy lease, so it never races a deploy, and never touches an environment whose deploy was
interrupted (that is `gantry recover`'s). Metrics for Prometheus: desired and in-service replicas per region
and environment, and replacements made (the alerts ReplicasBelowDesired and ReplicaReplaced read them).

Run by `gantry up` as `python -m gantry.targets.local.supervisor --config FILE --metrics-port PORT`.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from prometheus_client import Counter, Gauge, start_http_server

from gantry.config import load_config
from gantry.errors import GantryError
from gantry.leases import Holder, LeaseHeldError
from gantry.targets.local.rollout import Region
from gantry.targets.local.target import LocalTarget

SUPERVISOR_RUN = "supervisor"
DESIRED = Gauge("gantry_replicas_desired", "Replicas the last deploy asked for", ["region", "env"])
IN_SERVICE = Gauge("gantry_replicas_in_service", "Recorded replicas the load balancer has UP", ["region", "env"])
REPLACED = Counter(
    "gantry_replica_replacements", "Replicas replaced after they exited or failed checks", ["region", "env"]
)
FAILURES = Counter("gantry_supervisor_errors", "Repairs that failed (retried next round)", ["region", "env"])


def log(text: str) -> None:
    print(f"{datetime.now(UTC):%H:%M:%S} {text}", flush=True)


def supervise(target: LocalTarget, place: Region) -> None:
    record = place.record
    if record is None:
        return
    DESIRED.labels(place.region, place.env).set(record.desired)
    IN_SERVICE.labels(place.region, place.env).set(len(place.healthy(record)))
    grace = target.settings.health_timeout_seconds
    failed = place.failed(record, grace) if place.balancer.running() else []
    missing = place.balancer.running() and len(place.healthy(record)) < len(record.replicas) and not failed
    if not failed and not missing:
        return
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
        dead = place.failed(record, grace)
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
        for place in places:
            try:
                supervise(target, place)
            except GantryError as exc:
                FAILURES.labels(place.region, place.env).inc()
                log(f"{place.region} {place.env}: repair failed, retrying: {exc}")
            except Exception as exc:  # the loop must outlive any one failure; the log says what it was
                FAILURES.labels(place.region, place.env).inc()
                log(f"{place.region} {place.env}: unexpected {type(exc).__name__}: {exc}")
        time.sleep(args.interval)


if __name__ == "__main__":
    main()
