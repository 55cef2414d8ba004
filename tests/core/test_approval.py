"""The production gate, attacked. Real SSH signatures (ssh-keygen -Y), real git history, real file records, and the
real local target's protection and task-definition rendering (kept with each load balancer, rendered from the
commit in the region's source copy), without starting any process: each test plays someone trying to get an
image, a task definition or a commit into a protected target without a valid approval of exactly that."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from gantry import approvals
from gantry.config import load_config
from gantry.errors import ApprovalError, ConfigError, DeployError
from gantry.host import sshsig
from gantry.jsonfile import CorruptState
from gantry.stages import admission, approval, change
from gantry.targets.base import Release
from gantry.targets.local import protection
from gantry.targets.local.target import LocalTarget

ROOT = Path(__file__).resolve().parents[2]
DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64
ALICE, BOB, MALLORY, DEV = "alice@example.com", "bob@example.com", "mallory@example.com", "dev@example.com"
TEMPLATE = "services/cart/task-definition.json.tpl"
SERVICE = ("services/cart/service.yaml", "services/cart/Dockerfile", TEMPLATE)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("keys")
    return {
        who: directory / who.split("@")[0]
        for who in (ALICE, BOB, MALLORY, DEV)
        if sshsig.generate(directory / who.split("@")[0], who)
    }


def allowed(keys: dict[str, Path], *people: str) -> str:
    return "".join(sshsig.allowed_signer_line(p, keys[p].with_suffix(".pub").read_text()) for p in people)


class World:
    """A checkout on branch main (GANTRY_ROOT), the local target's primary source copy, and its protected
    production; alice and bob may approve; DIGEST passed staging as a build of the checkout's head.

    No registry runs in this suite: which digest each commit was published as (the registry's immutable tag,
    `Target.tagged`) is a dictionary `stage` fills. tests/local runs the same checks against real
    registries."""

    def __init__(self, tmp: Path, keys: dict[str, Path], example: dict[str, Any]) -> None:
        self.tmp, self.keys, self.example = tmp, keys, example
        self.published: dict[str, str] = {}  # tag (commit) -> digest
        self.work = tmp / "work"
        for path in (*SERVICE, "config/health-checks.yaml"):
            (self.work / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / path, self.work / path)
        subprocess.run(["git", "init", "-q", "-b", "main", str(self.work)], check=True)
        (self.work / ".git" / "info" / "exclude").write_text("allowed_signers\nmallory_signers\ncommitters\n")
        (self.work / "allowed_signers").write_text(allowed(keys, ALICE, BOB))
        example["approvals"].update(allowed_signers="allowed_signers", demo_signer=None)
        self.config = tmp / "env.yaml"
        self.config.write_text(yaml.safe_dump(example))
        self.target = self.make()
        self.source = self.target.layout.source_repo("us-east-1")
        subprocess.run(["git", "init", "-q", "--bare", str(self.source)], check=True)
        self.sha = self.commit(DEV, add=True)

    def make(self, data: dict[str, Any] | None = None) -> LocalTarget:
        path = self.config
        if data is not None:
            path = self.tmp / "other.yaml"
            path.write_text(yaml.safe_dump(data))
        target = LocalTarget(load_config(str(path)))
        protection.ensure_all(target.layout)  # what `gantry up` makes: each load balancer's id and protection
        target.tagged = self.published.get  # type: ignore[method-assign]
        return target

    def commit(self, author: str, *, committer: str | None = None, add: bool = False, text: str = "") -> str:
        """A commit on main by `author`, pushed to the primary source copy; returns its sha."""
        if text:
            (self.work / TEMPLATE).write_text(text)
        if add or text:
            subprocess.run(["git", "-C", str(self.work), "add", "-A"], check=True)
        env = {
            "GIT_AUTHOR_NAME": "a",
            "GIT_AUTHOR_EMAIL": author,
            "GIT_COMMITTER_NAME": "c",
            "GIT_COMMITTER_EMAIL": committer or author,
            "PATH": "/usr/bin:/bin",
        }
        subprocess.run(
            ["git", "-C", str(self.work), "commit", "-q", "--allow-empty", "-m", f"by {author}"], check=True, env=env
        )
        return self.push()

    def push(self) -> str:
        sha = self.git("rev-parse", "HEAD")
        subprocess.run(["git", "-C", str(self.work), "push", "-q", "-f", str(self.source), "HEAD:refs/heads/main"])
        return sha

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(self.work), *args], check=True, capture_output=True, text=True
        ).stdout.strip()

    def stage(self, digest: str = DIGEST, sha: str | None = None, *, dirty: bool = False) -> None:
        release = Release(sha or self.sha, digest)
        self.published.setdefault(release.sha, digest)
        approval.record_staging_pass(self.target, release, "run-1", "staging", dirty=dirty)

    def check(self, digest: str = DIGEST, *, sha: str | None = None, rollback: bool = False, target: Any = None):  # type: ignore[no-untyped-def]
        return admission.require(
            (target or self.target).cfg,
            target or self.target,
            "production",
            Release(sha or self.sha, digest),
            ["us-east-1", "us-west-2"],
            run_id="r",
            rollback=rollback,
        )

    def approve(self, who: str = ALICE, digest: str = DIGEST, **kwargs: Any) -> approvals.SignedApproval:
        return approval.approve(
            self.target.cfg, self.target, env="production", digest=digest, approver=who, key=self.keys[who], **kwargs
        )

    def store_signed(self, statement: dict[str, Any], who: str) -> None:
        """`statement` (as JSON data) signed with `who`'s key and stored, as hand-made tooling would."""
        text = approvals.Statement.model_validate(statement).canonical()
        signature = sshsig.sign(text.encode(), self.keys[who])
        approval.store(self.target, "production", approvals.SignedApproval(statement=text, signature=signature))

    def signed_by(self, who: str, key: Path, **changes: Any) -> approvals.SignedApproval:
        """A statement as `gantry approve` makes it for alice, then changed (an attacker edits it) and signed."""
        proposal = approval.propose(self.target.cfg, self.target, env="production", digest=DIGEST, approver=ALICE)
        data = json.loads(proposal.statement.canonical())
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

    def records(self) -> Any:
        return self.target.records("production")


