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
import shlex
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from gantry.errors import ApprovalError
from gantry.names import Digest, Sha, printable
from gantry.schema import describe

PRINCIPAL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+")


def check_principal(value: str) -> str:
    if not PRINCIPAL.fullmatch(value):
        raise ValueError(
            f"{printable(value)} is not an approver identity (an e-mail address, no spaces or control characters)"
        )
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


Principal = Annotated[str, AfterValidator(check_principal)]
Hours = Annotated[float, Field(gt=0, le=168), AfterValidator(_finite)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


KEY_TYPE = re.compile(r"(ssh-|ecdsa-|sk-)[A-Za-z0-9@.-]+")


def signer_entries(allowed_signers: str) -> list[tuple[int, list[str], list[str]]]:
    """(line number, principals, options) of each entry of an allowed-signers list (ssh-keygen(1): principals,
    then optional comma-separated options, then the key)."""
    entries = []
    for number, line in enumerate(allowed_signers.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            fields = shlex.split(line)
        except ValueError:
            raise ValueError(f"line {number}: unbalanced quotes") from None
        key_at = next((i for i, f in enumerate(fields) if KEY_TYPE.fullmatch(f)), None)
        if key_at is None or key_at == 0 or key_at + 1 >= len(fields) or key_at > 2:
            raise ValueError(f"line {number}: not 'principals [options] key-type key'")
        options = fields[1].split(",") if key_at == 2 else []
        entries.append((number, fields[0].split(","), options))
    return entries


class ApprovalPolicy(Model):
    """What a protected target requires, kept with the target (a tag and parameter on AWS, the load
    balancer's state locally): who may approve (an allowed-signers file) and for how long an approval holds.

    Each approver is listed by name with their own key: a wildcard principal or a cert-authority line would let
    one key sign as every approver it matches, which defeats separation of duties, so both are refused unless
    the policy says allow_wildcard_signers."""

    allowed_signers: str = Field(min_length=1, max_length=65536)
    max_age_hours: Hours = 24
    separation_of_duties: bool = True
    clock_skew_seconds: Annotated[float, Field(ge=0, le=600, allow_inf_nan=False)] = 120
    allow_wildcard_signers: bool = False

    @model_validator(mode="after")
    def named_signers_only(self) -> ApprovalPolicy:
        entries = signer_entries(self.allowed_signers)
        if not entries:
            raise ValueError("the allowed signers list no approver")
        if self.allow_wildcard_signers:
            return self
        for number, principals, options in entries:
            if any(option.lower() == "cert-authority" for option in options):
                raise ValueError(
                    f"line {number}: a cert-authority line lets any certificate it signed approve: list each "
                    "approver's own key (or set approvals.allow_wildcard_signers)"
                )
            for principal in principals:
                if not PRINCIPAL.fullmatch(principal):
                    raise ValueError(
                        f"line {number}: {principal!r} is not one approver's e-mail (wildcards and negations match "
                        "many): list each approver (or set approvals.allow_wildcard_signers)"
                    )
        return self

    def approvers(self) -> list[str]:
        return [principal for _, principals, _ in signer_entries(self.allowed_signers) for principal in principals]

    def lists(self, approver: str) -> bool:
        """`approver` is named by the list (with wildcard signers allowed, ssh-keygen's pattern match decides)."""
        return self.allow_wildcard_signers or approver in self.approvers()


class Protection(Model):
    identity: str = Field(min_length=1)  # the target: account, region, cluster and service; or region and LB
    policy: ApprovalPolicy


class StagingPassRef(Model):
    digest: Digest
    run_id: str | None
    passed_at: float
    record: str  # sha256 of the staging pass record, so the statement binds that exact pass


class DeploySubject(Model):
    """A release into the protected targets of an environment: the image, the commit it was built from, the task
    definition that runs it (its hash without per-region fields, and the exceptions to the task-definition policy
    it uses), and the commits since what production ran, whose authors and committers may not approve."""

    kind: Literal["deploy"] = "deploy"
    service: str = Field(pattern=r"^[a-z][a-z0-9-]{0,62}$")
    digest: Digest
    sha: Sha
    environment: str
    targets: list[str] = Field(min_length=1)
    staging_pass: StagingPassRef
    task_definition: str = Field(pattern=r"^[0-9a-f]{64}$")
    exceptions: list[str] = []
    since: Sha | None = None


class MaintenanceSubject(Model):
    kind: Literal["maintenance"] = "maintenance"
    playbook: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}\.yml$")
    limit: str = Field(pattern=r"^[A-Za-z0-9_.:*!&,-]{1,200}$")
    sha: Sha
    environment: str
    targets: list[str] = Field(min_length=1)


Operation = Literal["dr-drill", "dr-failover", "dr-rejoin"]


class OperationSubject(Model):
    """An operation that changes a protected environment without a release (moving the database writer and the
    traffic between regions). Each approval is used once."""

    kind: Literal["operation"] = "operation"
    operation: Operation
    parameters: dict[str, str]
    environment: str
    targets: list[str] = Field(min_length=1)


Subject = DeploySubject | MaintenanceSubject | OperationSubject


class Statement(Model):
    version: Literal[2] = 2
    customer: str
    subject: Annotated[Subject, Field(discriminator="kind")]
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
            raise ApprovalError(f"the approval statement is malformed: {describe(exc)}") from None
        if statement.canonical() != self.statement:
            raise ApprovalError("the approval statement is not in canonical form: it was not made by `gantry approve`")
        return statement

    @property
    def digest(self) -> str:
        """sha256 of the statement as signed: what a deploy intent names, so recovery re-verifies this approval."""
        return hashlib.sha256(self.statement.encode()).hexdigest()

    @property
    def key(self) -> str:
        """Record key: the digest (or playbook, or operation) first, so every approval of one subject is found
        together."""
        return f"{subject_key(Statement.model_validate_json(self.statement).subject)}--{self.digest[:16]}"


def subject_key(subject: Subject) -> str:
    if isinstance(subject, DeploySubject):
        return subject.digest.replace(":", "-")
    if isinstance(subject, MaintenanceSubject):
        return subject.playbook
    return subject.operation


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def record_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(record).encode()).hexdigest()


