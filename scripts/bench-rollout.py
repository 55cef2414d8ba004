#!/usr/bin/env python3
"""Zero-downtime benchmark (prints numbers; not a test): steady HTTP load on a production load balancer of
the local target while production is rolled out again in both regions (`gantry deploy --force`).

Usage: make bench  (or .venv/bin/python scripts/bench-rollout.py [--workers 4] [--region us-east-1])
Prints requests sent, non-2xx responses, connection errors, p50/p99 latency, rollout seconds and the stage
timings of the latest pipeline run, then the same as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from gantry.config import load_config

ROOT = Path(__file__).resolve().parents[1]
GANTRY = str(ROOT / ".venv" / "bin" / "gantry")


def load(url: str, stop: threading.Event, latencies: list[float], failures: list[str]) -> None:
    session = requests.Session()
    while not stop.is_set():
        started = time.perf_counter()
        try:
            response = session.get(url, timeout=5)
            if not 200 <= response.status_code < 300:
                failures.append(f"HTTP {response.status_code}")
        except requests.RequestException as exc:
            failures.append(exc.__class__.__name__)
        latencies.append(time.perf_counter() - started)


def gantry(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GANTRY, *args], cwd=ROOT, capture_output=True, text=True, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--region", default=None, help="production region to load (default: primary)")
    args = parser.parse_args()

    status = gantry("run", "show")
    if status.returncode != 0 or json.loads(status.stdout).get("result") != "success":
        print("no successful pipeline run yet: running it first (make demo)", file=sys.stderr)
        run = gantry("pipeline", "run", "--approver", "demo-approver", "--allow-dirty")
        if run.returncode != 0:
            print(run.stderr, file=sys.stderr)
            return 1
    record = json.loads(gantry("run", "show").stdout)
    config = load_config()
    region = args.region or config.regions.primary
    port = config.local_settings.regions[region].lb_ports["production"]
    url = f"http://127.0.0.1:{port}/carts/bench"

    latencies: list[float] = []
    failures: list[str] = []
    stop = threading.Event()
    workers = [threading.Thread(target=load, args=(url, stop, latencies, failures)) for _ in range(args.workers)]
    for worker in workers:
        worker.start()
    time.sleep(2)
    started = time.monotonic()
    rollout = gantry("deploy", "--env", "production", "--force")
    rollout_seconds = time.monotonic() - started
    time.sleep(2)
    stop.set()
    for worker in workers:
        worker.join()
    if rollout.returncode != 0:
        print(rollout.stderr, file=sys.stderr)
        return 1

    ordered = sorted(latencies)
    result = {
        "url": url,
        "workers": args.workers,
        "requests": len(latencies),
        "non_2xx_or_errors": len(failures),
        "failure_kinds": sorted(set(failures)),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2),
        "rollout_seconds": round(rollout_seconds, 2),
        "pipeline_stage_seconds": {s["name"]: s["seconds"] for s in record["stages"]},
        "pipeline_run": record["run_id"],
    }
    print(f"load balancer          {url} ({args.workers} workers)")
    print(f"requests sent          {result['requests']}")
    print(f"non-2xx or errors      {result['non_2xx_or_errors']} {result['failure_kinds'] or ''}")
    print(f"latency p50 / p99      {result['p50_ms']} ms / {result['p99_ms']} ms")
    print(f"rollout (both regions) {result['rollout_seconds']} s")
    print(f"pipeline stages ({record['run_id']}):")
    for name, seconds in result["pipeline_stage_seconds"].items():
        print(f"  {name:<22} {seconds:>7.1f} s")
    print(json.dumps(result, sort_keys=True))
    return 0 if not failures else 2


if __name__ == "__main__":
    sys.exit(main())
