#!/usr/bin/env python3
"""Zero-downtime benchmark (prints numbers; not a test): load of three kinds through both regions' production load
balancers and the global entry (GETs over keep-alive, GETs on a new connection each, cart writes over keep-alive)
while production is rolled out to a new release in both regions, then while it is rolled back.

Runs against a stack in `make demo`'s state and leaves it so. The new release is a new commit on the serving
one (a comment added; new each run, as an approval must follow its staging pass within approvals.timeout_seconds),
shipped from a temporary clone through the same gantry stages as a pipeline run, up to the production approval
(signed by the demo signer). Then, under load:
  rollout   `gantry deploy --env production` (old -> new), repeated with --force until --min-requests
  rollback  `gantry rollback --env production` (new -> old), repeated in pairs until --min-requests
and staging goes back with `gantry rollback --env staging`. Every acknowledged write is read back afterwards.
Writes go through the database writer's region and the global entry only: the standby region refuses them (503).

Usage: make bench, or .venv/bin/python scripts/bench-rollout.py [--config FILE] [--min-requests N] [--clients N]
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from benchlib import ROOT, Phase, Report, Stack, add_phases, log, machine, measured, parser

from gantry import jsonfile, runrecord
from gantry.targets.base import Release

# The bench release's commit author (not the demo approver: approvals keep separation of duties).
AUTHOR = {"GIT_AUTHOR_NAME": "gantry bench", "GIT_AUTHOR_EMAIL": "bench@gantry.invalid"}
COMMITTER = {"GIT_COMMITTER_NAME": "gantry bench", "GIT_COMMITTER_EMAIL": "bench@gantry.invalid"}


@contextlib.contextmanager
def bench_run() -> Iterator[str]:
    """A run id for the bench's own release; afterwards the run is finished and the checkout's latest run is
    the one before, so a later `gantry deploy` ships what it would have shipped without the bench."""
    latest = runrecord.runs_dir() / "LATEST"
    before = latest.read_text() if latest.is_file() else None
    run_id = time.strftime("bench-%Y%m%dT%H%M%SZ", time.gmtime())
    finished = False
    try:
        yield run_id
        finished = True
    finally:
        if runrecord.exists(run_id):
            runrecord.finish(run_id, "success" if finished else "failed", None if finished else "bench stopped")
        if before is not None:
            jsonfile.write_atomic_text(latest, before)


def new_release(stack: Stack, serving: Release, run_id: str) -> None:
    """Build, push, stage and approve the serving commit plus one comment, from a temporary clone."""
    staging = stack.cfg.approvals.staging_environment
    signer, key = stack.cfg.approvals.demo_signer, stack.target.demo_key()
    if signer is None or key is None:
        raise SystemExit("the bench signs its release's approval as approvals.demo_signer: set it (example env)")
    with tempfile.TemporaryDirectory(prefix="gantry-bench-") as tmp:
        clone = Path(tmp) / "repo"
        git = ["git", "-C", str(clone)]
        subprocess.run(["git", "clone", "-q", "--shared", str(ROOT), str(clone)], check=True)
        subprocess.run([*git, "checkout", "-q", "--detach", serving.sha], check=True)
        package = clone / "services" / "cart" / "cart" / "__init__.py"
        package.write_text(package.read_text() + f"# {run_id}: a release made by scripts/bench-rollout.py\n")
        env = {**os.environ, **AUTHOR, **COMMITTER}
        subprocess.run([*git, "commit", "-q", "-am", f"{run_id}: a release to roll out"], check=True, env=env)
        stages = [
            ("source",),
            ("mirror",),
            ("build", "--skip-tests"),
            ("push",),
            ("migrate", "--env", staging),
            ("deploy", "--env", staging),
            ("smoke", "--env", staging),
            ("approve", "--env", "production", "--approver", signer, "--key", str(key)),
            ("migrate", "--env", "production"),
        ]
        for stage in stages:
            if not stack.gantry(*stage, run_id=run_id, root=clone).ok:
                raise SystemExit(f"could not make the release to roll out: `gantry {' '.join(stage)}` failed")


def restore(stack: Stack, before: dict[str, dict[str, Release | None]], run_id: str) -> list[str]:
    """Every environment back on the release it served before the bench (one rollback each, as the new
    release's previous one is the old release); the environments that are not."""
    for env, releases in before.items():
        if stack.releases(env) != releases:
            stack.gantry("rollback", "--env", env, run_id=run_id)
    return [env for env, releases in before.items() if stack.releases(env) != releases]


def main() -> int:
    arguments = parser(__doc__)
    arguments.add_argument("--min-requests", type=int, default=20_000, help="requests per phase (default 20000)")
    arguments.add_argument("--clients", type=int, default=1, help="threads per kind and entry point (default 1)")
    args = arguments.parse_args()
    stack = Stack(args.config)
    serving = stack.releases("production")[stack.cfg.regions.primary]
    if (problems := stack.problems()) or serving is None:
        print("\n".join(problems), file=sys.stderr)
        return 1
    report = Report("zero-downtime rollout and rollback under load (scripts/bench-rollout.py)")
    report.data.update(machine=machine(), urls=stack.urls(), writer=stack.writer(), min_requests=args.min_requests)
    before = {env: stack.releases(env) for env in stack.cfg.environments}
    phases: list[Phase] = []
    load = {"min_requests": args.min_requests, "clients": args.clients}
    with bench_run() as run_id:
        try:
            log(f"making a release to roll out from {serving.sha[:12]} (run {run_id})")
            new_release(stack, serving, run_id)
            report.data["releases"] = {"serving": serving.digest, "rolled_out": runrecord.load(run_id).digest}
            deploy = ("deploy", "--env", "production")
            phases.append(measured(stack, "rollout", deploy, [(*deploy, "--force")], run_id=run_id, **load))
            if phases[-1].ok:
                back = ("rollback", "--env", "production")
                phases.append(measured(stack, "rollback", back, [back, back], run_id=run_id, **load))
        finally:
            left = restore(stack, before, run_id)
    add_phases(report, phases)
    report.data["restored"] = not left
    report.print()
    if left:
        print(f"not back on their release: {', '.join(left)}: see `gantry status`", file=sys.stderr)
    return 0 if phases and all(p.ok for p in phases) and not left else 1


if __name__ == "__main__":
    sys.exit(main())