@pytest.fixture
def world(tmp_path: Path, keys: dict[str, Path], example: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("GANTRY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GANTRY_ROOT", str(tmp_path / "work"))
    made = World(tmp_path, keys, example)
    made.stage()
    return made


def test_a_listed_approver_with_their_own_key_opens_the_gate(world: World) -> None:
    with pytest.raises(ApprovalError, match=r"no approval on record"):
        world.check()
    world.approve()
    admitted = world.check()
    assert admitted is not None and admitted.approver == ALICE
    statement = approval.stored(world.target, "production", approval.digest_key(DIGEST))[0].parse()
    subject = statement.subject
    assert isinstance(subject, approvals.DeploySubject)
    assert set(subject.targets) == {world.target.identity("production", r) for r in ("us-east-1", "us-west-2")}
    assert subject.sha == world.sha and subject.service == "cart" and subject.since is None


def test_anyone_can_claim_a_name_but_not_sign_for_it(world: World) -> None:
    with pytest.raises(ApprovalError, match=r"is not a key the target lists for alice@example.com"):
        approval.approve(
            world.target.cfg, world.target, env="production", digest=DIGEST, approver=ALICE, key=world.keys[MALLORY]
        )
    approval.store(world.target, "production", world.signed_by(ALICE, world.keys[MALLORY]))
    with pytest.raises(ApprovalError, match=r"the signature is not 'alice@example.com'"):
        world.check()


def test_a_hand_written_or_malformed_record_opens_nothing(world: World) -> None:
    records = world.records()
    records.create(approval.APPROVALS, approval.digest_key(DIGEST) + "--forged", {"approver": ALICE, "digest": DIGEST})
    records.create(approval.APPROVALS, approval.digest_key(DIGEST) + "--junk", {"statement": "{", "signature": "x"})
    with pytest.raises(ApprovalError, match=r"no approval on record|no valid approval"):
        world.check()


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
        ({"subject__task_definition": "0" * 64}, "not the approved one"),
        ({"subject__exceptions": ["privileged"]}, "approves the task-definition exceptions"),
        ({"subject__service": "billing"}, "approves service billing"),
        ({"subject__sha": "f" * 40}, "who wrote the change is unknown"),
    ],
)
def test_a_listed_key_signing_something_else_is_refused(world: World, changes: dict[str, Any], reason: str) -> None:
    signed = world.signed_by(ALICE, world.keys[ALICE], **changes)
    # Stored under this digest's name, whatever it says inside: the checks, not the key, must refuse it.
    world.records().create(approval.APPROVALS, approval.digest_key(DIGEST) + "--attempt", signed.model_dump())
    with pytest.raises(ApprovalError, match=reason):
        world.check()


