#!/usr/bin/env python3
"""Disaster-recovery benchmark (prints numbers; not a test) against a stack in `make demo`'s state, left so:

  drill        `gantry dr drill --mode both --allow-data-loss --report FILE`: per drill (planned switchover and
               unplanned region loss, each way) RTO, read RTO, RPO in writes and seconds, failed requests, and
               the standby's replication lag just before the fault (the evidence's replication_under_load)
  replication  a burst of writes through the global entry while Prometheus' gantry_database_replication_lag_*
               (what the alerts read) and the databases themselves (what the drill reads) are sampled
  rollout      `gantry deploy --env production --force` under reads and writes through every entry point
               (scripts/bench-rollout.py's load): failed requests and lost writes

Usage: .venv/bin/python scripts/bench-dr.py [--config FILE] [--burst-seconds 15] [--writers 8]
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
from typing import Any, cast

from benchlib import Report, Stack, add_phases, cell, log, machine, measured, parser, percentile, wait_until

from gantry import runrecord
from gantry.paths import run_dir
from gantry.stages.drill import Load
from gantry.targets.local import monitoring

DRILL_COLUMNS = ("drill", "RTO s", "read RTO s", "RPO writes", "RPO s", "failed / requests", "standby lag", "goals")
DRILL_FIELDS = (
    *("mode", "source", "destination", "rto_seconds", "read_rto_seconds", "rpo_writes", "rpo_seconds"),
    *("requests", "replication_under_load", "goals_met", "problems"),
)


def drill(stack: Stack, report: Report) -> None:
    path = run_dir() / "dr" / time.strftime("bench-dr-%Y%m%dT%H%M%SZ.json", time.gmtime())
    # The demo approver signs the drill (the example environment names it); a real one needs an approver's key.
    command = stack.gantry(
        "dr", "drill", "--mode", "both", "--allow-data-loss", "--report", str(path), "--approver", "demo@gantry.invalid"
    )
    evidence: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {"drills": []}
    table = report.table(f"gantry dr drill ({command.seconds:.0f} s; evidence {path})", *DRILL_COLUMNS)
    for item in evidence["drills"]:
        lag = item["replication_under_load"].get(item["destination"], {})
        table.add_row(
            f"{item['mode']} {item['source']} -> {item['destination']}",
            cell(item["rto_seconds"]),
            cell(item["read_rto_seconds"]),
            cell(item["rpo_writes"]),
            cell(item["rpo_seconds"]),
            f"{item['requests'].get('failed')} / {item['requests'].get('during_drill')}",
            f"{cell(lag.get('lag_bytes'))} B / {cell(lag.get('lag_seconds'))} s",
            "met" if item["goals_met"] else "; ".join(item["problems"]),
        )
    report.data["drill"] = {
        "ok": command.ok,
        "evidence": str(path),
        "goals": evidence.get("goals"),
        "drills": [{key: item[key] for key in DRILL_FIELDS} for item in evidence["drills"]],
    }


def lag_now(stack: Stack) -> dict[str, float | None]:
    """The standby's replay lag as Prometheus has it (what the alerts read) and as the writer reports it now."""
    prometheus = f"http://127.0.0.1:{stack.target.settings.prometheus_port}"
    found: dict[str, float | None] = {}
    for unit in ("bytes", "seconds"):
        values = monitoring.query(prometheus, f"max(gantry_database_replication_lag_{unit})")
        value = float(cast(list[str], values[0]["value"])[1]) if values else math.nan
        found[f"prometheus {unit}"] = None if math.isnan(value) else value
    standby = next((n for n in stack.target.databases.status() if n.role == "standby"), None)
    found["database bytes"] = None if standby is None or standby.lag_bytes is None else float(standby.lag_bytes)
    found["database seconds"] = None if standby is None else standby.lag_seconds
    return found


def replication(stack: Stack, report: Report, seconds: float, writers: int) -> None:
    """Write as fast as `writers` clients can through the global entry; sample the standby's lag meanwhile."""
    samples: list[dict[str, float | None]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            samples.append(lag_now(stack))

    load = Load(stack.global_url(), stack.traffic, writers=writers, readers=0, pause=0.0)
    sampler = threading.Thread(target=sample, daemon=True)
    log(f"{seconds:g} s of writes through the global entry ({writers} writers)")
    load.start()
    sampler.start()
    time.sleep(seconds)
    stop.set()
    load.stop()
    sampler.join()
    writes = [r for r in load.requests if r.kind == "write"]
    failed = sum(not r.ok for r in writes)
    table = report.table(
        f"standby lag, {seconds:g} s write burst: {len(writes) / seconds:.0f} writes/s, {failed} failed",
        "source",
        "samples",
        "p50",
        "max",
    )
    data: dict[str, Any] = {"writes": len(writes), "failed": failed, "seconds": seconds}
    for name in ("prometheus bytes", "prometheus seconds", "database bytes", "database seconds"):
        values = [v for s in samples if (v := s[name]) is not None]
        p50, top = percentile(values, 50), max(values, default=None)
        table.add_row(name, str(len(values)), cell(p50 and round(p50, 4)), cell(top and round(top, 4)))
        data[name.replace(" ", "_")] = {"samples": len(values), "p50": p50, "max": top}
    report.data["replication_burst"] = data


def serving_run(stack: Stack) -> str | None:
    """The latest run whose release production serves (what `gantry deploy --force` redeploys)."""
    serving = stack.releases("production")[stack.cfg.regions.primary]
    runs = [r for r in runrecord.all_records() if serving and r.digest == serving.digest]
    return max(runs, key=lambda r: r.started_at).run_id if runs else None


def main() -> int:
    arguments = parser(__doc__)
    arguments.add_argument("--burst-seconds", type=float, default=15.0, help="seconds of writes (default 15)")
    arguments.add_argument("--writers", type=int, default=8, help="writing clients in the burst (default 8)")
    args = arguments.parse_args()
    stack = Stack(args.config)
    run_id = serving_run(stack)
    if (problems := stack.problems()) or run_id is None:
        print("\n".join(problems or ["no run record of the release production serves"]), file=sys.stderr)
        return 1
    report = Report("disaster recovery (scripts/bench-dr.py)")
    report.data["machine"] = machine()
    drill(stack, report)
    if wait_until(lambda: not stack.problems(), 120, 1.0) is None:
        print("\n".join(stack.problems()), file=sys.stderr)
        return 1
    replication(stack, report, args.burst_seconds, args.writers)
    rollout = measured(stack, "rollout with writes", ("deploy", "--env", "production", "--force"), run_id=run_id)
    add_phases(report, [rollout])
    report.print()
    return 0 if report.data["drill"]["ok"] and rollout.ok else 1


if __name__ == "__main__":
    sys.exit(main())
