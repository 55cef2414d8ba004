"""Stage 6, approve: an approver signs a statement binding the digest that passed staging to the production
targets; every deploy to a protected target verifies it first (gantry.approvals holds the rules).

Records are create-only (gantry.records): a staging pass per digest, approvals keyed by digest and statement
hash (so nobody can block a real approval by writing a bogus one first), refused deploys for the audit trail,
and the releases that reached steady state on each target (what a rollback may return to).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gantry import approvals
from gantry.approvals import DeploySubject, MaintenanceSubject, Protection, SignedApproval, StagingPassRef, Statement
from gantry.config import GantryConfig
from gantry.errors import ApprovalError, GantryError
from gantry.host import sshsig
from gantry.records import RELEASES, RecordStore, release_key
from gantry.targets.base import Release, Target

APPROVALS = "approvals"
STAGING_PASSES = "staging-passes"
REFUSED = "refused-deploys"


def digest_key(digest: str) -> str:
    try:
        return approvals.check_digest(digest).replace(":", "-")
    except ValueError as exc:
        raise ApprovalError(f"{exc}: pass --digest sha256:<64 hex>") from None


def record_staging_pass(records: RecordStore, digest: str, sha: str, run_id: str | None, env: str) -> dict[str, Any]:
    """The first staging pass of a digest opens its approval window (create-only, kept for audit)."""
    value = {"digest": digest, "sha": sha, "run_id": run_id, "environment": env, "passed_at": round(time.time(), 3)}
    records.create(STAGING_PASSES, digest_key(digest), value)
    return records.get(STAGING_PASSES, digest_key(digest)) or value


def protections(target: Target, env: str, regions: list[str]) -> dict[str, Protection]:
    """region -> protection, for the regions of `env` whose target is protected."""
    found = {region: target.protection(env, region) for region in regions}
    return {region: p for region, p in found.items() if p is not None}


def one_policy(found: dict[str, Protection]) -> approvals.ApprovalPolicy:
    policies = {p.policy for p in found.values()}
    if len(policies) != 1:
        raise ApprovalError("the protected targets disagree on their approval policy: align them (terraform apply)")
    return next(iter(policies))


# -- signing ---------------------------------------------------------------------------------------------


def statement_for(
    cfg: GantryConfig, target: Target, *, env: str, digest: str, approver: str, now: float | None = None
) -> tuple[Statement, approvals.ApprovalPolicy]:
    """The statement an approver signs for `digest` in `env`: every protected target of `env`, the staging pass."""
    approver = _principal(approver)
    found = protections(target, env, cfg.regions_of(env))
    if not found:
        raise ApprovalError(f"no target of {env} is protected: it needs no approval")
    policy = one_policy(found)
    _require_listed(policy, approver, env)
    passed = target.records().get(STAGING_PASSES, digest_key(digest))
    if passed is None:
        raise ApprovalError(
            f"{digest[:19]} has not passed staging: run `gantry deploy --env {cfg.approvals.staging_environment}` "
            f"and `gantry smoke --env {cfg.approvals.staging_environment}` first"
        )
    waited = (now or time.time()) - float(passed["passed_at"])
    if waited > cfg.approvals.timeout_seconds:
        raise ApprovalError(
            f"the approval window for {digest[:19]} closed {waited - cfg.approvals.timeout_seconds:.0f} s ago "
            f"(approvals.timeout_seconds={cfg.approvals.timeout_seconds:g}): ship a new commit through staging"
        )
    subject = DeploySubject(
        digest=digest,
        sha=str(passed["sha"]),
        environment=env,
        targets=[p.identity for p in found.values()],
        staging_pass=StagingPassRef(
            digest=digest,
            run_id=passed.get("run_id"),
            passed_at=float(passed["passed_at"]),
            record=approvals.record_hash(passed),
        ),
    )
    return approvals.new_statement(customer=cfg.customer, subject=subject, approver=approver, policy=policy), policy


def _principal(approver: str) -> str:
    try:
        return approvals.check_principal(approver)
    except ValueError as exc:
        raise ApprovalError(f"--approver: {exc}") from None


def _require_listed(policy: approvals.ApprovalPolicy, approver: str, env: str) -> None:
    if approver not in policy.approvers():
        raise ApprovalError(f"{approver!r} is not an approver for {env}: ask one of {', '.join(policy.approvers())}")


def _sign_as(
    target: Target, statement: Statement, policy: approvals.ApprovalPolicy, approver: str, key: Path, store_it: bool
) -> SignedApproval:
    """Sign, check that the target's policy lists `key` for `approver`, and (unless `--print`) store."""
    signed = sign(statement, key)
    if not sshsig.verify(signed.statement.encode(), signed.signature, policy.allowed_signers, approver):
        raise ApprovalError(f"{key} is not a key the target lists for {approver}: sign with your listed SSH key")
    if store_it:
        store(target, signed)
    return signed


