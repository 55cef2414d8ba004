#!/usr/bin/env python3
"""Run the integration tests several times in a row on this machine and report every test that failed at least
once (issue: flakiness measured, not guessed).

    .venv/bin/python scripts/flaky-runs.py [--runs 5] [--workers 3] [pytest selection ...]

Each run is `make test`'s own pytest command (the same workers and groups) limited to `-m integration` unless a
selection is given, with a JUnit XML report per run. The summary is a table of the tests that failed or erred in
any run (with the run numbers and the first line of each failure), then one JSON line; the whole record goes to
.cache/flakiness/<UTC time>-<commit>.json. Exit status 1 when any test failed in any run. Run it with the local
target down (`make down`): the tests start their own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class History:
    """One test across the runs: the runs it took part in, and those in which it failed (with the first line)."""

    runs: list[int] = field(default_factory=list)
    failures: dict[int, str] = field(default_factory=dict)


def report_cases(report: Path) -> Iterable[tuple[str, str | None]]:
    """(test id, first line of its failure or error, or None) for each test case of one JUnit XML report."""
    # The reports are the ones this script's own pytest runs just wrote into this checkout's .cache.
    for case in ElementTree.parse(report).getroot().iter("testcase"):  # noqa: S314
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        problem = next((child for child in case if child.tag in {"failure", "error"}), None)
        if case.find("skipped") is not None and problem is None:
            continue
        message = None if problem is None else (problem.get("message") or problem.tag).splitlines()[0][:160]
        yield name, message


def histories(reports: list[Path]) -> dict[str, History]:
    found: dict[str, History] = {}
    for number, report in enumerate(reports, start=1):
        for name, message in report_cases(report):
            history = found.setdefault(name, History())
            history.runs.append(number)
            if message is not None:
                history.failures[number] = message
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("selection", nargs="*", help="pytest arguments instead of `-m integration`")
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = ROOT / ".cache" / "flakiness" / f"{stamp}-{commit}"
    out.mkdir(parents=True, exist_ok=True)
    console = Console(soft_wrap=True)
    selection = args.selection or ["-m", "integration"]
    reports, seconds = [], []
    for number in range(1, args.runs + 1):
        report = out / f"run-{number}.xml"
        command = [sys.executable, "-m", "pytest", "-n", str(args.workers), "--dist", "loadscope"]
        command += ["--no-loadscope-reorder", "-p", "no:cacheprovider", "-q", f"--junitxml={report}", *selection]
        console.print(f"run {number}/{args.runs}: {' '.join(command[2:])}")
        started = time.monotonic()
        with (out / f"run-{number}.log").open("w") as log:
            subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, check=False)
        seconds.append(round(time.monotonic() - started))
        if report.exists():
            reports.append(report)
        else:
            console.print(f"run {number} wrote no report: see {out / f'run-{number}.log'}")
    found = histories(reports)
    flaky = {name: history for name, history in sorted(found.items()) if history.failures}
    table = Table(title=f"tests that failed in any of {len(reports)} runs ({commit})")
    for column in ("test", "failed in runs", "first failure"):
        table.add_column(column)
    for name, history in flaky.items():
        first = history.failures[min(history.failures)]
        table.add_row(name, f"{sorted(history.failures)} of {len(history.runs)}", first)
    console.print(table if flaky else f"no test failed in any of {len(reports)} runs")
    record = {
        "commit": commit,
        "runs": len(reports),
        "seconds_per_run": seconds,
        "tests": len(found),
        "failed_once_or_more": {
            name: {"runs": history.runs, "failures": history.failures} for name, history in flaky.items()
        },
    }
    (out.parent / f"{out.name}.json").write_text(json.dumps(record, indent=1) + "\n")
    print(
        json.dumps(
            {key: value for key, value in record.items() if key != "failed_once_or_more"} | {"flaky": list(flaky)}
        )
    )
    return 1 if flaky or len(reports) < args.runs else 0


if __name__ == "__main__":
    sys.exit(main())
