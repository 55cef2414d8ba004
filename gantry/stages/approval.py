"""Stage 6, approve: a named approver approves the exact digest that passed staging.

Records are create-only (gantry.records): an approval, once written, is never replaced or lost. Production
deploys check for an approval of the digest they ship, whichever command or Jenkins stage calls them.
The approval window opens when staging passes and closes after approvals.timeout_seconds.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from gantry.config import GantryConfig
from gantry.errors import ApprovalError
from gantry.records import RecordStore

APPROVALS = "approvals"
STAGING_PASSES = "staging-passes"


def key(digest: str) -> str:
    if not digest.startswith("sha256:") or len(digest) != 71:
        raise ApprovalError(f"'{digest}' is not an image digest: pass --digest sha256:<64 hex>")
    return f"{digest.replace(':', '-')}"


def record_staging_pass(records: RecordStore, digest: str, sha: str, run_id: str | None) -> dict[str, Any]:
    """The first staging pass of a digest opens its approval window (create-only, kept for audit)."""
    value = {
        "digest": digest,
        "sha": sha,
        "run_id": run_id,
        "passed_at": time.time(),
        "passed_at_iso": datetime.now(UTC).isoformat(),
    }
    records.create(STAGING_PASSES, key(digest), value)
    stored = records.get(STAGING_PASSES, key(digest))
    return stored or value


def approve(
    cfg: GantryConfig,
    records: RecordStore,
    *,
    approver: str,
    digest: str,
    build_url: str | None = None,
    run_id: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Record an approval; returns (record, created). An existing approval of the digest is kept as is."""
    if approver not in cfg.approvals.approvers:
        raise ApprovalError(
            f"'{approver}' is not an approver for {cfg.customer}: ask one of {', '.join(cfg.approvals.approvers)}"
        )
    existing = records.get(APPROVALS, key(digest))
    if existing:
        return existing, False
    passed = records.get(STAGING_PASSES, key(digest))
    if passed is None:
        raise ApprovalError(
            f"{digest[:19]} has not passed staging: run `gantry deploy --env staging` and "
            "`gantry smoke --env staging` first"
        )
    waited = time.time() - float(passed["passed_at"])
    if waited > cfg.approvals.timeout_seconds:
        raise ApprovalError(
            f"the approval window for {digest[:19]} closed {waited - cfg.approvals.timeout_seconds:.0f}"
            f" s ago (approvals.timeout_seconds={cfg.approvals.timeout_seconds:g}): ship a new "
            "commit through staging"
        )
    value = {
        "approver": approver,
        "digest": digest,
        "sha": passed["sha"],
        "build_url": build_url,
        "run_id": run_id,
        "approved_at": time.time(),
        "approved_at_iso": datetime.now(UTC).isoformat(),
    }
    created = records.create(APPROVALS, key(digest), value)
    return (value if created else records.get(APPROVALS, key(digest)) or value), created


def require(cfg: GantryConfig, records: RecordStore, digest: str) -> dict[str, Any]:
    """The approval production needs for `digest`; ApprovalError when missing, stale or not by an approver."""
    approval = records.get(APPROVALS, key(digest))
    if approval is None:
        raise ApprovalError(
            f"no approval on record for {digest[:19]}: an approver runs "
            f"`gantry approve --approver NAME --digest {digest}` after staging passed"
        )
    if approval.get("digest") != digest:
        raise ApprovalError(f"the approval record for {digest[:19]} names another digest: investigate the records")
    if approval["approver"] not in cfg.approvals.approvers:
        raise ApprovalError(
            f"approval by '{approval['approver']}' no longer counts (not in approvals.approvers): "
            "ask a current approver"
        )
    age_hours = (time.time() - float(approval["approved_at"])) / 3600
    if age_hours > cfg.approvals.max_age_hours:
        raise ApprovalError(
            f"the approval of {digest[:19]} is {age_hours:.1f} h old (max "
            f"{cfg.approvals.max_age_hours:g} h): ship it through staging again"
        )
    return approval


def wait(cfg: GantryConfig, records: RecordStore, digest: str, poll_seconds: float = 1.0) -> dict[str, Any]:
    """Block until an approval of `digest` is recorded (e.g. from another terminal), or the window closes."""
    deadline = time.monotonic() + cfg.approvals.timeout_seconds
    while time.monotonic() < deadline:
        if records.get(APPROVALS, key(digest)):
            return require(cfg, records, digest)
        time.sleep(poll_seconds)
    raise ApprovalError(
        f"no approval for {digest[:19]} within {cfg.approvals.timeout_seconds:g} s: run "
        f"`gantry approve --approver NAME --digest {digest}`, then `gantry deploy --env production`"
    )
