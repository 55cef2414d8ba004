"""Maintenance approvals through `gantry maintenance approve|check`: what the ansible-maintenance job runs before a
playbook touches production. Real SSH signatures (ssh-keygen -Y), real file records and the local target's own
protection, without starting any process."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from gantry import approvals
from gantry.cli import cli
from gantry.config import load_config
from gantry.errors import ApprovalError, ConfigError
from gantry.host import sshsig
from gantry.stages import approval, operations
from gantry.targets.base import Release
from gantry.targets.local import protection
from gantry.targets.local.target import LocalTarget

ROOT = Path(__file__).resolve().parents[2]

ALICE, BOB, MALLORY = "alice@example.com", "bob@example.com", "mallory@example.com"
DIGEST = "sha256:" + "a" * 64


@dataclass
class World:
    config: Path
    target: LocalTarget
    sha: str  # a commit by someone who does not approve
    tmp: Path

    def gantry(self, *args: str) -> Result:
        return CliRunner().invoke(cli, ["--config", str(self.config), *args])

    def request(self, sha: str | None = None, playbook: str = "patch.yml", limit: str = "web:&eu") -> list[str]:
        return ["--env", "production", "--playbook", playbook, "--limit", limit, "--sha", sha or self.sha]

    def printed(self, who: str, key: Path, **request: Any) -> Path:
        """`gantry maintenance approve --print` on the approver's machine, saved as the paste Jenkins writes."""
        result = self.gantry(
            "maintenance", "approve", *self.request(**request), "--approver", who, "--key", str(key), "--print"
        )
        assert result.exit_code == 0, result.output
        paste = self.tmp / f"paste-{len(list(self.tmp.glob('paste-*')))}.json"
        paste.write_text(result.output)
        return paste

    def stored(self) -> list[dict[str, Any]]:
        return self.target.records("production").find(approval.APPROVALS, "")


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("keys")
    found = {}
    for who in (ALICE, BOB, MALLORY):
        private = directory / who.split("@")[0]
        sshsig.generate(private, who)
        found[who] = private
    return found


def commit(target: LocalTarget, work: Path, author: str) -> str:
    """A commit by `author` in the primary region's source copy (where separation of duties looks)."""
    repo = target.layout.source_repo("us-east-1")
    if not repo.exists():
        subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
    identity = ["-c", f"user.email={author}", "-c", "user.name=x"]
    subprocess.run(["git", "-C", str(work), *identity, "commit", "-q", "--allow-empty", "-m", author], check=True)
    sha = subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    branch = f"HEAD:refs/heads/{author.split('@', maxsplit=1)[0]}"
    subprocess.run(["git", "-C", str(work), "push", "-q", "-f", str(repo), branch], check=True)
    return sha