def test_non_numbers_and_times_without_zone_are_not_statements(world: World) -> None:
    for changes in ({"approved_at": "nan"}, {"approved_at": "2026-12-01T10:00:00"}):
        signed = world.signed_by(ALICE, world.keys[ALICE], **changes)
        with pytest.raises(ApprovalError, match=r"malformed|time zone"):
            approvals.check(
                signed,
                world.target.protection("production", "us-east-1").policy,  # type: ignore[union-attr]
                sshsig.verify,
                now=datetime.now(UTC),
                customer="example",
                environment="production",
                targets=[],
            )


def test_an_old_approval_does_not_open_a_new_digest(world: World) -> None:
    world.approve()
    world.stage(OTHER)
    with pytest.raises(ApprovalError, match=r"no approval on record for sha256:bbbbbbbbbbbb"):
        world.check(OTHER)


@pytest.mark.parametrize("digest", [DIGEST[:19], DIGEST.upper(), DIGEST.replace("sha256:", "SHA256:"), DIGEST + " "])
def test_a_digest_is_matched_in_full_and_exactly(world: World, digest: str) -> None:
    world.approve()
    with pytest.raises(ApprovalError, match=r"is not an image digest"):
        world.check(digest)
    with pytest.raises(ApprovalError, match=r"is not an image digest"):
        world.approve(digest=digest)


@pytest.mark.parametrize(
    "name", ["alice@example.com ", "alice @example.com", "alice@example.com\n", "\x1b[31malice", "[red]x[/]@a.b"]
)
def test_approver_names_with_spaces_control_or_markup_are_refused(world: World, name: str) -> None:
    with pytest.raises(ConfigError, match=r"is not an approver identity") as refused:
        approval.approve(
            world.target.cfg, world.target, env="production", digest=DIGEST, approver=name, key=world.keys[ALICE]
        )
    assert "\n" not in str(refused.value) and "\x1b" not in str(refused.value)


def test_a_10_kb_approver_is_refused_without_echoing_it(world: World) -> None:
    with pytest.raises(ConfigError, match=r"is not an approver identity") as refused:
        approval.approve(
            world.target.cfg,
            world.target,
            env="production",
            digest=DIGEST,
            approver="a" * 10_000,
            key=world.keys[ALICE],
        )
    assert len(str(refused.value)) < 200


def test_the_targets_own_policy_counts_not_the_file_of_whoever_runs(world: World) -> None:
    """mallory edits the environment file: adds her key, unprotects production, makes approvals eternal."""
    world.target.protection("production", "us-east-1")  # the load balancer exists (gantry up) and keeps its policy
    world.target.protection("production", "us-west-2")
    example = world.example
    (world.work / "mallory_signers").write_text(allowed(world.keys, MALLORY))
    edited = {**example, "approvals": {**example["approvals"], "allowed_signers": "mallory_signers"}}
    hostile = world.make(edited)
    approval.store(hostile, "production", world.signed_by(MALLORY, world.keys[MALLORY]))
    with pytest.raises(ApprovalError, match=r"'mallory@example.com' is not an approver of this target"):
        world.check(target=hostile)
    unprotected = {**example, "approvals": {**example["approvals"], "protected": []}}
    with pytest.raises(ConfigError, match=r"production must be protected"):
        world.make(unprotected)
    loud = {**example, "approvals": {**example["approvals"], "protected": [], "allow_unprotected_production": True}}
    assert world.make(loud).protection("production", "us-east-1") is not None  # the load balancer's copy holds
    eternal = {**example, "approvals": {**example["approvals"], "max_age_hours": float("inf")}}
    with pytest.raises(ConfigError, match=r"max_age_hours"):
        world.make(eternal)


