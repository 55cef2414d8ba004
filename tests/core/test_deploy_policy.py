"""Cross-region ordering, rollback and recovery policy of gantry.stages.deploy.

Uses an in-memory target for the regions (the policy is pure orchestration over the Target contract, and
this is the only way to fail a chosen region, or interrupt it, deterministically in a unit test) with the
real file leases and records of the local target. The same policy runs against the real local target
(podman, registries, load balancers), kill -9 included, in tests/local."""

from __future__ import annotations

from pathlib import Path

import pytest

from gantry.approvals import ApprovalPolicy, Protection
from gantry.errors import ApprovalError, DeployError, GantryError
from gantry.leases import Holder, LeaseHeldError
from gantry.records import FileRecordStore
from gantry.stages import approval, deploy
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
        self.store = FileRecordStore(root / "records")
        self.lease_store = FileLeaseStore(root / "leases")
        self.interrupt: str | None = None
        self.protected = False  # the gate has its own tests (test_approval.py); here only that it runs first

    def records(self) -> FileRecordStore:
        return self.store

    def identity(self, env: str, region: str) -> str:
        return f"memory:{env}:{region}"

    def protection(self, env: str, region: str) -> Protection | None:
        if env != "production" or not self.protected:
            return None
        return Protection(identity=self.identity(env, region), policy=ApprovalPolicy(allowed_signers="nobody@x.y k"))

    def commit_author(self, sha: str) -> str | None:
        return None

    def leases(self) -> FileLeaseStore:
        return self.lease_store

    def current_release(self, env: str, region: str) -> Release | None:
        return self.serving.get(region)

    def deploy_region(self, env: str, region: str, release: Release, *, force: bool = False) -> bool:
        self.calls.append((region, release.digest[7:8], force))
        if region in self.failing and release == NEW:
            raise DeployError(f"{region} failed its health check")
        if region == self.interrupt and release == NEW:
            raise Interrupted(15)  # SIGTERM in the middle of this region (it restores itself: nothing changes)
        changed = force or self.serving.get(region) != release
        self.serving[region] = release
        return changed


@pytest.fixture
def target(tmp_path: Path, cfg) -> MemoryTarget:  # type: ignore[no-untyped-def]
    return MemoryTarget(tmp_path, {"us-east-1": OLD, "us-west-2": OLD}, set())


def deploy_environment(target: MemoryTarget, cfg, env: str, release: Release, **kwargs):  # type: ignore[no-untyped-def]
    kwargs.setdefault("run_id", "run-1")
    return deploy.deploy_environment(target, cfg, env, release, command=f"deploy {env}", **kwargs)  # type: ignore[arg-type]


def test_production_goes_region_by_region_in_order(cfg, target) -> None:  # type: ignore[no-untyped-def]
    outcomes = deploy_environment(target, cfg, "production", NEW)
    assert [o.region for o in outcomes] == ["us-east-1", "us-west-2"]
    assert target.calls == [("us-east-1", "2", False), ("us-west-2", "2", False)]


def test_region_two_failing_rolls_region_one_back(cfg, target) -> None:  # type: ignore[no-untyped-def]
    target.failing = {"us-west-2"}
    with pytest.raises(DeployError) as caught:
        deploy_environment(target, cfg, "production", NEW)
    assert "us-east-1 rolled back to sha256:111111111111" in str(caught.value)
    assert target.serving == {"us-east-1": OLD, "us-west-2": OLD}
    assert target.calls[-1] == ("us-east-1", "1", True)


def test_first_deploy_cannot_roll_back_and_says_so(cfg, target) -> None:  # type: ignore[no-untyped-def]
    target.serving = {"us-east-1": None, "us-west-2": None}
    target.failing = {"us-west-2"}
    with pytest.raises(DeployError, match="us-east-1 keeps the new release"):
        deploy_environment(target, cfg, "production", NEW)
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
    assert len(bare.store.find(approval.REFUSED, "")) == 2  # both attempts are on record


