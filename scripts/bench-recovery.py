#!/usr/bin/env python3
"""Recovery benchmark (prints numbers; not a test) against a stack in `make demo`'s state, which it leaves so:

  replica     one production replica of the primary region killed (SIGKILL through the container engine), under
              load: seconds until its load balancer marks it down, and until a replacement is in service (the
              load balancer has the desired count UP again, the killed replica no longer recorded)
  failover    the primary region's production HAProxy killed (SIGKILL, as `gantry dr drill` does): seconds to the
              first successful answer through the global entry; then `gantry up` and seconds until the global
              entry answers from the primary region again (/version names the region)
  alerts      seconds from a fault to its alert in the webhook inbox ($GANTRY_HOME/monitoring/inbox):
                LoadBalancer5xx       the staging load balancer's replicas put in maintenance (HAProxy answers 503)
                RegistryDown          the secondary region's registry killed (`gantry up` restarts it)
                ReplicasBelowDesired  the replica kill above (and ReplicaDown), then the HAProxy kill
                GlobalEntryFailedOver the HAProxy kill above (and LoadBalancerDown)
A process kill is timed from its return (the process is gone), the container kill from the call.

Usage: .venv/bin/python scripts/bench-recovery.py [--config FILE]
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from benchlib import Report, Stack, Traffic, by_kind, cell, log, machine, parser, wait_until

from gantry.host import processes
from gantry.targets.local import balancers

ALERT_TIMEOUT = 60.0
REPLICA_ALERTS = ("ReplicasBelowDesired", "ReplicaDown")
FAILOVER_ALERTS = ("GlobalEntryFailedOver", "LoadBalancerDown", "ReplicasBelowDesired")


def alert_latency(
    stack: Stack, name: str, fault_at: float, labels: dict[str, str], timeout: float = ALERT_TIMEOUT
) -> float | None:
    """Seconds from `fault_at` (wall clock) to the first firing `name` with `labels` in the webhook inbox."""

    def arrived() -> dict[str, Any] | None:
        alerts = stack.alerts(fault_at)
        return next((a for a in alerts if a["alertname"] == name and labels.items() <= a["labels"].items()), None)

    if wait_until(arrived, timeout, 0.1) is None:
        return None
    alert = arrived()
    return None if alert is None else round(alert["received_at"] - fault_at, 2)


def firing(stack: Stack) -> set[str]:
    prometheus = f"http://127.0.0.1:{stack.target.settings.prometheus_port}"
    alerts = requests.get(f"{prometheus}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    return {a["labels"]["alertname"] for a in alerts if a["state"] in ("firing", "pending")}


def quiet(stack: Stack, *names: str) -> None:
    """Wait until none of `names` fires (or is pending), so the next fault raises a fresh notification."""
    if wait_until(lambda: not firing(stack) & set(names), 120, interval=0.5) is None:
        log(f"still firing after 120 s: {', '.join(sorted(firing(stack) & set(names)))}")


@dataclass(frozen=True)
class Answer:
    started: float
    ended: float
    region: str | None  # None: no 2xx answer


class Watch:
    """GET /version through one URL every 20 ms, each answer's region kept."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        with requests.Session() as session:
            while not self._stop.is_set():
                started = time.monotonic()
                region = None
                try:
                    response = session.get(f"{self.url}/version", timeout=2)
                    if response.ok:
                        region = response.json().get("region")
                except (requests.RequestException, ValueError):
                    pass
                self.answers.append(Answer(started, time.monotonic(), region))
                time.sleep(0.02)

    def first(self, after: float, region: str | None = None) -> Answer | None:
        """The first 2xx answer to a request sent after `after` (from `region`, when given)."""
        return next(
            (a for a in list(self.answers) if a.started >= after and a.region and region in (None, a.region)), None
        )

    def failed(self, start: float, end: float) -> int:
        return sum(1 for a in list(self.answers) if start <= a.started <= end and a.region is None)


