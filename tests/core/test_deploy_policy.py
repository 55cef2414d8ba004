"""Cross-region ordering, rollback and recovery policy of gantry.stages.deploy.

Uses an in-memory target for the regions (the policy is pure orchestration over the Target contract, and
this is the only way to fail a chosen region, or interrupt it, deterministically in a unit test) with the
real file leases and records of the local target. The same policy runs against the real local target
(podman, registries, load balancers), kill -9 included, in tests/local."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gantry.approvals import ApprovalPolicy, Protection
from gantry.config import load_config
from gantry.errors import ApprovalError, DeployError, GantryError
from gantry.host.git import Commit
from gantry.leases import Holder, LeaseHeldError
from gantry.records import FileRecordStore
from gantry.stages import admission, deploy
from gantry.stages.interrupts import Interrupted
from gantry.targets.base import Release
from gantry.targets.local.leases import FileLeaseStore

OLD = Release("1" * 40, "sha256:" + "1" * 64)
NEW = Release("2" * 40, "sha256:" + "2" * 64)


class MemoryTarget:
    def __init__(self, root: Path, serving: dict[str, Release | None], failing: set[str]) -> None:
        self.serving = dict(serving)
        self.failing = failing
        self.calls: list[tuple[str, str, bool]] = []
        self.root = root
        self.lease_store = FileLeaseStore(root / "leases")
        self.interrupt: str | None = None
        self.protected = False  # the gate has its own tests (test_approval.py); here only that it runs first
        self.ran: list[dict[str, Any]] = []

    def act_as(self, identity: str | None, run_id: str | None) -> None:
        pass

    def records(self, env: str) -> FileRecordStore:
        return FileRecordStore(self.root / "records" / env)

    @property
    def store(self) -> FileRecordStore:
        return self.records("production")

    def task_definition(self, env: str, region: str, release: Release) -> dict[str, Any]:
        return {"family": f"{env}-{region}", "containerDefinitions": [{"name": "app", "image": f"x@{release.digest}"}]}

    def commits(self, sha: str, since: str | None, signers: str | None, limit: int | None = None) -> list[Commit]:
        return []

    def tagged(self, tag: str) -> str | None:
        return None  # only a protected deploy asks (the gate has its own tests)

    def identity(self, env: str, region: str) -> str:
        return f"memory:{env}:{region}"

    def protection(self, env: str, region: str) -> Protection | None:
        if env != "production" or not self.protected:
            return None
        return Protection(
            identity=self.identity(env, region),
            policy=ApprovalPolicy(allowed_signers="nobody@x.y ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA"),
        )

    def leases(self) -> FileLeaseStore:
        return self.lease_store

    def current_release(self, env: str, region: str) -> Release | None:
        return self.serving.get(region)

    def deploy_region(
        self, env: str, region: str, release: Release, task_definition: dict[str, Any], *, force: bool = False
    ) -> bool:
        self.calls.append((region, release.digest[7:8], force))
        self.ran.append(task_definition)
        if region in self.failing and release == NEW:
            raise DeployError(f"{region} failed its health check")
        if region == self.interrupt and release == NEW:
            raise Interrupted(15)  # SIGTERM in the middle of this region (it restores itself: nothing changes)
        changed = force or self.serving.get(region) != release
        self.serving[region] = release
        return changed


@pytest.fixture
def open_cfg(write_config, example):  # type: ignore[no-untyped-def]
    """The example with production unprotected (the loud setting): these tests are about ordering, not the gate."""
    data = example
    data["approvals"].update(protected=[], allow_unprotected_production=True)
    return load_config(str(write_config(data, "open.yaml")))


@pytest.fixture
def target(tmp_path: Path, cfg) -> MemoryTarget:  # type: ignore[no-untyped-def]
    return MemoryTarget(tmp_path, {"us-east-1": OLD, "us-west-2": OLD}, set())


def deploy_environment(target: MemoryTarget, cfg, env: str, release: Release, **kwargs):  # type: ignore[no-untyped-def]
    kwargs.setdefault("run_id", "run-1")
    return deploy.deploy_environment(target, cfg, env, release, command=f"deploy {env}", **kwargs)


def test_production_goes_region_by_region_in_order(open_cfg, target) -> None:  # type: ignore[no-untyped-def]
    outcomes = deploy_environment(target, open_cfg, "production", NEW)
    assert [o.region for o in outcomes] == ["us-east-1", "us-west-2"]
    assert target.calls == [("us-east-1", "2", False), ("us-west-2", "2", False)]


def test_region_two_failing_rolls_region_one_back(open_cfg, target) -> None:  # type: ignore[no-untyped-def]
    target.failing = {"us-west-2"}
    with pytest.raises(DeployError) as caught:
        deploy_environment(target, open_cfg, "production", NEW)
    assert "us-east-1 rolled back to sha256:111111111111" in str(caught.value)
    assert target.serving == {"us-east-1": OLD, "us-west-2": OLD}
    assert target.calls[-1] == ("us-east-1", "1", True)


def test_first_deploy_cannot_roll_back_and_says_so(open_cfg, target) -> None:  # type: ignore[no-untyped-def]
    target.serving = {"us-east-1": None, "us-west-2": None}
    target.failing = {"us-west-2"}
    with pytest.raises(DeployError, match="us-east-1 keeps the new release"):
        deploy_environment(target, open_cfg, "production", NEW)
    assert target.serving == {"us-east-1": NEW, "us-west-2": None}
    assert not any(force for _, _, force in target.calls)  # nothing was rolled back


def test_no_region_moves_without_an_approval(cfg, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bare = MemoryTarget(tmp_path / "other", {"us-east-1": OLD, "us-west-2": OLD}, set())
    bare.protected = True
    with pytest.raises(ApprovalError, match="no approval on record"):
        deploy_environment(bare, cfg, "production", NEW)
    with pytest.raises(ApprovalError, match="no approval on record"):
        deploy_environment(bare, cfg, "production", NEW, regions=["us-west-2"])
    assert bare.calls == []
    assert len(bare.store.find(admission.REFUSED, "")) == 2  # both attempts are on record


def test_staging_needs_no_approval(cfg, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bare = MemoryTarget(tmp_path / "other", {}, set())
    bare.protected = True
    deploy_environment(bare, cfg, "staging", NEW)
    assert bare.calls == [("us-east-1", "2", False)]


def test_an_interrupt_rolls_back_what_moved_then_propagates(open_cfg, target) -> None:  # type: ignore[no-untyped-def]
    target.interrupt = "us-west-2"
    with pytest.raises(Interrupted):
        deploy_environment(target, open_cfg, "production", NEW)
    assert target.serving == {"us-east-1": OLD, "us-west-2": OLD}
    assert target.calls[-1] == ("us-east-1", "1", True)
    assert target.leases().peek("production").intent.state == "finished"  # type: ignore[union-attr]


def test_region_by_region_steps_of_one_run_share_the_intent(open_cfg, target) -> None:  # type: ignore[no-untyped-def]
    """Jenkins deploys one region per step: a failure in the second step rolls back the first step's region."""
    deploy_environment(target, open_cfg, "production", NEW, regions=["us-east-1"])
    target.failing = {"us-west-2"}
    with pytest.raises(DeployError, match="us-east-1 rolled back"):
        deploy_environment(target, open_cfg, "production", NEW, regions=["us-west-2"])
    assert target.serving == {"us-east-1": OLD, "us-west-2": OLD}


