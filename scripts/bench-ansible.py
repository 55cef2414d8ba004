#!/usr/bin/env python3
"""Ansible benchmark: prints numbers, asserts nothing.

1. Wall time of a full converge of playbooks/monitoring.yml on the three local-target hosts (molecule scenario
   `monitoring`, fresh containers) and of the idempotent re-run.
2. Seconds from stopping a node_exporter to the TargetDown notification arriving at the webhook receiver, with
   the shipped role defaults and with playbooks/vars/alert-timings-fast.yml.

Uses 127.0.0.1:21090/21093/21095/21100-21102; do not run it while the monitoring scenario's test runs.
Usage: .venv/bin/python scripts/bench-ansible.py [--fast-runs N] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from gantry.host import podman

ROOT = Path(__file__).resolve().parent.parent
MOLECULE = ROOT / "ansible" / "molecule" / "molecule.sh"
RECEIVER = "http://127.0.0.1:21095/alertmanager"
SCENARIO = "monitoring"


def molecule(action: str, timings: str) -> float:
    """Run one molecule action on the monitoring scenario; return its wall time in seconds."""
    env = {**os.environ, "GANTRY_ALERT_TIMINGS": timings}
    start = time.monotonic()
    result = subprocess.run([str(MOLECULE), action, "-s", SCENARIO], env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-2000:])
        raise SystemExit(f"bench-ansible: molecule {action} failed (rc {result.returncode})")
    return elapsed


def podman_exec(container: str, *command: str) -> None:
    env = podman.cli_environment()
    subprocess.run(["podman", "exec", container, *command], env=env, check=True, capture_output=True)


def notifications() -> list[dict[str, object]]:
    with urllib.request.urlopen(RECEIVER, timeout=5) as response:
        data: list[dict[str, object]] = json.load(response)
    return data


def wait_for(host: str, status: str, since: float, timeout: float) -> float:
    """Return the arrival time of the first TargetDown notification for host with status after since."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for item in notifications():
            received = float(str(item["received_at"]))
            if (item["alertname"], item["instance"], item["status"]) == (
                "TargetDown",
                host,
                status,
            ) and received >= since:
                return received
        time.sleep(0.25)
    raise SystemExit(f"bench-ansible: no {status} TargetDown for {host} within {timeout:.0f}s")


def alert_latency(host: str, timeout: float, wait_resolved: bool) -> float:
    """Stop host's node_exporter and time the firing notification, then start the exporter again.

    With wait_resolved the alert group is closed before returning, so the next measurement on the same host
    waits for group_wait, not group_interval (with the shipped 5m group_interval that wait is skipped: the
    following measurements use other hosts or a reloaded Alertmanager).
    """
    stopped_at = time.time()
    podman_exec(host, "systemctl", "stop", "prometheus-node-exporter")
    fired_at = wait_for(host, "firing", stopped_at, timeout)
    started_at = time.time()
    podman_exec(host, "systemctl", "start", "prometheus-node-exporter")
    if wait_resolved:
        wait_for(host, "resolved", started_at, timeout)
    return fired_at - stopped_at


def default_timings(create: float) -> None:
    """Converge with the shipped defaults, time it and the re-run, measure one alert, then switch to fast."""
    converge = molecule("converge", "default")
    idempotence = molecule("idempotence", "default")
    print(
        f"three hosts: create+prepare {create:.1f}s, full converge {converge:.1f}s, "
        f"idempotent re-run {idempotence:.1f}s (includes molecule's change check)"
    )
    default = alert_latency("gantry-local-node2", timeout=300, wait_resolved=False)
    print(f"stop node_exporter -> webhook, shipped defaults (scrape/eval 15s, for 1m, group_wait 30s): {default:.1f}s")
    molecule("converge", "fast")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast-runs", type=int, default=3, help="measurements with the fast timings")
    parser.add_argument("--keep", action="store_true", help="leave the containers running afterwards")
    parser.add_argument("--fast-only", action="store_true", help="skip the converge timings and the default run")
    args = parser.parse_args()

    molecule("destroy", "default")
    try:
        create = molecule("create", "default") + molecule("prepare", "default")
        if args.fast_only:
            molecule("converge", "fast")
        else:
            default_timings(create)
        hosts = ["gantry-local-node1", "gantry-local-mon", "gantry-local-node2"]
        fast = [alert_latency(hosts[i % len(hosts)], 120, wait_resolved=True) for i in range(args.fast_runs)]
        print(
            f"stop node_exporter -> webhook, fast (scrape/eval 5s, for 10s, group_wait 2s): "
            f"{', '.join(f'{v:.1f}s' for v in fast)} (mean {sum(fast) / len(fast):.1f}s)"
        )
    finally:
        if not args.keep:
            molecule("destroy", "default")


if __name__ == "__main__":
    main()
