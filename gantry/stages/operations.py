"""Signed approvals of what changes a protected environment without a release: a maintenance playbook run (the
ansible-maintenance job) and the disaster-recovery operations (a drill, a failover, a rejoin), which move the
database writer and the traffic between regions.

Each is made, printed, imported and checked like a deploy approval (gantry.stages.approval): signed by an
approver the target's own policy lists, for every protected target of the environment, within the policy's
maximum age. A maintenance approval names the playbook, the host limit and the commit; an operation approval
names the operation and its parameters, and is used once (a create-only record of its use), so one approved
drill cannot be replayed as many.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError

from gantry import approvals
from gantry.approvals import MaintenanceSubject, Operation, OperationSubject, SignedApproval, Statement, Subject
from gantry.config import GantryConfig
from gantry.errors import ApprovalError, ConfigError, GantryError
from gantry.host import sshsig
from gantry.names import check_sha
from gantry.schema import describe
from gantry.stages import approval, change
from gantry.targets.base import Gatekeeping, Records

USED = "operations-used"


class OperationTarget(Records, Gatekeeping, Protocol):
    """What an operation's approval needs: the environment's records, the target's own policy, the commits."""


def _policy(cfg: GantryConfig, target: Gatekeeping, env: str, what: str) -> tuple[approvals.ApprovalPolicy, list[str]]:
    found = approval.protections(cfg, target, env, cfg.regions_of(env))
    if not found:
        raise ApprovalError(f"no target of {env} is protected: {what} there needs no approval")
    return approval.one_policy(found), [p.identity for p in found.values()]


def _candidates(
    target: Records, env: str, prefix: str, candidates: list[SignedApproval] | None
) -> list[SignedApproval]:
    return candidates if candidates is not None else approval.stored(target, env, prefix)


def _check_one(
    cfg: GantryConfig,
    policy: approvals.ApprovalPolicy,
    signed: SignedApproval,
    env: str,
    targets: list[str],
    contributors: approvals.Contributors | None,
) -> Statement:
    return approvals.check(
        signed,
        policy,
        sshsig.verify,
        now=datetime.now(UTC),
        customer=cfg.customer,
        environment=env,
        targets=targets,
        contributors=contributors,
    )


def _submitted_by(statement: Statement, submitter: str | None) -> Statement:
    if submitter is not None and submitter.lower() != statement.approver.lower():
        raise ApprovalError(f"it is {statement.approver}'s, but {submitter!r} submitted it: each signs their own")
    return statement


# -- maintenance: running a playbook against a protected environment (the ansible-maintenance job) -------------


def _sha(sha: str) -> str:
    try:
        return check_sha(sha)
    except ConfigError:
        raise ConfigError(
            f"{sha[:60]!r} is not a commit: pass --sha with the 40 hex digits of the checkout, in full"
        ) from None


def _maintenance(
    cfg: GantryConfig, target: Gatekeeping, env: str, playbook: str, limit: str, sha: str
) -> tuple[approvals.ApprovalPolicy, MaintenanceSubject]:
    cfg.environment(env)
    request = {"playbook": playbook, "limit": limit, "sha": _sha(sha), "environment": env}
    try:  # the request itself first: bad input is refused before any target is asked
        MaintenanceSubject(**request, targets=["-"])
    except ValidationError as exc:
        raise ConfigError(f"invalid maintenance request: {describe(exc)}") from None
    policy, targets = _policy(cfg, target, env, "maintenance")
    return policy, MaintenanceSubject(**request, targets=targets)


def _committers_of(cfg: GantryConfig, target: Gatekeeping, sha: str) -> approvals.Contributors:
    def contributors(_statement: Statement) -> list[str] | None:
        try:
            found = change.commits(cfg, target, sha, None, limit=1)
        except ApprovalError:
            raise
        except GantryError:
            return None
        return [who for commit in found for who in (commit.author, commit.committer)] or None

    return contributors


def _sign(
    cfg: GantryConfig,
    target: Records,
    env: str,
    policy: approvals.ApprovalPolicy,
    subject: Subject,
    approver: str,
    key: Path,
    store_it: bool,
) -> SignedApproval:
    approver = approval.principal(approver)
    approval.require_listed(policy, approver, env)
    statement = approvals.new_statement(customer=cfg.customer, subject=subject, approver=approver, policy=policy)
    return approval.sign_as(target, env, statement, policy, key, store_it)


