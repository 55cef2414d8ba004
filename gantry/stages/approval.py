"""Stage 6, approve: an approver signs a statement binding the release that passed staging (its digest, its
commit, the commits since what production runs and the task definition that will run it) to the production
targets; every deploy, migration and recovery on a protected target verifies it first (gantry.approvals holds
the rules, gantry.stages.change computes what the statement binds).

Records are create-only (gantry.records) and kept per environment, so each environment's identity writes only
its own: a staging pass per digest (staging's) and approvals keyed by digest and statement hash (so nobody can
block a real approval by writing a bogus one first). What a deploy admits on their strength is
gantry.stages.admission.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from gantry import approvals
from gantry.approvals import DeploySubject, Protection, SignedApproval, StagingPassRef, Statement
from gantry.config import GantryConfig
from gantry.errors import ApprovalError, ConfigError, GantryError
from gantry.host import sshsig
from gantry.jsonfile import CorruptState
from gantry.names import Digest, Sha, check_digest
from gantry.schema import describe
from gantry.stages import change
from gantry.targets.base import Deploying, Gatekeeping, ImageTags, Records, Release, Serving

APPROVALS = "approvals"
STAGING_PASSES = "staging-passes"
T = TypeVar("T")


class ApprovalTarget(Records, Gatekeeping, ImageTags, Serving, Deploying, Protocol):
    """What checking an approval reads: the records, the target's own policy, the commits, the registry's tag of
    the commit, what runs now and the task definition that would run."""


def digest_key(digest: str) -> str:
    try:
        return check_digest(digest).replace(":", "-")
    except ConfigError as exc:
        raise ApprovalError(f"{exc}: pass --digest sha256:<64 hex>") from None


def record_staging_pass(
    target: Records, release: Release, run_id: str | None, env: str, *, dirty: bool
) -> dict[str, Any]:
    """The first staging pass of a digest opens its approval window (create-only, kept for audit). A pass of a
    build from uncommitted changes says so: it never reaches a protected target."""
    value = {
        "digest": release.digest,
        "sha": release.sha,
        "run_id": run_id,
        "environment": env,
        "dirty": dirty,
        "passed_at": round(time.time(), 3),
    }
    records = target.records(env)
    records.create(STAGING_PASSES, digest_key(release.digest), value)
    return records.get(STAGING_PASSES, digest_key(release.digest)) or value


class StagingPass(BaseModel):
    """A staging pass as record_staging_pass writes it (checked on read; the raw record is what approvals bind)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    digest: Digest
    sha: Sha
    run_id: str | None
    environment: str
    dirty: bool
    passed_at: float


def staging_pass(cfg: GantryConfig, target: Records, digest: str) -> dict[str, Any] | None:
    found = target.records(cfg.approvals.staging_environment).get(STAGING_PASSES, digest_key(digest))
    if found is not None:
        try:
            StagingPass.model_validate(found)
        except ValidationError as exc:
            raise CorruptState(
                f"the staging pass of {digest[:19]} is not one gantry wrote ({describe(exc)}): nothing was approved; "
                "move it aside and pass staging again"
            ) from None
    return found


def protections(cfg: GantryConfig, target: Gatekeeping, env: str, regions: list[str]) -> dict[str, Protection]:
    """region -> protection, for the regions of `env` whose target is protected. An environment the
    configuration marks protected (approvals.protected) whose target carries no protection is refused here: a
    missing tag or policy never makes production unprotected."""
    found: dict[str, Protection] = {}
    for region in regions:
        protection = target.protection(env, region)
        if protection is not None:
            found[region] = protection
        elif cfg.is_protected(env):
            raise ApprovalError(
                f"{env} in {region} must be protected (approvals.protected) but its target carries no protection: "
                "set it up (aws: apply the environment's Terraform root; local: `gantry up`) before deploying"
            )
    return found


def one_policy(found: dict[str, Protection]) -> approvals.ApprovalPolicy:
    policies = {p.policy for p in found.values()}
    if len(policies) != 1:
        raise ApprovalError("the protected targets disagree on their approval policy: align them (terraform apply)")
    return next(iter(policies))


