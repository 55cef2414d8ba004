"""Deploy, rollback and recover: one environment, region by region, under the environment's lease.

Cross-region policy (docs/decisions.md): before any region is touched the deploy records its intent (the
release, and what each region served before) in the lease. If a region fails, or the command is interrupted,
that region restores itself (the target's contract) and every region this run already moved to the new
release (in this command or an earlier one of the same run, as Jenkins deploys one region per step) is
rolled back, so all regions end on one release. A region that had no previous release (first deploy) cannot
be rolled back; it keeps the new release and the error says so.

If the process dies without a chance to clean up (SIGKILL, a lost agent), the intent stays open: the next
deploy of that environment refuses to start, and `gantry recover` brings every region back to one release.

What runs is decided here, not by the target: each region's task definition is rendered from the release's own
commit and checked against the task-definition policy before anything moves, and that exact rendering is what
the target runs. On a protected target the intent names the approval that admitted the release, so a recovery
verifies it again before rolling forward, and rolls back only to a release the target ran.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from gantry import runrecord
from gantry.config import GantryConfig
from gantry.errors import ApprovalError, DeployError, GantryError
from gantry.leases import Holder, Intent, Lease, LeaseHeldError, RegionIntent, unfinished_error
from gantry.records import RELEASES, release_key
from gantry.runrecord import DeploymentState, ReleaseRef
from gantry.stages import admission, approval, change
from gantry.stages.approval import ApprovalTarget
from gantry.stages.interrupts import shielded
from gantry.stages.progress import Step
from gantry.targets.base import Deploying, Leasing, Release, Serving


class DeployTarget(ApprovalTarget, Leasing, Protocol):
    """What a deploy calls: the gate's reads, the lease, rendering and rolling out each region."""


@dataclass(frozen=True)
class RegionOutcome:
    region: str
    previous: Release | None
    changed: bool


def ref(release: Release | None) -> ReleaseRef | None:
    return ReleaseRef(sha=release.sha, digest=release.digest) if release else None


def release_of(value: ReleaseRef | None) -> Release | None:
    return Release(value.sha, value.digest) if value else None


REPAIR_WAIT_SECONDS = 60


@contextmanager
def leased(target: Leasing, env: str, run_id: str, command: str) -> Iterator[Lease]:
    """The environment's lease; a repair in progress is waited for, another deploy refuses at once."""
    store = target.leases()
    deadline = time.monotonic() + REPAIR_WAIT_SECONDS
    while True:
        try:
            lease = store.acquire(env, Holder.me(run_id, command))
            break
        except LeaseHeldError:
            holder = store.peek(env).holder
            if holder is None or not holder.repair or time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    try:
        yield lease
    finally:
        lease.release()


def task_definitions(
    target: Deploying, cfg: GantryConfig, env: str, release: Release, regions: list[str]
) -> dict[str, dict[str, Any]]:
    """Each region's task definition for `release`, rendered from its commit; DeployError (nothing changed)
    when the task-definition policy refuses it."""
    return change.checked_task_definitions(cfg, target, env, release, regions, refused=DeployError)


def _intent(
    target: Serving, cfg: GantryConfig, lease: Lease, run_id: str, env: str, release: Release, approval: str | None
) -> Intent:
    """This run's open intent for `env` (continued across Jenkins steps), or a new one; refuses while another
    run's intent is unfinished."""
    found = lease.found.intent
    if found is not None and found.open:
        if found.run_id != run_id or lease.found.abandoned_by is not None:
            # Another run's deploy, or this run's own one whose process died mid-way: recover it first.
            raise unfinished_error(env, found)
        if found.release.digest == release.digest and found.approval == approval:
            return found
        raise GantryError(
            f"run {run_id} is already deploying {found.release.digest[:19]} to {env}: finish it or "
            f"`gantry recover --env {env}` before deploying {release.digest[:19]}"
        )
    now = datetime.now(UTC)
    return Intent(
        run_id=run_id,
        env=env,
        release=ReleaseRef(sha=release.sha, digest=release.digest),
        regions=[
            RegionIntent(region=region, previous=ref(target.current_release(env, region)))
            for region in cfg.regions_of(env)
        ],
        started_at=now,
        updated_at=now,
        approval=approval,
    )