def test_a_protected_environment_without_protection_fails_closed(world: World) -> None:
    """The load balancer lost its protection file (or, on aws, the service its tags): refused, not unprotected."""
    world.target.protection("production", "us-east-1")
    (world.target.layout.lb("us-west-2", "production") / "protection.json").parent.mkdir(parents=True, exist_ok=True)
    original = approval.protections
    calls = []

    def without_west(env: str, region: str) -> Any:
        calls.append(region)
        return None if region == "us-west-2" else world.target.__class__.protection(world.target, env, region)

    world.target.protection = without_west  # type: ignore[method-assign]
    with pytest.raises(ApprovalError, match=r"production in us-west-2 must be protected .* carries no protection"):
        original(world.target.cfg, world.target, "production", ["us-east-1", "us-west-2"])
    assert "us-west-2" in calls


def test_wildcard_and_certificate_authority_signers_are_refused(world: World) -> None:
    key = world.keys[MALLORY].with_suffix(".pub").read_text().split()
    for line, reason in (
        (f"*@example.com {key[0]} {key[1]}", "wildcards"),
        (f"alice@example.com,!bob@example.com {key[0]} {key[1]}", "wildcards"),
        (f"alice@example.com cert-authority {key[0]} {key[1]}", "cert-authority"),
    ):
        with pytest.raises(ValueError, match=reason):
            approvals.ApprovalPolicy(allowed_signers=line + "\n")
        assert approvals.ApprovalPolicy(allowed_signers=line + "\n", allow_wildcard_signers=True).lists(ALICE)


def test_separation_of_duties_refuses_every_author_and_committer_of_the_change(world: World) -> None:
    """alice adds a commit on top of dev's (or commits dev's work under dev's name): she may not approve."""
    for sha in (world.commit(ALICE), world.commit(DEV, committer=ALICE)):
        world.stage(OTHER if sha != world.sha else DIGEST, sha)
    world.stage(OTHER, world.git("rev-parse", "HEAD"))
    with pytest.raises(ApprovalError, match=r"alice@example.com authored or committed a commit of this change"):
        world.approve(ALICE, OTHER)
    # Signed by alice all the same (her tooling skipped the check) and stored: the deploy check refuses it.
    proposal = approval.propose(world.target.cfg, world.target, env="production", digest=OTHER, approver=BOB)
    forged = json.loads(proposal.statement.canonical())
    forged["approver"] = ALICE
    world.store_signed(forged, ALICE)
    with pytest.raises(ApprovalError, match=r"alice@example.com authored or committed"):
        world.check(OTHER, sha=world.git("rev-parse", "HEAD"))
    # ... nor by shrinking the change she is checked against: a statement whose `since` is the release itself
    # ("nothing new") or any commit after what production runs.
    for since in (forged["subject"]["sha"], world.git("rev-parse", "HEAD~1")):
        world.store_signed({**forged, "subject": {**forged["subject"], "since": since}}, ALICE)
        with pytest.raises(ApprovalError, match=r"the change must start at what runs|runs nothing in"):
            world.check(OTHER, sha=world.git("rev-parse", "HEAD"))
    world.approve(BOB, OTHER)
    assert world.check(OTHER, sha=world.git("rev-parse", "HEAD")).approver == BOB  # type: ignore[union-attr]


