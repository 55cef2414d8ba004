"""Prints one fresh-machine check as JSON: its steps (STEPS: name<TAB>seconds<TAB>result lines) and, for each
`make test` log in LOGS, the seconds per set-up and lint step, per suite, the slowest tests and the outcome counts.

    STEPS=... python3 scripts/lib/test-timings.py LOGS COMMIT > record.json

Standard library only: it runs with the system Python, before or without the project's virtualenv."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

SCRIPT_STEP = re.compile(r"^== (scripts/\S+): (\d+) s$")
SUITE = re.compile(r"^suite (\S+)\s+([\d.]+) s\s+(\d+) tests$")
SLOW = re.compile(r"^([\d.]+)s (setup|call|teardown)\s+(\S+)$")
OUTCOME = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|warnings?)")
FINAL = re.compile(r"^=+ (.*) in ([\d.]+)s")


def test_log(path: Path) -> dict[str, object]:
    scripts: dict[str, int] = {}
    suites: dict[str, dict[str, float]] = {}
    slowest: list[dict[str, object]] = []
    outcome: dict[str, object] = {}
    for line in path.read_text(errors="replace").splitlines():
        if found := SCRIPT_STEP.match(line):
            scripts[found[1]] = int(found[2])
        elif found := SUITE.match(line):
            suites[found[1]] = {"seconds": float(found[2]), "tests": int(found[3])}
        elif found := SLOW.match(line):
            slowest.append({"seconds": float(found[1]), "phase": found[2], "test": found[3]})
        elif found := FINAL.match(line):
            outcome = {kind: int(count) for count, kind in OUTCOME.findall(found[1])}
            outcome["pytest_seconds"] = float(found[2])
    return {"scripts": scripts, "suites": suites, "slowest": slowest[:10], "outcome": outcome}


def main() -> None:
    logs, commit = Path(sys.argv[1]), sys.argv[2]
    steps = [
        {"step": name, "seconds": int(seconds), "result": result}
        for name, seconds, result in (line.split("\t") for line in os.environ.get("STEPS", "").splitlines() if line)
    ]
    tests = {path.stem: test_log(path) for path in sorted(logs.glob("make-test*.log"))}
    json.dump({"commit": commit, "cores": os.cpu_count(), "steps": steps, "make_test": tests}, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
