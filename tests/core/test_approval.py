"""The production gate, attacked. Real SSH signatures (ssh-keygen -Y), real file records, and the real local
target's protection (kept with each load balancer), without starting any process: each test plays someone
with a shell on the deploy agent trying to get an image into a protected target without a valid approval."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from gantry import approvals
from gantry.config import load_config
from gantry.errors import ApprovalError, ConfigError
from gantry.host import sshsig
from gantry.stages import approval
from gantry.targets.base import Release
from gantry.targets.local.target import LocalTarget

DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64
ALICE, BOB, MALLORY = "alice@example.com", "bob@example.com", "mallory@example.com"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("keys")
    return {
        who: directory / who.split("@")[0]
        for who in (ALICE, BOB, MALLORY)
        if sshsig.generate(directory / who.split("@")[0], who)
    }


def allowed(keys: dict[str, Path], *people: str) -> str:
    return "".join(sshsig.allowed_signer_line(p, keys[p].with_suffix(".pub").read_text()) for p in people)


@pytest.fixture
def world(tmp_path: Path, keys: dict[str, Path], example: dict[str, Any], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    global SHA  # noqa: PLW0603 - the commit each test's world ships, made fresh per test
    """A local target whose production is protected; alice and bob may approve."""
    monkeypatch.setenv("GANTRY_HOME", str(tmp_path / "home"))
    signers = tmp_path / "allowed_signers"
    signers.write_text(allowed(keys, ALICE, BOB))
    example["approvals"].update(allowed_signers=str(signers), demo_signer=None)
    config = tmp_path / "env.yaml"
    config.write_text(yaml.safe_dump(example))

    def target(data: dict[str, Any] | None = None) -> LocalTarget:
        path = config
        if data is not None:
            path = tmp_path / "other.yaml"
            path.write_text(yaml.safe_dump(data))
        return LocalTarget(load_config(str(path)))

    made = target()
    SHA = commit(made, tmp_path / "work", "dev@example.com")  # the change under approval, by someone else
    approval.record_staging_pass(made.records(), DIGEST, SHA, "run-1", "staging")
    return made, target, example


def commit(target: LocalTarget, work: Path, author: str) -> str:
    """A commit by `author` in the primary region's source copy (where separation of duties looks)."""
    repo = target.layout.source_repo("us-east-1")
    if not repo.exists():
        subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
        subprocess.run(["git", "init", "-q", str(work)], check=True)
    identity = ["-c", f"user.email={author}", "-c", "user.name=x"]
    subprocess.run(["git", "-C", str(work), *identity, "commit", "-q", "--allow-empty", "-m", author], check=True)
    sha = subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    subprocess.run(
        ["git", "-C", str(work), "push", "-q", "-f", str(repo), f"HEAD:refs/heads/{author.split('@', maxsplit=1)[0]}"],
        check=True,
    )
    return sha


def deploy_check(target: LocalTarget, digest: str = DIGEST, *, rollback: bool = False):  # type: ignore[no-untyped-def]
    return approval.require(
        target.cfg,
        target,
        "production",
        Release(SHA, digest),
        ["us-east-1", "us-west-2"],
        run_id="r",
        rollback=rollback,
    )


def signed_by(target: LocalTarget, who: str, key: Path, **changes: Any) -> approvals.SignedApproval:
    """A statement as `gantry approve` makes it, then changed (an attacker edits it) and signed with `key`."""
    statement, _ = approval.statement_for(target.cfg, target, env="production", digest=DIGEST, approver=ALICE)
    data = json.loads(statement.canonical())
    data["approver"] = who
    for path, value in changes.items():
        node = data
        *parents, leaf = path.split("__")
        for part in parents:
            node = node[part]
        node[leaf] = value
    try:  # in the canonical form `gantry approve` writes, where the changed statement still has one
        text = approvals.Statement.model_validate(data).canonical()
    except ValueError:
        text = approvals.canonical(data)
    return approvals.SignedApproval(statement=text, signature=sshsig.sign(text.encode(), key))


def test_a_listed_approver_with_their_own_key_opens_the_gate(world, keys) -> None:  # type: ignore[no-untyped-def]
    target, _, _ = world
    with pytest.raises(ApprovalError, match=r"no approval on record"):
        deploy_check(target)
    approval.approve(target.cfg, target, env="production", digest=DIGEST, approver=ALICE, key=keys[ALICE])
    statement = deploy_check(target)
    assert statement.approver == ALICE and statement.subject.digest == DIGEST  # type: ignore[union-attr]
    assert set(statement.subject.targets) == {target.identity("production", r) for r in ("us-east-1", "us-west-2")}