def test_staging_needs_no_approval(cfg, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bare = MemoryTarget(tmp_path / "other", {}, set())
    bare.protected = True
    deploy_environment(bare, cfg, "staging", NEW)
    assert bare.calls == [("us-east-1", "2", False)]


def test_an_interrupt_rolls_back_what_moved_then_propagates(cfg, target) -> None:  # type: ignore[no-untyped-def]
    target.interrupt = "us-west-2"
    with pytest.raises(Interrupted):
        deploy_environment(target, cfg, "production", NEW)
    assert target.serving == {"us-east-1": OLD, "us-west-2": OLD}
    assert target.calls[-1] == ("us-east-1", "1", True)
    assert target.leases().peek("production").intent.state == "finished"  # type: ignore[union-attr]


def test_region_by_region_steps_of_one_run_share_the_intent(cfg, target) -> None:  # type: ignore[no-untyped-def]
    """Jenkins deploys one region per step: a failure in the second step rolls back the first step's region."""
    deploy_environment(target, cfg, "production", NEW, regions=["us-east-1"])
    target.failing = {"us-west-2"}
    with pytest.raises(DeployError, match="us-east-1 rolled back"):
        deploy_environment(target, cfg, "production", NEW, regions=["us-west-2"])
    assert target.serving == {"us-east-1": OLD, "us-west-2": OLD}


def test_a_second_deploy_while_one_runs_fails_at_once_naming_it(cfg, target) -> None:  # type: ignore[no-untyped-def]
    holder = Holder.me("run-other", "deploy production")
    lease = target.leases().acquire("production", holder)
    try:
        with pytest.raises(LeaseHeldError, match="being deployed by run run-other"):
            deploy_environment(target, cfg, "production", NEW)
    finally:
        lease.release()
    assert target.calls == []


def test_an_unfinished_deploy_blocks_the_next_until_recovered(cfg, target) -> None:  # type: ignore[no-untyped-def]
    """What a SIGKILL leaves: region 1 moved, region 2 half done, the intent open."""
    deploy_environment(target, cfg, "production", NEW, regions=["us-east-1"], run_id="run-killed")
    lease = target.leases().acquire("production", Holder.me("run-killed", "deploy production"))
    intent = lease.found.intent
    intent.region("us-west-2").state = "rolling"  # type: ignore[union-attr]
    lease.save(intent)  # type: ignore[arg-type]
    lease.release()
    with pytest.raises(GantryError, match=r"unfinished deploy .* by run run-killed.*gantry recover --env production"):
        deploy_environment(target, cfg, "production", NEW, run_id="run-next")
    actions = deploy.recover(target, cfg, "production", run_id="run-recover")  # type: ignore[arg-type]
    assert sorted(actions) == ["us-east-1 -> sha256:111111111111", "us-west-2 -> sha256:111111111111"]
    assert target.serving == {"us-east-1": OLD, "us-west-2": OLD}
    assert target.leases().peek("production").intent.state == "recovered"  # type: ignore[union-attr]
    deploy_environment(target, cfg, "production", NEW, run_id="run-next")  # the environment is usable again
    assert target.serving == {"us-east-1": NEW, "us-west-2": NEW}


def test_a_run_whose_own_deploy_was_killed_must_recover_too(cfg, target) -> None:  # type: ignore[no-untyped-def]
    """Jenkins retrying the same run's step after its agent died: the intent is this run's, but its holder
    never released the lease, so nobody knows how far the region got."""
    lease = target.leases().acquire("production", Holder.me("run-1", "deploy production"))
    intent = deploy._intent(target, cfg, lease, "run-1", "production", NEW)
    intent.region("us-east-1").state = "rolling"
    lease.save(intent)
    lease._lock.release()  # what SIGKILL leaves: the kernel drops the lock, the file still names the holder
    with pytest.raises(GantryError, match="unfinished deploy"):
        deploy_environment(target, cfg, "production", NEW, run_id="run-1")
    assert target.calls == []