def parse_signed(raw: Any) -> SignedApproval:
    try:
        return SignedApproval.model_validate(raw)
    except ValidationError as exc:
        raise ApprovalError(f"not a signed approval: {describe(exc)}") from None


Verifier = Callable[[bytes, str, str, str], bool]  # (message, signature, allowed_signers, principal)
# The authors and committers of the change a statement approves (None: unknown, which is refused).
Contributors = Callable[["Statement"], list[str] | None]


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
    contributors: Contributors | None = None,
    enforce_expiry: bool = True,
) -> Statement:
    """The statement, once every rule holds; ApprovalError naming the first that does not. `contributors` gives
    the authors and committers of the change the statement approves (None: unknown)."""
    statement = signed.parse()
    if not policy.lists(statement.approver):
        raise ApprovalError(f"{statement.approver!r} is not an approver of this target")
    if not verify(signed.statement.encode(), signed.signature, policy.allowed_signers, statement.approver):
        raise ApprovalError(f"the signature is not {statement.approver!r}'s (not made with a key listed for them)")
    _check_subject(statement, customer, environment, targets, digest, staging_pass)
    _check_times(statement, policy, now, enforce_expiry)
    if policy.separation_of_duties and not isinstance(statement.subject, OperationSubject):
        wrote = contributors(statement) if contributors is not None else None
        if wrote is None:  # fail closed: the rule cannot be checked without knowing who wrote the change
            raise ApprovalError("who wrote the change is unknown (its commits are not in the primary source copy)")
        if statement.approver.lower() in {who.lower() for who in wrote}:
            raise ApprovalError(
                f"{statement.approver} authored or committed a commit of this change: separation of duties needs "
                "another approver"
            )
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


def new_statement(*, customer: str, subject: Subject, approver: str, policy: ApprovalPolicy) -> Statement:
    now = datetime.now(UTC).replace(microsecond=0)
    return Statement(
        customer=customer,
        subject=subject,
        approver=approver,
        approved_at=now,
        expires_at=now + timedelta(hours=policy.max_age_hours),
    )