def test_anyone_can_claim_a_name_but_not_sign_for_it(world, keys) -> None:  # type: ignore[no-untyped-def]
    target, _, _ = world
    with pytest.raises(ApprovalError, match=r"is not a key the target lists for alice@example.com"):
        approval.approve(target.cfg, target, env="production", digest=DIGEST, approver=ALICE, key=keys[MALLORY])
    approval.store(target, signed_by(target, ALICE, keys[MALLORY]))  # written straight into the records
    with pytest.raises(ApprovalError, match=r"the signature is not 'alice@example.com'"):
        deploy_check(target)


def test_a_hand_written_or_malformed_record_opens_nothing(world) -> None:  # type: ignore[no-untyped-def]
    target, _, _ = world
    records = target.records()
    records.create(approval.APPROVALS, approval.digest_key(DIGEST) + "--forged", {"approver": ALICE, "digest": DIGEST})
    records.create(approval.APPROVALS, approval.digest_key(DIGEST) + "--junk", {"statement": "{", "signature": "x"})
    with pytest.raises(ApprovalError, match=r"no approval on record|no valid approval"):
        deploy_check(target)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"approved_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat()}, "in the future"),
        ({"expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat()}, "longer than the target's 24 h"),
        (
            {"approved_at": "2026-01-01T00:00:00Z", "expires_at": "2026-01-01T12:00:00Z"},
            "expired at 2026-01-01T12:00:00",
        ),
        ({"subject__digest": OTHER}, "another image"),
        ({"subject__targets": ["local:example:us-east-1:lb-production:18080:someone-else"]}, "other targets"),
        ({"subject__environment": "staging"}, "not example/production"),
        ({"subject__staging_pass__record": "0" * 64}, "a different staging pass"),
    ],
)
def test_a_listed_key_signing_something_else_is_refused(world, keys, changes, reason) -> None:  # type: ignore[no-untyped-def]
    target, _, _ = world
    signed = signed_by(target, ALICE, keys[ALICE], **changes)
    # Stored under this digest's name, whatever it says inside: the checks, not the key, must refuse it.
    target.records().create(approval.APPROVALS, approval.digest_key(DIGEST) + "--attempt", signed.model_dump())
    with pytest.raises(ApprovalError, match=reason):
        deploy_check(target)


def test_non_numbers_and_times_without_zone_are_not_statements(world, keys) -> None:  # type: ignore[no-untyped-def]
    target, _, _ = world
    for changes in ({"approved_at": "nan"}, {"approved_at": "2026-12-01T10:00:00"}):
        signed = signed_by(target, ALICE, keys[ALICE], **changes)
        with pytest.raises(ApprovalError, match=r"malformed|time zone"):
            approvals.check(
                signed,
                target.protection("production", "us-east-1").policy,  # type: ignore[union-attr]
                sshsig.verify,
                now=datetime.now(UTC),
                customer="example",
                environment="production",
                targets=[],
            )


def test_an_old_approval_does_not_open_a_new_digest(world, keys) -> None:  # type: ignore[no-untyped-def]
    target, _, _ = world
    approval.approve(target.cfg, target, env="production", digest=DIGEST, approver=ALICE, key=keys[ALICE])
    approval.record_staging_pass(target.records(), OTHER, "d" * 40, "run-2", "staging")
    with pytest.raises(ApprovalError, match=r"no approval on record for sha256:bbbbbbbbbbbb"):
        deploy_check(target, OTHER)


@pytest.mark.parametrize("digest", [DIGEST[:19], DIGEST.upper(), DIGEST.replace("sha256:", "SHA256:"), DIGEST + " "])
def test_a_digest_is_matched_in_full_and_exactly(world, keys, digest) -> None:  # type: ignore[no-untyped-def]
    target, _, _ = world
    approval.approve(target.cfg, target, env="production", digest=DIGEST, approver=ALICE, key=keys[ALICE])
    with pytest.raises(ApprovalError, match=r"is not an image digest"):
        deploy_check(target, digest)
    with pytest.raises(ApprovalError, match=r"is not an image digest"):
        approval.approve(target.cfg, target, env="production", digest=digest, approver=ALICE, key=keys[ALICE])


@pytest.mark.parametrize(
    "name", ["alice@example.com ", "alice @example.com", "alice@example.com\n", "\x1b[31malice", "[red]x[/]@a.b"]
)
def test_approver_names_with_spaces_control_or_markup_are_refused(world, keys, name) -> None:  # type: ignore[no-untyped-def]
    target, _, _ = world
    with pytest.raises(ApprovalError, match=r"is not an approver identity"):
        approval.approve(target.cfg, target, env="production", digest=DIGEST, approver=name, key=keys[ALICE])