@pytest.mark.parametrize("split", ["primary ahead", "primary empty"])
def test_a_production_split_between_releases_is_approved_from_the_oldest_commit_it_runs(
    world: World, monkeypatch: pytest.MonkeyPatch, split: str
) -> None:
    """A failed secondary left production on two commits (or the primary runs nothing yet): the change starts
    where both are covered, the approver signs it, and the deploy accepts exactly that."""
    old, ahead = world.sha, world.commit(DEV)
    new = world.commit(DEV)
    running = {
        "primary ahead": {"us-east-1": Release(ahead, OTHER), "us-west-2": Release(old, DIGEST)},
        "primary empty": {"us-east-1": None, "us-west-2": Release(old, DIGEST)},
    }[split]
    monkeypatch.setattr(world.target, "current_release", lambda env, region: running[region])
    third = "sha256:" + "c" * 64
    world.stage(third, new)
    signed = world.approve(BOB, third)
    since = approvals.Statement.model_validate_json(signed.statement).subject.since  # type: ignore[union-attr]
    assert since == (old if split == "primary ahead" else None)
    assert world.check(third, sha=new).approver == BOB  # type: ignore[union-attr]


def test_a_release_agent_checks_the_clicking_approvers_own_stored_approval(world: World) -> None:
    """An empty paste on a release agent (a new run, no record yet): the approval on record must be the
    submitter's own, even when another approver's is valid too; the run takes its release from it."""
    from gantry.stages.pipeline import Pipeline

    world.approve(BOB)
    world.approve(ALICE)
    agent = Pipeline(world.target.cfg, world.target, world.work, "release-run-1")
    assert agent.check_approval("production", ALICE, DIGEST).approver == ALICE
    assert (agent.record().sha, agent.record().digest) == (world.sha, DIGEST)
    with pytest.raises(ApprovalError, match=r"no approval of sha256:aaaaaaaaaaaa by mallory@example.com"):
        Pipeline(world.target.cfg, world.target, world.work, "release-run-2").check_approval(
            "production", MALLORY, DIGEST
        )


def test_committers_must_sign_with_their_listed_key_where_configured(world: World, tmp_path: Path) -> None:
    committers = tmp_path / "work" / "committers"
    # git signs commits in the "git" namespace: the committers' list names the key without a namespace limit.
    committers.write_text(
        f"{DEV} {world.keys[DEV].with_suffix('.pub').read_text().split(' ')[0]} "
        f"{world.keys[DEV].with_suffix('.pub').read_text().split(' ')[1]}\n"
    )
    example = {**world.example, "approvals": {**world.example["approvals"], "committers_allowed_signers": "committers"}}
    target = world.make(example)
    with pytest.raises(ApprovalError, match=r"is unsigned: every commit must be signed by its committer"):
        approval.approve(target.cfg, target, env="production", digest=DIGEST, approver=ALICE, key=world.keys[ALICE])
    for signer, verdict in ((MALLORY, "is (bad signature|signed by an unlisted key)"), (DEV, None)):
        world.git("config", "gpg.format", "ssh")
        world.git("config", "user.signingkey", str(world.keys[signer]))
        world.git("config", "user.email", DEV)
        world.git("config", "user.name", "dev")
        world.git("commit", "-q", "--amend", "--no-edit", "-S", "--reset-author")
        sha = world.push()
        world.stage(OTHER if signer == MALLORY else "sha256:" + "c" * 64, sha)
        digest = OTHER if signer == MALLORY else "sha256:" + "c" * 64
        if verdict:
            with pytest.raises(ApprovalError, match=verdict):
                approval.approve(
                    target.cfg, target, env="production", digest=digest, approver=ALICE, key=world.keys[ALICE]
                )
        else:
            approval.approve(target.cfg, target, env="production", digest=digest, approver=ALICE, key=world.keys[ALICE])


def test_a_dirty_build_or_a_commit_off_the_protected_branch_never_reaches_production(world: World) -> None:
    world.stage(OTHER, dirty=True)
    with pytest.raises(ApprovalError, match=r"built from uncommitted changes"):
        world.approve(digest=OTHER)
    world.git("checkout", "-q", "-b", "feature")
    feature = world.commit(DEV)
    world.git("checkout", "-q", "main")
    subprocess.run(["git", "-C", str(world.work), "push", "-q", str(world.source), "feature"], check=True)
    third = "sha256:" + "c" * 64
    world.stage(third, feature)
    with pytest.raises(ApprovalError, match=r"is not on main .* merged to the protected branch"):
        world.approve(digest=third)


