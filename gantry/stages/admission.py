"""What lets a deploy touch a protected target: a valid approval of its release now, or (a rollback) the
steady-state record of a release this target ran, under the approval it ran with; and, for a recovery, the
approval the deploy's intent names, verified again. Refused attempts are recorded for the audit trail, and the
releases that reached steady state on each target with the approval that let them in (what a rollback may
return to).
"""

from __future__ import annotations

import contextlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gantry.approvals import SignedApproval
from gantry.config import GantryConfig
from gantry.errors import ApprovalError, GantryError
from gantry.records import RELEASES, release_key
from gantry.stages.approval import ApprovalTarget, digest_key, protections, stored, verify_for_deploy
from gantry.targets.base import Records, Release

REFUSED = "refused-deploys"


@dataclass(frozen=True)
class Admission:
    """Why a deploy may touch a protected target: the approval it verified (its hash goes into the intent, so a
    recovery checks it again), or the steady-state record a rollback returns to."""

    approver: str
    expires_at: datetime
    approval: str  # SignedApproval.digest


def require(
    cfg: GantryConfig,
    target: ApprovalTarget,
    env: str,
    release: Release,
    regions: list[str],
    *,
    run_id: str,
    rollback: bool,
) -> Admission | None:
    """Before a deploy touches anything: None when no region of it is protected, else what admits it. A
    rollback goes only to a release this target ran within approvals.rollback_max_age_days, under the approval
    that let it in then; a forward deploy needs a valid approval now. A refusal is recorded before it is raised."""
    if not protections(cfg, target, env, regions):
        return None
    try:
        if rollback:
            return _rollback_admission(cfg, target, env, release, regions)
        statement, signed = verify_for_deploy(cfg, target, env, release.digest, regions)
        return Admission(statement.approver, statement.expires_at, signed.digest)
    except ApprovalError as exc:
        attempt = {
            "environment": env,
            "regions": regions,
            "digest": release.digest,
            "run_id": run_id,
            "rollback": rollback,
            "reason": str(exc),
            "at": datetime.now(UTC).isoformat(),
        }
        key = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
        with contextlib.suppress(GantryError):  # the refusal itself matters more than its record
            target.records(env).create(REFUSED, key, attempt)
        raise


def _rollback_admission(
    cfg: GantryConfig, target: ApprovalTarget, env: str, release: Release, regions: list[str]
) -> Admission:
    oldest = datetime.now(UTC) - timedelta(days=cfg.approvals.rollback_max_age_days)
    admitted: Admission | None = None
    for region in regions:
        identity = target.identity(env, region)
        ran = target.records(env).get(RELEASES, release_key(identity, release.digest))
        if ran is None or ran.get("sha") != release.sha:
            raise ApprovalError(
                f"{env} in {region} never ran {release.digest[:19]} to steady state: a protected target rolls back "
                "only to a release it ran (deploy a fixed release instead)"
            )
        steady = datetime.fromtimestamp(float(ran["steady_at"]), UTC)
        if steady < oldest:
            raise ApprovalError(
                f"{env} in {region} last ran {release.digest[:19]} on {steady:%Y-%m-%d}, more than "
                f"{cfg.approvals.rollback_max_age_days:g} days ago (approvals.rollback_max_age_days): deploy it anew"
            )
        approval = str(ran.get("approval") or "")
        signed = _on_record(target, env, release, approval)
        if signed is None:
            raise ApprovalError(f"the approval {release.digest[:19]} ran under in {region} is not on record")
        statement, _ = verify_for_deploy(
            cfg, target, env, release.digest, [region], candidates=[signed], enforce_expiry=False
        )
        admitted = Admission(statement.approver, statement.expires_at, signed.digest)
    assert admitted is not None  # noqa: S101 (regions is never empty: protections() found one)
    return admitted


def verify_approval(
    cfg: GantryConfig, target: ApprovalTarget, env: str, release: Release, regions: list[str], approval: str | None
) -> Admission:
    """The approval a deploy intent names (by hash), verified again now, expiry included: what a recovery must
    hold before it rolls a protected target forward."""
    signed = _on_record(target, env, release, approval)
    if signed is None:
        raise ApprovalError(f"the deploy of {release.digest[:19]} names no approval on record")
    statement, _ = verify_for_deploy(cfg, target, env, release.digest, regions, candidates=[signed])
    return Admission(statement.approver, statement.expires_at, signed.digest)


def _on_record(target: Records, env: str, release: Release, approval: str | None) -> SignedApproval | None:
    """The stored approval of `release` whose hash is `approval`, if any."""
    return next(
        (s for s in stored(target, env, digest_key(release.digest) + "--") if approval and s.digest == approval), None
    )


def record_release(
    target: Records, env: str, identity: str, release: Release, run_id: str, approval: str | None
) -> None:
    """A release that reached steady state on a target, and the approval it ran under: what a rollback may
    return to."""
    target.records(env).create(
        RELEASES,
        release_key(identity, release.digest),
        {
            "identity": identity,
            "sha": release.sha,
            "digest": release.digest,
            "run_id": run_id,
            "approval": approval,
            "steady_at": time.time(),
        },
    )