@pytest.fixture
def world(tmp_path: Path, keys: dict[str, Path], example: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> World:
    """A local target whose production is protected; alice and bob may approve, mallory may not."""
    monkeypatch.setenv("GANTRY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GANTRY_ROOT", str(tmp_path / "work"))
    monkeypatch.delenv("GANTRY_RUN_ID", raising=False)
    work = tmp_path / "work"
    for path in (
        "services/cart/service.yaml",
        "services/cart/Dockerfile",
        "services/cart/task-definition.json.tpl",
        "config/health-checks.yaml",
    ):
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text((ROOT / path).read_text())
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    subprocess.run(["git", "-C", str(work), "add", "-A"], check=True)
    (work / "allowed_signers").write_text(
        "".join(sshsig.allowed_signer_line(p, keys[p].with_suffix(".pub").read_text()) for p in (ALICE, BOB))
    )
    example["approvals"].update(allowed_signers="allowed_signers", demo_signer=None)
    config = tmp_path / "env.yaml"
    config.write_text(yaml.safe_dump(example))
    target = LocalTarget(load_config(str(config)))
    protection.ensure_all(target.layout)  # what `gantry up` makes: each load balancer's id and protection
    return World(config, target, commit(target, work, "dev@example.com"), tmp_path)


def test_an_allowed_signers_approval_is_imported_and_checked(world: World, keys: dict[str, Path]) -> None:
    before = world.gantry("maintenance", "check", *world.request())
    assert isinstance(before.exception, ApprovalError)
    assert "no maintenance approval on record for patch.yml in production" in str(before.exception)

    paste = world.printed(ALICE, keys[ALICE])
    assert world.stored() == []  # --print stores nothing
    statement = approvals.SignedApproval.model_validate(json.loads(paste.read_text())).parse()
    assert statement.approver == ALICE
    assert isinstance(statement.subject, approvals.MaintenanceSubject)
    assert (statement.subject.playbook, statement.subject.limit, statement.subject.sha) == (
        "patch.yml",
        "web:&eu",
        world.sha,
    )
    assert set(statement.subject.targets) == {
        world.target.identity("production", r) for r in ("us-east-1", "us-west-2")
    }

    imported = world.gantry("maintenance", "approve", *world.request(), "--import", str(paste), "--submitter", ALICE)
    assert imported.exit_code == 0, imported.output
    assert imported.output == f"stored the approval of {ALICE}\n"
    assert len(world.stored()) == 1

    checked = world.gantry("maintenance", "check", *world.request(), "--submitter", ALICE)
    assert checked.exit_code == 0, checked.output
    assert checked.output.startswith(f"approved by {ALICE} until ")
    # An empty paste (the approver stored it with `approve` themselves) is checked, not imported.
    empty = world.tmp / "empty.json"
    empty.write_text("\n")
    again = world.gantry("maintenance", "approve", *world.request(), "--import", str(empty), "--submitter", ALICE)
    assert again.exit_code == 0, again.output
    assert again.output.startswith(f"approved by {ALICE} until ")


def statement_for(world: World, approver: str) -> approvals.Statement:
    """The statement `gantry maintenance approve` writes for this run."""
    policy, subject = operations._maintenance(
        world.target.cfg, world.target, "production", "patch.yml", "web:&eu", world.sha
    )
    return approvals.new_statement(customer="example", subject=subject, approver=approver, policy=policy)


def sign(statement: approvals.Statement, key: Path) -> approvals.SignedApproval:
    """Signed with `key`, whoever the statement names (what an attacker with a key of their own can do)."""
    text = statement.canonical()
    return approvals.SignedApproval(statement=text, signature=sshsig.sign(text.encode(), key))


def test_a_forged_approval_is_refused(world: World, keys: dict[str, Path]) -> None:
    # mallory signs with her own key a statement naming alice, as `gantry maintenance approve` would write it.
    forged = sign(statement_for(world, ALICE), keys[MALLORY])
    paste = world.tmp / "forged.json"
    paste.write_text(json.dumps(forged.model_dump()))
    result = world.gantry("maintenance", "approve", *world.request(), "--import", str(paste), "--submitter", ALICE)
    assert isinstance(result.exception, ApprovalError)
    assert "the signature is not 'alice@example.com''s" in str(result.exception)
    assert world.stored() == []

    approval.store(world.target, "production", forged)  # written straight into the records
    check = world.gantry("maintenance", "check", *world.request())
    assert isinstance(check.exception, ApprovalError)
    assert "no valid maintenance approval for patch.yml in production: the signature is not" in str(check.exception)

    # Signing for alice with another key, or as someone the target does not list, fails before anything is made.
    claimed = world.gantry("maintenance", "approve", *world.request(), "--approver", ALICE, "--key", str(keys[MALLORY]))
    assert "is not a key the target lists for alice@example.com" in str(claimed.exception)
    herself = world.gantry(
        "maintenance", "approve", *world.request(), "--approver", MALLORY, "--key", str(keys[MALLORY])
    )
    assert "'mallory@example.com' is not an approver for production" in str(herself.exception)


@pytest.mark.parametrize(
    ("signed_for", "reason"),
    [
        ({"playbook": "restart-service.yml"}, "it approves restart-service.yml on 'web:&eu'"),
        ({"limit": "all"}, "it approves patch.yml on 'all'"),
        ({"sha": "other"}, "it approves patch.yml on 'web:&eu' at "),
    ],
)
def test_an_approval_of_another_playbook_limit_or_commit_is_refused(
    world: World, keys: dict[str, Path], signed_for: dict[str, str], reason: str
) -> None:
    if signed_for.get("sha") == "other":
        signed_for = {"sha": commit(world.target, world.tmp / "work", "dev@example.com")}
    paste = world.printed(ALICE, keys[ALICE], **signed_for)
    result = world.gantry("maintenance", "approve", *world.request(), "--import", str(paste), "--submitter", ALICE)
    assert isinstance(result.exception, ApprovalError)
    assert reason in str(result.exception)
    assert world.stored() == []
    # Stored anyway (by whoever can write records) it still opens nothing for this run.
    approval.store(world.target, "production", approvals.SignedApproval.model_validate(json.loads(paste.read_text())))
    check = world.gantry("maintenance", "check", *world.request())
    assert isinstance(check.exception, ApprovalError)


def test_an_approval_for_other_targets_is_refused(world: World, keys: dict[str, Path]) -> None:
    """Signed by alice for another instance of production (the one before a `gantry down`, say)."""
    statement = statement_for(world, ALICE)
    elsewhere = ["local:example:us-east-1:lb-production:18080:0000000000000000"]
    moved = statement.model_copy(update={"subject": statement.subject.model_copy(update={"targets": elsewhere})})
    paste = world.tmp / "elsewhere.json"
    paste.write_text(json.dumps(sign(moved, keys[ALICE]).model_dump()))
    result = world.gantry("maintenance", "approve", *world.request(), "--import", str(paste), "--submitter", ALICE)
    assert isinstance(result.exception, ApprovalError)
    assert "it is for other targets" in str(result.exception)
    assert world.stored() == []


def test_the_approval_must_be_the_submitters_own(world: World, keys: dict[str, Path]) -> None:
    paste = world.printed(ALICE, keys[ALICE])
    result = world.gantry("maintenance", "approve", *world.request(), "--import", str(paste), "--submitter", BOB)
    assert "it is alice@example.com's, but 'bob@example.com' submitted it" in str(result.exception)
    assert world.stored() == []


def test_a_deploy_approval_does_not_open_maintenance(
    world: World, keys: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # No registry runs here: the commit's published image (the registry's tag) is stood in.
    monkeypatch.setattr(world.target, "tagged", lambda tag: DIGEST if tag == world.sha else None)
    approval.record_staging_pass(world.target, Release(world.sha, DIGEST), "run-1", "staging", dirty=False)
    deploy = approval.approve(
        world.target.cfg,
        world.target,
        env="production",
        digest=DIGEST,
        approver=ALICE,
        key=keys[ALICE],
        store_it=False,
    )
    paste = world.tmp / "deploy.json"
    paste.write_text(json.dumps(deploy.model_dump()))
    result = world.gantry("maintenance", "approve", *world.request(), "--import", str(paste), "--submitter", ALICE)
    assert "it approves something else, not patch.yml on 'web:&eu'" in str(result.exception)


def test_the_author_of_the_commit_cannot_approve_running_it(world: World, keys: dict[str, Path]) -> None:
    sha = commit(world.target, world.tmp / "work", ALICE)
    own = world.printed(ALICE, keys[ALICE], sha=sha)
    result = world.gantry("maintenance", "approve", *world.request(sha), "--import", str(own), "--submitter", ALICE)
    assert "alice@example.com authored or committed a commit of this change" in str(result.exception)
    other = world.printed(BOB, keys[BOB], sha=sha)
    accepted = world.gantry("maintenance", "approve", *world.request(sha), "--import", str(other), "--submitter", BOB)
    assert accepted.exit_code == 0, accepted.output


@pytest.mark.parametrize(
    ("args", "refusal", "reason"),
    [
        (["--env", "staging"], ApprovalError, "no target of staging is protected: maintenance there needs no approval"),
        (["--env", "prod"], ConfigError, "unknown environment 'prod'"),
        (["--sha", "abc123"], ConfigError, "'abc123' is not a commit"),
        (["--playbook", "../../site.yml"], ConfigError, "invalid maintenance request: playbook: '../../site.yml'"),
        (["--limit", "web;reboot"], ConfigError, "invalid maintenance request: limit: 'web;reboot'"),
    ],
)
def test_requests_that_cannot_be_approved(world: World, args: list[str], refusal: type[Exception], reason: str) -> None:
    request = world.request()
    for option, value in zip(args[::2], args[1::2], strict=True):
        request[request.index(option) + 1] = value
    result = world.gantry("maintenance", "check", *request)
    assert isinstance(result.exception, refusal), result.exception
    assert reason in str(result.exception) and "pydantic.dev" not in str(result.exception)