def test_a_staging_pass_naming_another_commits_image_is_refused(world: World) -> None:
    """Someone who can write staging's records (the staging role) records a pass saying a feature branch's
    image was built from the protected branch's head: the registry's tag for that commit names another image."""
    world.git("checkout", "-q", "-b", "feature")
    feature = world.commit(DEV)
    world.git("checkout", "-q", "main")
    world.published[feature] = OTHER  # what the feature's pipeline pushed, tagged with its own commit
    world.published[world.sha] = DIGEST  # the protected head's own build
    approval.record_staging_pass(world.target, Release(world.sha, OTHER), "forged", "staging", dirty=False)
    with pytest.raises(ApprovalError, match=r"is not the image published for commit"):
        world.approve(digest=OTHER)
    # Signed all the same by tooling that skipped the check (or while the registry was made to agree): the
    # deploy asks the registry again.
    world.published[world.sha] = OTHER
    approval.approve(
        world.target.cfg, world.target, env="production", digest=OTHER, approver=ALICE, key=world.keys[ALICE]
    )
    assert world.check(OTHER) is not None
    world.published[world.sha] = DIGEST
    with pytest.raises(ApprovalError, match=r"is not the image published for commit"):
        world.check(OTHER)


def test_the_approval_binds_the_task_definition_that_runs(world: World) -> None:
    """Approved, then the service's settings change (more memory): the deploy renders another task definition and
    is refused until someone approves that one."""
    world.approve()
    contract = world.work / "services/cart/service.yaml"
    contract.write_text(contract.read_text().replace("memory: 256", "memory: 512"))
    changed = world.make()
    with pytest.raises(ApprovalError, match=r"is not the approved one"):
        world.check(target=changed)


def test_a_privileged_or_host_mounting_template_is_refused_unless_the_environment_allows_it(world: World) -> None:
    template = json.loads(
        (world.work / TEMPLATE)
        .read_text()
        .replace("${cpu}", "1")
        .replace("${memory}", "1")
        .replace("${container_port}", "80")
    )
    template["containerDefinitions"][0]["privileged"] = True
    template["volumes"] = [{"name": "root", "host": {"sourcePath": "/"}}]
    text = json.dumps(template).replace('"cpu": 1', '"cpu": ${cpu}').replace('"memory": 1', '"memory": ${memory}')
    text = text.replace('"containerPort": 80', '"containerPort": ${container_port}')
    sha = world.commit(DEV, text=text)
    world.stage(OTHER, sha)
    with pytest.raises(ApprovalError, match=r"breaks gantry's task-definition policy \(host-volumes"):
        world.approve(digest=OTHER)
    allowed_env = json.loads(json.dumps(world.example))
    allowed_env["environments"]["production"]["task_definition_exceptions"] = ["privileged", "host-volumes"]
    lenient = world.make(allowed_env)
    approval.approve(lenient.cfg, lenient, env="production", digest=OTHER, approver=ALICE, key=world.keys[ALICE])
    assert world.check(OTHER, sha=sha, target=lenient) is not None
    with pytest.raises(ApprovalError, match=r"approves the task-definition exceptions"):
        world.check(OTHER, sha=sha)  # the environment no longer allows it: the approval no longer holds
    from gantry.stages import deploy

    with pytest.raises(DeployError, match=r"breaks gantry's task-definition policy \(host-volumes"):
        deploy.task_definitions(world.target, world.target.cfg, "staging", Release(sha, OTHER), ["us-east-1"])


def test_a_pasted_approval_must_be_the_submitters_own(world: World) -> None:
    signed = world.approve(store_it=False)
    assert approval.stored(world.target, "production", approval.digest_key(DIGEST)) == []  # --print stores nothing
    raw = json.dumps(signed.model_dump())
    with pytest.raises(ApprovalError, match=r"but 'bob@example.com' submitted it"):
        approval.import_signed(world.target.cfg, world.target, raw, env="production", digest=DIGEST, submitter=BOB)
    with pytest.raises(ApprovalError, match=r"not JSON"):
        approval.import_signed(world.target.cfg, world.target, "nope", env="production", digest=DIGEST, submitter=ALICE)
    approval.import_signed(world.target.cfg, world.target, raw, env="production", digest=DIGEST, submitter=ALICE)
    assert world.check().approver == ALICE  # type: ignore[union-attr]