def sign(statement: Statement, key: Path) -> SignedApproval:
    text = statement.canonical()
    return SignedApproval(statement=text, signature=sshsig.sign(text.encode(), key))


def store(target: Target, signed: SignedApproval) -> bool:
    return target.records().create(APPROVALS, signed.key, signed.model_dump())


def approve(
    cfg: GantryConfig, target: Target, *, env: str, digest: str, approver: str, key: Path, store_it: bool = True
) -> SignedApproval:
    """Make, sign and (unless store_it is False: `--print`) store an approval."""
    statement, policy = statement_for(cfg, target, env=env, digest=digest, approver=approver)
    return _sign_as(target, statement, policy, approver, key, store_it)


def import_signed(
    cfg: GantryConfig, target: Target, raw: str, *, env: str, digest: str, submitter: str | None
) -> Statement:
    """A signed approval made elsewhere (pasted into Jenkins), stored once it verifies; with `submitter`, the
    approver must be who Jenkins authenticated."""
    try:
        signed = approvals.parse_signed(json.loads(raw))
    except ValueError:
        raise ApprovalError("the approval is not JSON: paste the output of `gantry approve --print`") from None
    statement = verify_for_deploy(cfg, target, env, digest, cfg.regions_of(env), candidates=[signed])
    if submitter is not None and submitter.lower() != statement.approver.lower():
        raise ApprovalError(
            f"the approval is {statement.approver}'s, but {submitter!r} submitted it: each signs their own"
        )
    store(target, signed)
    return statement


# -- verification ---------------------------------------------------------------------------------------------


def stored(target: Target, digest: str) -> list[SignedApproval]:
    found = []
    for raw in target.records().find(APPROVALS, digest_key(digest) + "--"):
        try:
            found.append(approvals.parse_signed(raw))
        except ApprovalError:
            continue  # a malformed record approves nothing; the refusal message names what is missing
    return found


def verify_for_deploy(
    cfg: GantryConfig,
    target: Target,
    env: str,
    digest: str,
    regions: list[str],
    *,
    candidates: list[SignedApproval] | None = None,
    rollback: bool = False,
) -> Statement:
    """The approval that lets `digest` into the protected targets among `regions` of `env`; ApprovalError
    naming what is missing otherwise."""
    found = protections(target, env, regions)
    policy = one_policy(found)
    try:
        approvals.check_digest(digest)
    except ValueError as exc:
        raise ApprovalError(str(exc)) from None
    options = stored(target, digest) if candidates is None else candidates
    if not options:
        raise ApprovalError(
            f"no approval on record for {digest[:19]} in {env}: an approver runs "
            f"`gantry approve --env {env} --digest {digest} --approver EMAIL --key KEY` after staging passed"
        )
    passed = target.records().get(STAGING_PASSES, digest_key(digest))
    sha = passed.get("sha") if passed else None
    authors: dict[str, str | None] = {}

    def author() -> str | None:
        if "sha" not in authors:
            authors["sha"] = target.commit_author(str(sha)) if sha else None
        return authors["sha"]

    reasons = []
    for signed in options:
        try:
            return approvals.check(
                signed,
                policy,
                sshsig.verify,
                now=datetime.now(UTC),
                customer=cfg.customer,
                environment=env,
                targets=[p.identity for p in found.values()],
                digest=digest,
                staging_pass=passed,
                author=author,
                enforce_expiry=not rollback,
            )
        except ApprovalError as exc:
            reasons.append(str(exc))
    raise ApprovalError(f"no valid approval for {digest[:19]} in {env}: {'; '.join(dict.fromkeys(reasons))[:400]}")