def test_a_second_deploy_while_one_runs_fails_at_once_naming_it(open_cfg, target) -> None:  # type: ignore[no-untyped-def]
    holder = Holder.me("run-other", "deploy production")
    lease = target.leases().acquire("production", holder)
    try:
        with pytest.raises(LeaseHeldError, match="being deployed by run run-other"):
            deploy_environment(target, open_cfg, "production", NEW)
    finally:
        lease.release()
    assert target.calls == []


def test_an_unfinished_deploy_blocks_the_next_until_recovered(open_cfg, target) -> None:  # type: ignore[no-untyped-def]
    """What a SIGKILL leaves: region 1 moved, region 2 half done, the intent open."""
    deploy_environment(target, open_cfg, "production", NEW, regions=["us-east-1"], run_id="run-killed")
    lease = target.leases().acquire("production", Holder.me("run-killed", "deploy production"))
    intent = lease.found.intent
    intent.region("us-west-2").state = "rolling"  # type: ignore[union-attr]
    lease.save(intent)  # type: ignore[arg-type]
    lease.release()
    with pytest.raises(GantryError, match=r"unfinished deploy .* by run run-killed.*gantry recover --env production"):
        deploy_environment(target, open_cfg, "production", NEW, run_id="run-next")
    actions = deploy.recover(target, open_cfg, "production", run_id="run-recover")
    assert sorted(actions) == ["us-east-1 -> sha256:111111111111", "us-west-2 -> sha256:111111111111"]
    assert target.serving == {"us-east-1": OLD, "us-west-2": OLD}
    assert target.leases().peek("production").intent.state == "recovered"  # type: ignore[union-attr]
    deploy_environment(target, open_cfg, "production", NEW, run_id="run-next")  # the environment is usable again
    assert target.serving == {"us-east-1": NEW, "us-west-2": NEW}