def test_an_unknown_commit_fails_closed(world: World) -> None:
    world.stage(OTHER, "e" * 40)  # not in the source copy
    with pytest.raises(ApprovalError, match=r"not on main|is not in commit"):
        world.approve(digest=OTHER)


def test_every_refused_attempt_is_recorded(world: World) -> None:
    for _ in range(2):
        with pytest.raises(ApprovalError):
            world.check()
    refused = world.records().find(admission.REFUSED, "")
    assert len(refused) == 2 and all(r["digest"] == DIGEST and "no approval" in r["reason"] for r in refused)


def _ran(world: World, days_ago: float, signed: approvals.SignedApproval) -> None:
    """The records a deploy leaves once the release reached steady state on both production targets."""
    for region in ("us-east-1", "us-west-2"):
        identity = world.target.identity("production", region)
        admission.record_release(world.target, "production", identity, Release(world.sha, DIGEST), "r", signed.digest)
        path = world.target.layout.records / "production" / "releases"
        for record in path.glob("*.json"):
            data = json.loads(record.read_text())
            data["steady_at"] = (datetime.now(UTC) - timedelta(days=days_ago)).timestamp()
            record.write_text(json.dumps(data))


def test_rollback_goes_only_to_a_release_the_target_ran_within_the_maximum_age(world: World) -> None:
    old = datetime.now(UTC) - timedelta(days=3)
    expired = world.signed_by(
        ALICE,
        world.keys[ALICE],
        approved_at=old.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        expires_at=(old + timedelta(hours=24)).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
    )
    approval.store(world.target, "production", expired)
    with pytest.raises(ApprovalError, match=r"expired"):
        world.check()
    with pytest.raises(ApprovalError, match=r"never ran sha256:aaaaaaaaaaaa to steady state"):
        world.check(rollback=True)
    _ran(world, 3, expired)
    assert world.check(rollback=True).approver == ALICE  # type: ignore[union-attr]
    _ran(world, 45, expired)  # approvals.rollback_max_age_days is 30
    with pytest.raises(ApprovalError, match=r"more than 30 days ago"):
        world.check(rollback=True)


def test_unprotected_environments_need_nothing(world: World) -> None:
    release = Release(world.sha, DIGEST)
    cfg = world.target.cfg
    assert admission.require(cfg, world.target, "staging", release, ["us-east-1"], run_id="r", rollback=False) is None


def test_the_change_lists_every_commit_since_what_production_runs(world: World) -> None:
    first = world.sha
    second, third = world.commit(BOB), world.commit(DEV, committer=MALLORY)
    found = change.commits(world.target.cfg, world.target, third, first)
    assert [c.sha for c in found] == [third, second]
    assert {c.author for c in found} | {c.committer for c in found} == {BOB, DEV, MALLORY}
    with pytest.raises(Exception, match=r"commit id"):
        change.commits(world.target.cfg, world.target, "--output=/tmp/x", first)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"passed_at": "yesterday"}, "passed_at"),
        ({"passed_at": float("inf")}, "passed_at"),
        ({"sha": "zz"}, "sha"),
        ({"note": "added by hand"}, "note"),
    ],
)
def test_a_staging_pass_gantry_did_not_write_is_refused_naming_it(
    world: World, change: dict[str, Any], field: str
) -> None:
    """A damaged or edited staging pass opens no approval window: one line naming it, nothing signed."""
    world.stage()
    path = world.target.layout.records / "staging" / approval.STAGING_PASSES / f"{DIGEST.replace(':', '-')}.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    with pytest.raises(CorruptState, match=rf"the staging pass of sha256:.* is not one gantry wrote \({field}"):
        world.approve()
    assert world.target.records("production").find(approval.APPROVALS, "") == []