def principal(approver: str) -> str:
    try:
        return approvals.check_principal(approver)
    except ValueError as exc:
        raise ConfigError(f"--approver: {exc}") from None


def require_listed(policy: approvals.ApprovalPolicy, approver: str, env: str) -> None:
    if not policy.lists(approver):
        raise ApprovalError(f"{approver!r} is not an approver for {env}: ask one of {', '.join(policy.approvers())}")


# -- what is approved -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    """What an approver is asked to sign, and what they are shown first."""

    statement: Statement
    policy: approvals.ApprovalPolicy
    change: change.Change
    signatures_checked: bool  # every commit's signature was verified against the committers' keys


def _release_of(passed: dict[str, Any]) -> Release:
    return Release(str(passed["sha"]), str(passed["digest"]))


def propose(cfg: GantryConfig, target: ApprovalTarget, *, env: str, digest: str, approver: str) -> Proposal:
    """The statement an approver signs for `digest` in `env`: every protected target of `env`, the staging pass,
    the commits since what `env` runs, and the task definition."""
    approver = principal(approver)
    regions = cfg.regions_of(env)
    found = protections(cfg, target, env, regions)
    if not found:
        raise ApprovalError(f"no target of {env} is protected: it needs no approval")
    policy = one_policy(found)
    require_listed(policy, approver, env)
    passed = staging_pass(cfg, target, digest)
    if passed is None:
        raise ApprovalError(
            f"{digest[:19]} has not passed staging: run `gantry deploy --env {cfg.approvals.staging_environment}` "
            f"and `gantry smoke --env {cfg.approvals.staging_environment}` first"
        )
    waited = time.time() - float(passed["passed_at"])
    if waited > cfg.approvals.timeout_seconds:
        raise ApprovalError(
            f"the approval window for {digest[:19]} closed {waited - cfg.approvals.timeout_seconds:.0f} s ago "
            f"(approvals.timeout_seconds={cfg.approvals.timeout_seconds:g}): ship a new commit through staging"
        )
    release = _release_of(passed)
    _committed_release(cfg, passed)
    _published_as(target, release.sha, digest)
    made = change.of(cfg, target, env, release, regions)
    change.covers_what_runs(target, env, release.sha, made.since, regions)
    if policy.separation_of_duties and approver.lower() in made.contributors:
        raise ApprovalError(
            f"{approver} authored or committed a commit of this change: separation of duties needs another approver"
        )
    subject = DeploySubject(
        service=cfg.service.name,
        digest=digest,
        sha=release.sha,
        environment=env,
        targets=[p.identity for p in found.values()],
        staging_pass=StagingPassRef(
            digest=digest,
            run_id=passed.get("run_id"),
            passed_at=float(passed["passed_at"]),
            record=approvals.record_hash(passed),
        ),
        task_definition=made.task_definition,
        exceptions=made.exceptions,
        since=made.since,
    )
    statement = approvals.new_statement(customer=cfg.customer, subject=subject, approver=approver, policy=policy)
    return Proposal(statement, policy, made, cfg.approvals.committers_allowed_signers is not None)


def _committed_release(cfg: GantryConfig, passed: dict[str, Any]) -> None:
    """A protected target takes only a build of a commit on the protected branch, never uncommitted changes."""
    sha, digest = str(passed["sha"]), str(passed["digest"])
    if passed.get("dirty", True):
        raise ApprovalError(
            f"{digest[:19]} was built from uncommitted changes (--allow-dirty): it may go to staging "
            "only; commit the change and ship the commit"
        )
    change.on_protected_branch(cfg, sha)


def _published_as(target: ImageTags, sha: str, digest: str) -> None:
    """`digest` is the image commit `sha` was published as: the registry's immutable tag says so, not the
    staging record alone (staging's role writes it)."""
    tagged = target.tagged(sha)
    if tagged != digest:
        raise ApprovalError(
            f"{digest[:19]} is not the image published for commit {sha[:12]} "
            f"({tagged[:19] if tagged else 'none is'}): approve the digest that commit was built as"
        )