def require(
    cfg: GantryConfig, target: Target, env: str, release: Release, regions: list[str], *, run_id: str, rollback: bool
) -> Statement | None:
    """Before a deploy touches anything: None when no region of it is protected, else the valid approval.
    A refusal is recorded (who tried what, why) before it is raised."""
    if not protections(target, env, regions):
        return None
    try:
        return verify_for_deploy(cfg, target, env, release.digest, regions, rollback=rollback)
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
            target.records().create(REFUSED, key, attempt)
        raise


def wait(cfg: GantryConfig, target: Target, env: str, digest: str, poll_seconds: float = 1.0) -> Statement:
    """Block until a valid approval of `digest` is stored (by an approver elsewhere), or the window closes."""
    deadline = time.monotonic() + cfg.approvals.timeout_seconds
    while time.monotonic() < deadline:
        if stored(target, digest):
            try:
                return verify_for_deploy(cfg, target, env, digest, cfg.regions_of(env))
            except ApprovalError:
                pass  # an invalid one arrived: keep waiting for a valid one
        time.sleep(poll_seconds)
    raise ApprovalError(
        f"no valid approval for {digest[:19]} within {cfg.approvals.timeout_seconds:g} s: an approver runs "
        f"`gantry approve --env {env} --digest {digest} --approver EMAIL --key KEY`"
    )


# -- releases -------------------------------------------------------------------------------------------------


def record_release(target: Target, identity: str, release: Release, run_id: str) -> None:
    """A release that reached steady state on a target: what a rollback may return to."""
    target.records().create(
        RELEASES,
        release_key(identity, release.digest),
        {
            "identity": identity,
            "sha": release.sha,
            "digest": release.digest,
            "run_id": run_id,
            "steady_at": time.time(),
        },
    )


def reached_steady_state(target: Target, identity: str, release: Release) -> bool:
    return target.records().get(RELEASES, release_key(identity, release.digest)) is not None


def maintenance_statement(
    cfg: GantryConfig, target: Target, *, env: str, playbook: str, limit: str, sha: str, approver: str
) -> tuple[Statement, approvals.ApprovalPolicy]:
    found = protections(target, env, cfg.regions_of(env))
    if not found:
        raise ApprovalError(f"no target of {env} is protected: maintenance there needs no approval")
    policy = one_policy(found)
    try:
        subject = MaintenanceSubject(
            playbook=playbook, limit=limit, sha=sha, environment=env, targets=[p.identity for p in found.values()]
        )
    except ValueError as exc:
        raise ApprovalError(f"invalid maintenance request: {str(exc).splitlines()[-1][:200]}") from None
    return approvals.new_statement(customer=cfg.customer, subject=subject, approver=approver, policy=policy), policy


# -- maintenance: running a playbook against a protected environment (the ansible-maintenance job) -----------------


def _check_sha(sha: str) -> str:
    if not approvals.SHA.fullmatch(sha):
        raise ApprovalError(f"{sha!r} is not a commit: pass --sha with the 40 hex digits of the checkout, in full")
    return sha


def approve_maintenance(
    cfg: GantryConfig,
    target: Target,
    *,
    env: str,
    playbook: str,
    limit: str,
    sha: str,
    approver: str,
    key: Path,
    store_it: bool = True,
) -> SignedApproval:
    """Make, sign and (unless store_it is False: `--print`) store an approval to run `playbook` with `limit` at
    commit `sha` against every protected target of `env`."""
    approver = _principal(approver)
    statement, policy = maintenance_statement(
        cfg, target, env=env, playbook=playbook, limit=limit, sha=_check_sha(sha), approver=approver
    )
    _require_listed(policy, approver, env)
    return _sign_as(target, statement, policy, approver, key, store_it)