def _save(lease: Lease, intent: Intent, run_id: str) -> None:
    intent.updated_at = datetime.now(UTC)
    if all(r.state in ("done", "restored") for r in intent.regions) and intent.state == "open":
        intent.state = "finished"
    lease.save(intent)
    _mirror_to_run(run_id, intent)


def _mirror_to_run(run_id: str, intent: Intent) -> None:
    """The run record shows what its deploys did (`gantry run show`, `rollback --changed-by-run`)."""
    states: dict[str, DeploymentState] = {
        "pending": "intended",
        "rolling": "rolling",
        "done": "done",
        "failed": "failed",
        "restored": "rolled-back",
    }
    if not runrecord.exists(run_id):
        return
    with runrecord.update(run_id) as record:
        for region in intent.regions:
            if region.state == "pending" and record.deployment_key(intent.env, region.region) not in record.deployments:
                continue
            record.deployments[record.deployment_key(intent.env, region.region)] = runrecord.Deployment(
                env=intent.env,
                region=region.region,
                release=intent.release,
                previous=region.previous,
                state=states[region.state],
                changed=region.changed,
            )


def deploy_environment(
    target: DeployTarget,
    cfg: GantryConfig,
    env: str,
    release: Release,
    *,
    run_id: str,
    command: str,
    force: bool = False,
    regions: list[str] | None = None,
    step: Step | None = None,
    rollback: bool = False,
) -> list[RegionOutcome]:
    order = [cfg.check_region(env, region) for region in regions] if regions else cfg.regions_of(env)
    note = step.note if step else (lambda _text: None)
    # Before anything is touched: a protected target takes only an approved release (recorded if refused), and
    # every target only a task definition the policy allows.
    admitted = admission.require(cfg, target, env, release, order, run_id=run_id, rollback=rollback)
    if admitted is not None:
        note(f"approved by {admitted.approver} until {admitted.expires_at:%Y-%m-%d %H:%M} UTC")
    rendered = task_definitions(target, cfg, env, release, order)
    approval_hash = admitted.approval if admitted else None
    with leased(target, env, run_id, command) as lease:
        intent = _intent(target, cfg, lease, run_id, env, release, approval_hash)
        _save(lease, intent, run_id)  # the intent is on record before any region changes
        done: list[RegionOutcome] = []
        for region in order:
            item = intent.region(region)
            note(f"{region}: rolling out {release.short}")
            item.state = "rolling"
            _save(lease, intent, run_id)
            try:
                changed = target.deploy_region(env, region, release, rendered[region], force=force)
            except BaseException as exc:
                item.state = "restored"
                with shielded():
                    _save(lease, intent, run_id)
                    notes = _roll_back(target, env, intent, lease, run_id, note)
                if isinstance(exc, GantryError):
                    raise DeployError(f"{exc}{notes}") from None
                if isinstance(exc, Exception):  # a target's unforeseen error: one line, the traceback kept
                    raise DeployError(f"{env} in {region}: unexpected {type(exc).__name__}: {exc}{notes}") from exc
                raise
            item.state = "done"
            item.changed = item.changed or changed
            _save(lease, intent, run_id)
            admission.record_release(target, env, target.identity(env, region), release, run_id, approval_hash)
            done.append(RegionOutcome(region, release_of(item.previous), changed))
        return done