def sign_as(
    target: Records, env: str, statement: Statement, policy: approvals.ApprovalPolicy, key: Path, store_it: bool
) -> SignedApproval:
    """Sign, check that the target's policy lists `key` for the approver, and (unless `--print`) store."""
    text = statement.canonical()
    signed = SignedApproval(statement=text, signature=sshsig.sign(text.encode(), key))
    if not sshsig.verify(text.encode(), signed.signature, policy.allowed_signers, statement.approver):
        raise ApprovalError(f"{key} is not a key the target lists for {statement.approver}: sign with your listed key")
    if store_it:
        store(target, env, signed)
    return signed


def store(target: Records, env: str, signed: SignedApproval) -> bool:
    return target.records(env).create(APPROVALS, signed.key, signed.model_dump())


def approve(
    cfg: GantryConfig, target: ApprovalTarget, *, env: str, digest: str, approver: str, key: Path, store_it: bool = True
) -> SignedApproval:
    """Make, sign and (unless store_it is False: `--print`) store an approval."""
    proposal = propose(cfg, target, env=env, digest=digest, approver=approver)
    return sign_as(target, env, proposal.statement, proposal.policy, key, store_it)


def parse_pasted(raw: str, fix: str) -> SignedApproval:
    try:
        return approvals.parse_signed(json.loads(raw))
    except ValueError:
        raise ApprovalError(f"the approval is not JSON: paste the output of `{fix}`") from None


def import_signed(
    cfg: GantryConfig, target: ApprovalTarget, raw: str, *, env: str, digest: str, submitter: str | None
) -> Statement:
    """A signed approval made elsewhere (pasted into Jenkins), stored once it verifies; with `submitter`, the
    approver must be who Jenkins authenticated."""
    signed = parse_pasted(raw, "gantry approve --print")
    statement, _ = verify_for_deploy(cfg, target, env, digest, cfg.regions_of(env), candidates=[signed])
    if submitter is not None and submitter.lower() != statement.approver.lower():
        raise ApprovalError(
            f"the approval is {statement.approver}'s, but {submitter!r} submitted it: each signs their own"
        )
    store(target, env, signed)
    return statement


# -- verification ---------------------------------------------------------------------------------------------


def first_valid(options: list[SignedApproval], check: Callable[[SignedApproval], T], refusal: str) -> T:
    """The result of `check` for the first candidate it accepts; ApprovalError with `refusal` and every
    candidate's reason otherwise."""
    reasons = []
    for signed in options:
        try:
            return check(signed)
        except ApprovalError as exc:
            reasons.append(str(exc))
    raise ApprovalError(f"{refusal}: {'; '.join(dict.fromkeys(reasons))[:400]}")


def stored(target: Records, env: str, prefix: str) -> list[SignedApproval]:
    found = []
    for raw in target.records(env).find(APPROVALS, prefix):
        try:
            found.append(approvals.parse_signed(raw))
        except ApprovalError:
            continue  # a malformed record approves nothing; the refusal message names what is missing
    return found


def signed_by(signed: SignedApproval, approver: str) -> bool:
    """`signed` names `approver` (its signature is checked when it is verified); False when malformed."""
    try:
        return signed.parse().approver.lower() == approver.lower()
    except ApprovalError:
        return False