def _this_run(statement: Statement, wanted: MaintenanceSubject, submitter: str | None) -> Statement:
    """A valid statement approves this run only for this playbook, limit and commit, and (with `submitter`) only
    as the approval of whoever asked."""
    subject = statement.subject
    if not isinstance(subject, MaintenanceSubject):
        raise ApprovalError("it approves a deploy, not maintenance")
    if (subject.playbook, subject.limit, subject.sha) != (wanted.playbook, wanted.limit, wanted.sha):
        raise ApprovalError(
            f"it approves {subject.playbook} on {subject.limit!r} at {subject.sha[:12]}, "
            f"not {wanted.playbook} on {wanted.limit!r} at {wanted.sha[:12]}"
        )
    if submitter is not None and submitter.lower() != statement.approver.lower():
        raise ApprovalError(f"it is {statement.approver}'s, but {submitter!r} submitted it: each signs their own")
    return statement


def verify_maintenance(
    cfg: GantryConfig,
    target: Target,
    *,
    env: str,
    playbook: str,
    limit: str,
    sha: str,
    submitter: str | None = None,
    candidates: list[SignedApproval] | None = None,
) -> Statement:
    """The approval that lets exactly this run happen (this playbook, limit and commit, every protected target
    of `env`; by `submitter` when given): the stored ones, or `candidates`. ApprovalError naming why not."""
    found = protections(target, env, cfg.regions_of(env))
    if not found:
        raise ApprovalError(f"no target of {env} is protected: maintenance there needs no approval")
    policy = one_policy(found)
    try:
        wanted = MaintenanceSubject(
            playbook=playbook,
            limit=limit,
            sha=_check_sha(sha),
            environment=env,
            targets=[p.identity for p in found.values()],
        )
    except ValueError as exc:
        raise ApprovalError(f"invalid maintenance request: {str(exc).splitlines()[-1][:200]}") from None
    options = candidates
    if options is None:
        options = []
        for raw in target.records().find(APPROVALS, f"{playbook}--"):
            with contextlib.suppress(ApprovalError):  # a malformed record approves nothing
                options.append(approvals.parse_signed(raw))
    if not options:
        raise ApprovalError(
            f"no maintenance approval on record for {playbook} in {env}: an approver runs `gantry maintenance "
            f"approve --env {env} --playbook {playbook} --limit '{limit}' --sha {sha} --approver EMAIL --key KEY`"
        )
    reasons = []
    for signed in options:
        try:
            statement = approvals.check(
                signed,
                policy,
                sshsig.verify,
                now=datetime.now(UTC),
                customer=cfg.customer,
                environment=env,
                targets=wanted.targets,
                author=lambda: target.commit_author(sha),
            )
            return _this_run(statement, wanted, submitter)
        except ApprovalError as exc:
            reasons.append(str(exc))
    raise ApprovalError(
        f"no valid maintenance approval for {playbook} in {env}: {'; '.join(dict.fromkeys(reasons))[:400]}"
    )


def import_maintenance(
    cfg: GantryConfig,
    target: Target,
    raw: str,
    *,
    env: str,
    playbook: str,
    limit: str,
    sha: str,
    submitter: str | None,
) -> Statement:
    """A maintenance approval signed elsewhere (pasted into Jenkins), stored once it verifies for this run."""
    try:
        signed = approvals.parse_signed(json.loads(raw))
    except ValueError:
        raise ApprovalError(
            "the approval is not JSON: paste the output of `gantry maintenance approve --print`"
        ) from None
    statement = verify_maintenance(
        cfg, target, env=env, playbook=playbook, limit=limit, sha=sha, submitter=submitter, candidates=[signed]
    )
    store(target, signed)
    return statement
