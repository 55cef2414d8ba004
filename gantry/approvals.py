"""Approvals as signed statements, and the policy a protected target enforces.

An approval is a statement (who approves what, for which targets, after which staging pass, until when),
serialised canonically and signed with the approver's own SSH key. A deploy to a protected target accepts it
only if the signature verifies against the allowed signers the *target* names (not the environment file of
whoever runs the command), the statement names that exact digest and that target, follows a staging pass of
that digest, is not expired nor from the future, and, with separation of duties, the approver did not write
the commit. The checks here are pure; signature verification is passed in (gantry.host.sshsig).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from gantry.errors import ApprovalError

DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
SHA = re.compile(r"[0-9a-f]{40}")
PRINCIPAL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+")


def check_digest(value: str) -> str:
    if not DIGEST.fullmatch(value):
        raise ValueError(f"{value!r} is not an image digest (sha256: and 64 lowercase hex digits, in full)")
    return value


def check_principal(value: str) -> str:
    if not PRINCIPAL.fullmatch(value):
        raise ValueError(f"{value!r} is not an approver identity (an e-mail address, no spaces or control characters)")
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


Digest = Annotated[str, AfterValidator(check_digest)]
Principal = Annotated[str, AfterValidator(check_principal)]
Hours = Annotated[float, Field(gt=0, le=168), AfterValidator(_finite)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApprovalPolicy(Model):
    """What a protected target requires, kept with the target (a tag and parameter on AWS, the load
    balancer's state locally): who may approve (an allowed-signers file) and for how long an approval holds."""

    allowed_signers: str = Field(min_length=1)
    max_age_hours: Hours = 24
    separation_of_duties: bool = True
    clock_skew_seconds: Annotated[float, Field(ge=0, le=600)] = 120

    def approvers(self) -> list[str]:
        found = []
        for line in self.allowed_signers.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                found += line.split()[0].split(",")
        return found


class Protection(Model):
    identity: str = Field(min_length=1)  # the target: account, region, cluster and service; or region and LB
    policy: ApprovalPolicy


class StagingPassRef(Model):
    digest: Digest
    run_id: str | None
    passed_at: float
    record: str  # sha256 of the staging pass record, so the statement binds that exact pass


class DeploySubject(Model):
    kind: Literal["deploy"] = "deploy"
    digest: Digest
    sha: str
    environment: str
    targets: list[str] = Field(min_length=1)
    staging_pass: StagingPassRef


class MaintenanceSubject(Model):
    kind: Literal["maintenance"] = "maintenance"
    playbook: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}\.yml$")
    limit: str = Field(pattern=r"^[A-Za-z0-9_.:*!&,-]{1,200}$")
    sha: str
    environment: str
    targets: list[str] = Field(min_length=1)


class Statement(Model):
    version: Literal[1] = 1
    customer: str
    subject: Annotated[DeploySubject | MaintenanceSubject, Field(discriminator="kind")]
    approver: Principal
    approved_at: datetime
    expires_at: datetime
    nonce: str = Field(default_factory=lambda: secrets.token_hex(8))

    def canonical(self) -> str:
        return canonical(self.model_dump(mode="json"))


class SignedApproval(Model):
    statement: str  # the canonical JSON exactly as signed
    signature: str

    def parse(self) -> Statement:
        try:
            statement = Statement.model_validate_json(self.statement)
        except ValidationError as exc:
            raise ApprovalError(f"the approval statement is malformed: {_first(exc)}") from None
        if statement.canonical() != self.statement:
            raise ApprovalError("the approval statement is not in canonical form: it was not made by `gantry approve`")
        return statement

    @property
    def key(self) -> str:
        """Record key: the digest (or playbook) first, so every approval of one subject is found together."""
        statement = Statement.model_validate_json(self.statement)
        head = statement.subject.digest if isinstance(statement.subject, DeploySubject) else statement.subject.playbook
        return f"{head.replace(':', '-')}--{hashlib.sha256(self.statement.encode()).hexdigest()[:16]}"


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def record_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(record).encode()).hexdigest()