def test_a_run_whose_own_deploy_was_killed_must_recover_too(open_cfg, target) -> None:  # type: ignore[no-untyped-def]
    """Jenkins retrying the same run's step after its agent died: the intent is this run's, but its holder
    never released the lease, so nobody knows how far the region got."""
    lease = target.leases().acquire("production", Holder.me("run-1", "deploy production"))
    intent = deploy._intent(target, open_cfg, lease, "run-1", "production", NEW, None)
    intent.region("us-east-1").state = "rolling"
    lease.save(intent)
    lease._lock.release()  # what SIGKILL leaves: the kernel drops the lock, the file still names the holder
    with pytest.raises(GantryError, match="unfinished deploy"):
        deploy_environment(target, open_cfg, "production", NEW, run_id="run-1")
    assert target.calls == []


def _forge_intent(target: MemoryTarget, cfg, release: Release, approval_hash: str | None) -> None:  # type: ignore[no-untyped-def]
    """What someone who can write the lease (the local user; on aws, production's own role) leaves behind: an
    open intent rolling production forward to `release`, region 1 half done."""
    lease = target.leases().acquire("production", Holder.me("run-forged", "deploy production"))
    intent = deploy._intent(target, cfg, lease, "run-forged", "production", release, approval_hash)
    intent.region("us-east-1").state = "rolling"
    intent.region("us-east-1").previous = None
    lease.save(intent)
    lease.release()


def test_recover_will_not_roll_production_forward_to_an_unapproved_release(cfg, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A forged intent names a digest that passed staging but was never approved: recover refuses to roll forward
    to it (the intent's approval does not verify) and changes nothing."""
    bare = MemoryTarget(tmp_path / "forged", {"us-east-1": OLD, "us-west-2": OLD}, set())
    bare.protected = True
    _forge_intent(bare, cfg, NEW, None)
    with pytest.raises(ApprovalError, match=r"recover would roll production forward to sha256:222222222222"):
        deploy.recover(bare, cfg, "production", run_id="run-recover")  # type: ignore[arg-type]
    assert bare.calls == []
    _forge_intent_hash = "0" * 64
    bare2 = MemoryTarget(tmp_path / "forged2", {"us-east-1": OLD, "us-west-2": OLD}, set())
    bare2.protected = True
    _forge_intent(bare2, cfg, NEW, _forge_intent_hash)
    with pytest.raises(ApprovalError, match=r"names no approval on record"):
        deploy.recover(bare2, cfg, "production", run_id="run-recover")  # type: ignore[arg-type]
    assert bare2.calls == []


def test_recover_rolls_back_only_to_releases_the_target_ran(cfg, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The intent's "previous" is whatever its writer put there: recover returns a protected target only to a
    release with a steady-state record of that target."""
    bare = MemoryTarget(tmp_path / "back", {"us-east-1": NEW, "us-west-2": NEW}, set())
    bare.protected = True
    lease = bare.leases().acquire("production", Holder.me("run-forged", "deploy production"))
    intent = deploy._intent(bare, cfg, lease, "run-forged", "production", NEW, None)
    intent.region("us-east-1").state = "rolling"
    intent.region("us-east-1").previous = deploy.ref(OLD)  # never ran here
    lease.save(intent)
    lease.release()
    with pytest.raises(ApprovalError, match=r"never ran to steady state"):
        deploy.recover(bare, cfg, "production", run_id="run-recover")  # type: ignore[arg-type]
    assert bare.calls == []
    admission.record_release(bare, "production", bare.identity("production", "us-east-1"), OLD, "run-0", None)  # type: ignore[arg-type]
    assert deploy.recover(bare, cfg, "production", run_id="run-recover") == ["us-east-1 -> sha256:111111111111"]  # type: ignore[arg-type]


def test_every_deploy_runs_exactly_the_task_definition_it_checked(open_cfg, target) -> None:  # type: ignore[no-untyped-def]
    deploy_environment(target, open_cfg, "production", NEW)
    assert [t["family"] for t in target.ran] == ["production-us-east-1", "production-us-west-2"]
    assert all(t["containerDefinitions"][0]["image"].endswith(NEW.digest) for t in target.ran)