def since(moment: float | None, start: float) -> float | None:
    return None if moment is None else round(moment - start, 2)


def replica(stack: Stack) -> dict[str, Any]:
    """Kill one production replica of the primary region under load; time its replacement and the alerts."""
    region, env = stack.cfg.regions.primary, "production"
    place = stack.target.region(env, region)
    record = place.record
    if record is None:
        raise SystemExit(f"nothing deployed to {env} in {region}: run `make demo` first")
    victim = record.replicas[0]

    def replaced() -> bool:
        now = place.record
        return (
            now is not None
            and victim.name not in {r.name for r in now.replicas}
            and len(place.healthy(now)) == now.desired
        )

    quiet(stack, "ReplicasBelowDesired", "ReplicaDown")
    with Traffic(stack.urls(), {stack.writer(), "global"}, stack.traffic) as traffic:
        time.sleep(1.0)
        container = stack.target.client.containers.get(victim.id)
        log(f"killing replica {victim.name} ({env} in {region})")
        wall, killed = time.time(), time.monotonic()
        container.kill()  # the engine's answer may come after the load balancer noticed: time from the call
        kill_call = time.monotonic() - killed
        down = wait_until(lambda: victim.name not in place.healthy(), 60)
        back = wait_until(replaced, 180)
        end = time.monotonic()
        time.sleep(1.0)
    rows = by_kind(traffic.between(killed, end))
    where = {"region": region, "env": env}
    return {
        "replica": victim.name,
        "kill_call_s": round(kill_call, 2),
        "marked_down_s": since(down, killed),
        "replacement_in_service_s": since(back, killed),
        "alerts_s": {name: alert_latency(stack, name, wall, where, 20) for name in REPLICA_ALERTS},
        "requests": sum(r["requests"] for r in rows.values()),
        "failed": sum(r["failed"] for r in rows.values()),
        "errors": {kind: row["errors"] for kind, row in rows.items() if row["errors"]},
    }


def failover(stack: Stack) -> dict[str, Any]:
    """Kill the primary region's production HAProxy; time the global entry's failover, the alerts, and the
    failback once `gantry up` has started it again."""
    primary, env = stack.cfg.regions.primary, "production"
    balancer = balancers.regional(stack.target.layout, primary, env)
    quiet(stack, *FAILOVER_ALERTS)
    with Watch(stack.global_url(env)) as watch, Watch(stack.target.endpoint(env, primary)) as direct:
        time.sleep(1.0)
        log(f"killing {balancer.name}")
        processes.kill(balancer.name)  # returns once every HAProxy process is gone
        wall, killed = time.time(), time.monotonic()
        wait_until(lambda: watch.first(killed), 60)
        first = watch.first(killed)
        where = {"env": env, "region": primary}
        alerts = {  # the global entry's series name the environment only
            name: alert_latency(stack, name, wall, {"env": env} if name == "GlobalEntryFailedOver" else where)
            for name in FAILOVER_ALERTS
        }
        up_at = time.monotonic()
        up = stack.gantry("up")
        wait_until(lambda: watch.first(up_at, primary), 120)
        home, restarted = watch.first(up_at, primary), direct.first(up_at)
        time.sleep(1.0)
    return {
        "killed": balancer.name,
        "failover_s": since(first.ended if first else None, killed),
        "failover_region": first.region if first else None,
        "failed_during_failover": watch.failed(killed, first.started if first else time.monotonic()),
        "alerts_s": alerts,
        "gantry_up_s": round(up.seconds, 2),
        "region_answers_s": since(restarted.ended if restarted else None, up_at),
        "failback_s": since(home.ended if home else None, up_at),
        "failed_during_failback": watch.failed(up_at, time.monotonic()),
    }