def _roll_back(target: Deploying, env: str, intent: Intent, lease: Lease, run_id: str, note: object) -> str:
    """Every region this intent moved goes back to what it served before; returns what happened."""
    say = note if callable(note) else (lambda _text: None)
    notes = []
    for item in reversed([r for r in intent.regions if r.state == "done" and r.changed]):
        previous = release_of(item.previous)
        if previous is None:
            notes.append(f"{item.region} keeps the new release (first deploy, nothing to roll back to)")
            continue
        say(f"{item.region}: rolling back to {previous.short}")
        try:
            task_definition = target.task_definition(env, item.region, previous)
            target.deploy_region(env, item.region, previous, task_definition, force=True)
        except Exception as exc:  # the rollback reports every region, whatever failed
            notes.append(f"{item.region} ROLLBACK FAILED ({exc}): run `gantry recover --env {env}`")
            continue
        item.state = "restored"
        _save(lease, intent, run_id)
        notes.append(f"{item.region} rolled back to {previous.digest[:19]}")
    if all(r.state in ("pending", "restored") or not r.changed for r in intent.regions):
        intent.state = "finished"
        _save(lease, intent, run_id)
    return f"; {'; '.join(notes)}" if notes else ""


def recover(target: DeployTarget, cfg: GantryConfig, env: str, *, run_id: str, step: Step | None = None) -> list[str]:
    """Close an unfinished deploy of `env`: every region it touched back to one release (the previous one,
    or the new one where a region had nothing before). Returns what was done.

    The intent is read from the lease, which the target's own identity writes (and, locally, anyone with the run
    directory): on a protected target nothing in it is trusted. Rolling forward needs the approval it names to
    verify now, expiry included; rolling back goes only to releases the target ran to steady state."""
    note = step.note if step else (lambda _text: None)
    with leased(target, env, run_id, f"recover {env}") as lease:
        intent = lease.found.intent
        if intent is None or not intent.open:
            return []
        touched = intent.touched()
        strangers = [item.region for item in touched if item.region not in cfg.regions_of(env)]
        if intent.env != env or strangers:
            raise GantryError(
                f"the {env} lease holds an intent for {intent.env} in {strangers or intent.env}, which gantry never "
                "writes there: nothing was done; inspect the lease, then remove it"
            )
        roll_back = all(item.previous is not None for item in touched)
        _check_recovery(target, cfg, env, intent, touched, roll_back)
        actions = []
        for item in touched:
            wanted = release_of(item.previous if roll_back else intent.release) or release_of(intent.release)
            if wanted is None:
                continue
            note(f"{item.region}: bringing back {wanted.short}")
            task_definition = task_definitions(target, cfg, env, wanted, [item.region])[item.region]
            target.deploy_region(env, item.region, wanted, task_definition, force=True)
            item.state = "restored" if roll_back else "done"
            actions.append(f"{item.region} -> {wanted.digest[:19]}")
        intent.state = "recovered"
        intent.updated_at = datetime.now(UTC)
        lease.save(intent)
        _mirror_to_run(intent.run_id, intent)
        return actions or [f"no region of {env} had changed"]


def _check_recovery(
    target: ApprovalTarget, cfg: GantryConfig, env: str, intent: Intent, touched: list[RegionIntent], roll_back: bool
) -> None:
    regions = [item.region for item in touched]
    if not regions or not approval.protections(cfg, target, env, regions):
        return
    if not roll_back:
        try:
            admission.verify_approval(cfg, target, env, release_of(intent.release), regions, intent.approval)  # type: ignore[arg-type]
        except ApprovalError as exc:
            raise ApprovalError(
                f"recover would roll {env} forward to {intent.release.digest[:19]}, but {exc}: nothing changed; "
                f"deploy an approved release with `gantry deploy --env {env}`"
            ) from None
        return
    for item in touched:
        previous = release_of(item.previous)
        assert previous is not None  # noqa: S101 (roll_back: every touched region had a previous release)
        key = release_key(target.identity(env, item.region), previous.digest)
        ran = target.records(env).get(RELEASES, key)
        if ran is None or ran.get("sha") != previous.sha:
            raise ApprovalError(
                f"recover would roll {env} in {item.region} back to {previous.digest[:19]}, which that target never "
                "ran to steady state: nothing changed; the intent in the lease is not one gantry wrote"
            )