def _first(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    return f"{where}: {error['msg'].removeprefix('Value error, ')}"[:200]


def parse_signed(raw: Any) -> SignedApproval:
    try:
        return SignedApproval.model_validate(raw)
    except ValidationError as exc:
        raise ApprovalError(f"not a signed approval: {_first(exc)}") from None


Verifier = Callable[[bytes, str, str, str], bool]  # (message, signature, allowed_signers, principal)


def check(
    signed: SignedApproval,
    policy: ApprovalPolicy,
    verify: Verifier,
    *,
    now: datetime,
    customer: str,
    environment: str,
    targets: list[str],
    digest: str | None = None,
    staging_pass: dict[str, Any] | None = None,
    author: Callable[[], str | None] | None = None,
    enforce_expiry: bool = True,
) -> Statement:
    """The statement, once every rule holds; ApprovalError naming the first that does not."""
    statement = signed.parse()
    if statement.approver not in policy.approvers():
        raise ApprovalError(f"{statement.approver!r} is not an approver of this target")
    if not verify(signed.statement.encode(), signed.signature, policy.allowed_signers, statement.approver):
        raise ApprovalError(f"the signature is not {statement.approver!r}'s (not made with a key listed for them)")
    _check_subject(statement, customer, environment, targets, digest, staging_pass)
    _check_times(statement, policy, now, enforce_expiry)
    if policy.separation_of_duties:
        wrote = author() if author is not None else None
        if wrote is None:  # fail closed: the rule cannot be checked without knowing who wrote the change
            raise ApprovalError("who wrote the commit is unknown (it is not in the primary source copy)")
        if wrote.lower() == statement.approver.lower():
            raise ApprovalError(f"{statement.approver} wrote the commit: separation of duties needs another approver")
    return statement


def _check_subject(
    statement: Statement,
    customer: str,
    environment: str,
    targets: list[str],
    digest: str | None,
    staging_pass: dict[str, Any] | None,
) -> None:
    subject = statement.subject
    if statement.customer != customer or subject.environment != environment:
        raise ApprovalError(f"it approves {statement.customer}/{subject.environment}, not {customer}/{environment}")
    missing = [t for t in targets if t not in subject.targets]
    if missing:
        raise ApprovalError(f"it is for other targets (not {missing[0]})")
    if digest is not None:
        if not isinstance(subject, DeploySubject) or subject.digest != digest:
            raise ApprovalError(f"it approves another image, not {digest[:19]}")
        if staging_pass is None or staging_pass.get("digest") != digest:
            raise ApprovalError(f"{digest[:19]} has no staging pass on record")
        if record_hash(staging_pass) != subject.staging_pass.record:
            raise ApprovalError("it follows a different staging pass than the one on record")


def _check_times(statement: Statement, policy: ApprovalPolicy, now: datetime, enforce_expiry: bool) -> None:
    skew = timedelta(seconds=policy.clock_skew_seconds)
    if statement.approved_at.tzinfo is None or statement.expires_at.tzinfo is None:
        raise ApprovalError("its times carry no time zone")
    if statement.approved_at > now + skew:
        raise ApprovalError(f"it is dated {statement.approved_at.isoformat()}, in the future")
    if statement.expires_at - statement.approved_at > timedelta(hours=policy.max_age_hours):
        raise ApprovalError(f"it claims to hold longer than the target's {policy.max_age_hours:g} h")
    if enforce_expiry and now > statement.expires_at:
        raise ApprovalError(f"it expired at {statement.expires_at.isoformat()}")


def new_statement(
    *, customer: str, subject: DeploySubject | MaintenanceSubject, approver: str, policy: ApprovalPolicy
) -> Statement:
    now = datetime.now(UTC).replace(microsecond=0)
    return Statement(
        customer=customer,
        subject=subject,
        approver=approver,
        approved_at=now,
        expires_at=now + timedelta(hours=policy.max_age_hours),
    )