def approve_maintenance(
    cfg: GantryConfig,
    target: OperationTarget,
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
    policy, subject = _maintenance(cfg, target, env, playbook, limit, sha)
    return _sign(cfg, target, env, policy, subject, approver, key, store_it)


def verify_maintenance(
    cfg: GantryConfig,
    target: OperationTarget,
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
    policy, wanted = _maintenance(cfg, target, env, playbook, limit, sha)
    options = _candidates(target, env, f"{playbook}--", candidates)
    if not options:
        raise ApprovalError(
            f"no maintenance approval on record for {playbook} in {env}: an approver runs `gantry maintenance "
            f"approve --env {env} --playbook {playbook} --limit '{limit}' --sha {sha} --approver EMAIL --key KEY`"
        )

    def check(signed: SignedApproval) -> Statement:
        statement = _check_one(cfg, policy, signed, env, wanted.targets, _committers_of(cfg, target, wanted.sha))
        subject = statement.subject
        if not isinstance(subject, MaintenanceSubject):
            raise ApprovalError(f"it approves something else, not {wanted.playbook} on {wanted.limit!r}")
        if (subject.playbook, subject.limit, subject.sha) != (wanted.playbook, wanted.limit, wanted.sha):
            raise ApprovalError(
                f"it approves {subject.playbook} on {subject.limit!r} at {subject.sha[:12]}, "
                f"not {wanted.playbook} on {wanted.limit!r} at {wanted.sha[:12]}"
            )
        return _submitted_by(statement, submitter)

    return approval.first_valid(options, check, f"no valid maintenance approval for {playbook} in {env}")


def import_maintenance(
    cfg: GantryConfig,
    target: OperationTarget,
    raw: str,
    *,
    env: str,
    playbook: str,
    limit: str,
    sha: str,
    submitter: str | None,
) -> Statement:
    """A maintenance approval signed elsewhere (pasted into Jenkins), stored once it verifies for this run."""
    signed = approval.parse_pasted(raw, "gantry maintenance approve --print")
    statement = verify_maintenance(
        cfg, target, env=env, playbook=playbook, limit=limit, sha=sha, submitter=submitter, candidates=[signed]
    )
    approval.store(target, env, signed)
    return statement


# -- disaster-recovery operations ---------------------------------------------------------------------------------


def _operation(
    cfg: GantryConfig, target: Gatekeeping, env: str, operation: Operation, parameters: dict[str, str]
) -> tuple[approvals.ApprovalPolicy, OperationSubject]:
    policy, targets = _policy(cfg, target, env, operation)
    subject = OperationSubject(
        operation=operation, parameters=dict(sorted(parameters.items())), environment=env, targets=targets
    )
    return policy, subject


def protected(cfg: GantryConfig, target: Gatekeeping, env: str) -> bool:
    return bool(approval.protections(cfg, target, env, cfg.regions_of(env)))


def approve_operation(
    cfg: GantryConfig,
    target: OperationTarget,
    *,
    env: str,
    operation: Operation,
    parameters: dict[str, str],
    approver: str,
    key: Path,
    store_it: bool = True,
) -> SignedApproval:
    """Make, sign and (unless `--print`) store an approval of one DR operation with these parameters."""
    policy, subject = _operation(cfg, target, env, operation, parameters)
    return _sign(cfg, target, env, policy, subject, approver, key, store_it)


def check_operation(
    cfg: GantryConfig,
    target: OperationTarget,
    *,
    env: str,
    operation: Operation,
    parameters: dict[str, str],
    signed: SignedApproval,
) -> Statement:
    """`signed` approves exactly this operation on every protected target of `env`, and is unused."""
    policy, wanted = _operation(cfg, target, env, operation, parameters)
    statement = _check_one(cfg, policy, signed, env, wanted.targets, None)
    _same_operation(statement, wanted)
    if target.records(env).get(USED, signed.digest[:32]) is not None:
        raise ApprovalError(f"{statement.approver}'s approval of {operation} was used already")
    return statement


def use_operation(
    cfg: GantryConfig,
    target: OperationTarget,
    *,
    env: str,
    operation: Operation,
    parameters: dict[str, str],
    run_id: str,
    candidates: list[SignedApproval] | None = None,
) -> Statement:
    """Before the operation changes anything: a valid, unused approval of exactly it, now marked used (a
    create-only record, so two processes cannot both use one). ApprovalError naming why not."""
    policy, wanted = _operation(cfg, target, env, operation, parameters)
    options = _candidates(target, env, f"{operation}--", candidates)
    if not options:
        flags = " ".join(f"--param {k}={v}" for k, v in wanted.parameters.items())
        raise ApprovalError(
            f"no approval on record for {operation} in {env}: an approver runs `gantry dr approve --env {env} "
            f"--operation {operation} {flags} --approver EMAIL --key KEY`".replace("  ", " ")
        )

    def check(signed: SignedApproval) -> Statement:
        statement = _check_one(cfg, policy, signed, env, wanted.targets, None)
        _same_operation(statement, wanted)
        # create-only: of two processes using one approval, exactly one creates the record.
        if not target.records(env).create(USED, signed.digest[:32], {"run_id": run_id, "at": time.time()}):
            raise ApprovalError(f"{statement.approver}'s approval of {operation} was used already")
        return statement

    return approval.first_valid(options, check, f"no valid approval for {operation} in {env}")


def _same_operation(statement: Statement, wanted: OperationSubject) -> None:
    subject = statement.subject
    if not isinstance(subject, OperationSubject) or (subject.operation, subject.parameters) != (
        wanted.operation,
        wanted.parameters,
    ):
        raise ApprovalError(f"it approves another operation or other parameters, not {wanted.operation}")