def verify_for_deploy(
    cfg: GantryConfig,
    target: ApprovalTarget,
    env: str,
    digest: str,
    regions: list[str],
    *,
    candidates: list[SignedApproval] | None = None,
    enforce_expiry: bool = True,
) -> tuple[Statement, SignedApproval]:
    """The approval that lets `digest` into the protected targets among `regions` of `env`, checked against
    what would run now (commit, branch, commits since, task definition in each region); ApprovalError naming
    what is missing otherwise."""
    found = protections(cfg, target, env, regions)
    policy = one_policy(found)
    digest_key(digest)
    options = stored(target, env, digest_key(digest) + "--") if candidates is None else candidates
    if not options:
        raise ApprovalError(
            f"no approval on record for {digest[:19]} in {env}: an approver runs "
            f"`gantry approve --env {env} --digest {digest} --approver EMAIL --key KEY` after staging passed"
        )
    passed = staging_pass(cfg, target, digest)

    def check(signed: SignedApproval) -> tuple[Statement, SignedApproval]:
        statement = approvals.check(
            signed,
            policy,
            sshsig.verify,
            now=datetime.now(UTC),
            customer=cfg.customer,
            environment=env,
            targets=[p.identity for p in found.values()],
            digest=digest,
            staging_pass=passed,
            contributors=lambda st: _contributors(cfg, target, st),
            enforce_expiry=enforce_expiry,
        )
        _binds_what_runs(cfg, target, env, statement, regions, passed, forward=enforce_expiry)
        return statement, signed

    return first_valid(options, check, f"no valid approval for {digest[:19]} in {env}")


def _contributors(cfg: GantryConfig, target: Gatekeeping, statement: Statement) -> list[str] | None:
    subject = statement.subject
    if not isinstance(subject, DeploySubject):
        return None
    if subject.since == subject.sha:
        return []
    try:
        found = change.commits(cfg, target, subject.sha, subject.since)
    except ApprovalError:
        raise
    except GantryError:
        return None  # not in the source copy: unknown, so refused (fail closed)
    return sorted({who.lower() for commit in found for who in (commit.author, commit.committer)})


def _binds_what_runs(
    cfg: GantryConfig,
    target: ApprovalTarget,
    env: str,
    statement: Statement,
    regions: list[str],
    passed: dict[str, Any] | None,
    *,
    forward: bool,
) -> None:
    """The statement approves exactly what a deploy of it to `regions` would run now."""
    subject = statement.subject
    assert isinstance(subject, DeploySubject)  # noqa: S101 (check() compared the digest: a deploy subject)
    if subject.service != cfg.service.name:
        raise ApprovalError(f"it approves service {subject.service}, not {cfg.service.name}")
    if passed is None or passed.get("sha") != subject.sha:
        raise ApprovalError(f"it approves commit {subject.sha[:12]}, not the one staging passed")
    _committed_release(cfg, passed)
    if forward:  # a rollback returns to what this target ran under this approval: no new change, no new image
        _published_as(target, subject.sha, subject.digest)
        change.covers_what_runs(target, env, subject.sha, subject.since, regions)
    exceptions = sorted(cfg.environment(env).task_definition_exceptions)
    if subject.exceptions != exceptions:
        raise ApprovalError(
            f"it approves the task-definition exceptions {subject.exceptions}, but {env} now lists {exceptions}"
        )
    rendered = change.task_definition(cfg, target, env, Release(subject.sha, subject.digest), regions)
    if rendered != subject.task_definition:
        raise ApprovalError(
            f"the task definition that would run ({rendered[:12]}) is not the approved one "
            f"({subject.task_definition[:12]}): the template or the service settings changed since; ask for a "
            "new approval"
        )


def wait(cfg: GantryConfig, target: ApprovalTarget, env: str, digest: str, poll_seconds: float = 1.0) -> Statement:
    """Block until a valid approval of `digest` is stored (by an approver elsewhere), or the window closes."""
    deadline = time.monotonic() + cfg.approvals.timeout_seconds
    while time.monotonic() < deadline:
        if stored(target, env, digest_key(digest) + "--"):
            try:
                return verify_for_deploy(cfg, target, env, digest, cfg.regions_of(env))[0]
            except ApprovalError:
                pass  # an invalid one arrived: keep waiting for a valid one
        time.sleep(poll_seconds)
    raise ApprovalError(
        f"no valid approval for {digest[:19]} within {cfg.approvals.timeout_seconds:g} s: an approver runs "
        f"`gantry approve --env {env} --digest {digest} --approver EMAIL --key KEY`"
    )