def test_the_targets_own_policy_counts_not_the_file_of_whoever_runs(world, keys) -> None:  # type: ignore[no-untyped-def]
    """mallory edits the environment file: adds her key, unprotects production, makes approvals eternal."""
    target, make, example = world
    target.protection("production", "us-east-1")  # the load balancer exists (gantry up) and keeps its policy
    target.protection("production", "us-west-2")
    signers = Path(example["approvals"]["allowed_signers"]).with_name("mallory_signers")
    signers.write_text(allowed(keys, MALLORY))
    edited = {**example, "approvals": {**example["approvals"], "allowed_signers": str(signers)}}
    edited["local"] = {**example["local"], "protected": []}
    hostile = make(edited)
    assert hostile.protection("production", "us-east-1") is not None  # still protected
    with pytest.raises(ApprovalError, match=r"is not an approver"):
        approval.approve(hostile.cfg, hostile, env="production", digest=DIGEST, approver=MALLORY, key=keys[MALLORY])
    approval.store(hostile, signed_by(hostile, MALLORY, keys[MALLORY]))
    with pytest.raises(ApprovalError, match=r"'mallory@example.com' is not an approver of this target"):
        deploy_check(hostile)
    eternal = {**example, "approvals": {**example["approvals"], "max_age_hours": float("inf")}}
    with pytest.raises(ConfigError, match=r"max_age_hours"):
        make(eternal)


def test_separation_of_duties_refuses_the_commits_author(world, keys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    target, _, _ = world
    sha = commit(target, tmp_path / "work", ALICE)
    approval.record_staging_pass(target.records(), OTHER, sha, "run-3", "staging")
    approval.approve(target.cfg, target, env="production", digest=OTHER, approver=ALICE, key=keys[ALICE])
    with pytest.raises(ApprovalError, match=r"alice@example.com wrote the commit"):
        deploy_check(target, OTHER)
    approval.approve(target.cfg, target, env="production", digest=OTHER, approver=BOB, key=keys[BOB])
    assert deploy_check(target, OTHER).approver == BOB  # type: ignore[union-attr]


def test_a_pasted_approval_must_be_the_submitters_own(world, keys) -> None:  # type: ignore[no-untyped-def]
    target, _, _ = world
    signed = approval.approve(
        target.cfg, target, env="production", digest=DIGEST, approver=ALICE, key=keys[ALICE], store_it=False
    )
    assert approval.stored(target, DIGEST) == []  # --print stores nothing
    raw = json.dumps(signed.model_dump())
    with pytest.raises(ApprovalError, match=r"but 'bob@example.com' submitted it"):
        approval.import_signed(target.cfg, target, raw, env="production", digest=DIGEST, submitter=BOB)
    with pytest.raises(ApprovalError, match=r"not JSON"):
        approval.import_signed(target.cfg, target, "not json", env="production", digest=DIGEST, submitter=ALICE)
    approval.import_signed(target.cfg, target, raw, env="production", digest=DIGEST, submitter=ALICE)
    assert deploy_check(target).approver == ALICE  # type: ignore[union-attr]


def test_an_unknown_author_fails_closed(world, keys) -> None:  # type: ignore[no-untyped-def]
    target, _, _ = world
    approval.record_staging_pass(target.records(), OTHER, "e" * 40, "run-4", "staging")  # not in the source copy
    approval.approve(target.cfg, target, env="production", digest=OTHER, approver=ALICE, key=keys[ALICE])
    with pytest.raises(ApprovalError, match=r"who wrote the commit is unknown"):
        deploy_check(target, OTHER)


def test_every_refused_attempt_is_recorded(world, keys) -> None:  # type: ignore[no-untyped-def]
    target, _, _ = world
    for _ in range(2):
        with pytest.raises(ApprovalError):
            deploy_check(target)
    refused = target.records().find(approval.REFUSED, "")
    assert len(refused) == 2 and all(r["digest"] == DIGEST and "no approval" in r["reason"] for r in refused)


def test_rollback_accepts_an_expired_but_genuine_approval(world, keys) -> None:  # type: ignore[no-untyped-def]
    target, _, _ = world
    old = datetime.now(UTC) - timedelta(days=3)
    approval.store(
        target,
        signed_by(
            target,
            ALICE,
            keys[ALICE],
            approved_at=old.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            expires_at=(old + timedelta(hours=24)).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        ),
    )
    with pytest.raises(ApprovalError, match=r"expired"):
        deploy_check(target)
    assert deploy_check(target, rollback=True).approver == ALICE  # type: ignore[union-attr]


def test_unprotected_environments_need_nothing(world) -> None:  # type: ignore[no-untyped-def]
    target, _, _ = world
    assert (
        approval.require(target.cfg, target, "staging", Release(SHA, DIGEST), ["us-east-1"], run_id="r", rollback=False)
        is None
    )