def lb_5xx(stack: Stack) -> dict[str, Any]:
    """Every replica of the staging load balancer in maintenance, under a little load: HAProxy answers 503."""
    env, region = stack.cfg.approvals.staging_environment, stack.cfg.regions.primary
    place = stack.target.region(env, region)
    record = place.record
    if record is None:
        return {"fault": f"nothing deployed to {env} in {region}: skipped", "alert_s": None}
    names = [r.name for r in record.replicas]
    quiet(stack, "LoadBalancer5xx")
    with Traffic({region: stack.target.endpoint(env, region)}, (), stack.traffic):
        time.sleep(3.0)  # a request rate before the fault
        log(f"{env} load balancer of {region}: every replica in maintenance")
        for name in names:
            place.balancer.api(f"set server {place.balancer.backend}/{name} state maint")
        wall = time.time()
        try:
            alert = alert_latency(stack, "LoadBalancer5xx", wall, {"env": env, "region": region})
        finally:
            for name in names:
                place.balancer.api(f"set server {place.balancer.backend}/{name} state ready")
    place.balancer.wait_up(names, 60)
    return {"fault": f"{env} replicas of {region} in maintenance (503)", "alert_s": alert}


def registry_down(stack: Stack) -> dict[str, Any]:
    region = stack.cfg.regions.secondary
    quiet(stack, "RegistryDown")
    log(f"killing registry-{region}")
    processes.kill(f"registry-{region}")
    wall = time.time()
    try:
        alert = alert_latency(stack, "RegistryDown", wall, {"region": region})
    finally:
        stack.gantry("up")
    return {"fault": f"registry of {region} killed", "alert_s": alert}


def main() -> int:
    args = parser(__doc__).parse_args()
    stack = Stack(args.config)
    if problems := stack.problems():
        print("\n".join(problems), file=sys.stderr)
        return 1
    report = Report("recovery and alert latency (scripts/bench-recovery.py)")
    report.data["machine"] = machine()
    results = {
        "lb_5xx": lb_5xx(stack),
        "registry_down": registry_down(stack),
        "replica": replica(stack),
        "failover": failover(stack),
    }
    stack.wait_healthy()
    quiet(stack, *REPLICA_ALERTS, *FAILOVER_ALERTS, "RegistryDown", "LoadBalancer5xx")
    report.data.update(results)
    rep, fail = results["replica"], results["failover"]
    recovery = report.table("recovery", "measurement", "seconds", "detail")
    recovery.add_row(
        "replica killed -> marked down", cell(rep["marked_down_s"]), f"the engine's kill took {rep['kill_call_s']} s"
    )
    recovery.add_row(
        "replica killed -> replacement in service",
        cell(rep["replacement_in_service_s"]),
        f"{rep['failed']} of {rep['requests']} requests failed meanwhile {rep['errors'] or ''}",
    )
    recovery.add_row(
        "region 1 HAProxy killed -> global entry answers",
        cell(fail["failover_s"]),
        f"from {fail['failover_region']}; {fail['failed_during_failover']} probes failed before",
    )
    recovery.add_row(
        "`gantry up` -> global entry answers from region 1",
        cell(fail["failback_s"]),
        f"gantry up took {fail['gantry_up_s']} s, region 1's load balancer answered after "
        f"{fail['region_answers_s']} s; {fail['failed_during_failback']} probes failed",
    )
    alerts = report.table("fault -> alert in the webhook inbox (- : none within the wait)", "alert", "fault", "seconds")
    alerts.add_row("LoadBalancer5xx", results["lb_5xx"]["fault"], cell(results["lb_5xx"]["alert_s"]))
    alerts.add_row("RegistryDown", results["registry_down"]["fault"], cell(results["registry_down"]["alert_s"]))
    for name, seconds in rep["alerts_s"].items():
        alerts.add_row(name, "a production replica killed", cell(seconds))
    for name, seconds in fail["alerts_s"].items():
        alerts.add_row(name, "region 1 production HAProxy killed", cell(seconds))
    report.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
