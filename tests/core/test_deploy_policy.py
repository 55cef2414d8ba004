"""Cross-region ordering and rollback policy of gantry.stages.deploy.

Uses an in-memory target: the policy is pure orchestration over the Target contract, and this is the only
way to fail a chosen region deterministically in a unit test. The same policy runs against the real local
target (podman, registries, nginx) in tests/local/test_pipeline.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from gantry.errors import ApprovalError, DeployError
from gantry.records import FileRecordStore
from gantry.stages import approval
from gantry.stages.deploy import deploy_environment
from gantry.targets.base import Release

OLD = Release("1" * 40, "sha256:" + "1" * 64)
NEW = Release("2" * 40, "sha256:" + "2" * 64)


class MemoryTarget:
    def __init__(self, root: Path, serving: dict[str, Release | None], failing: set[str]) -> None:
        self.serving = dict(serving)
        self.failing = failing
        self.calls: list[tuple[str, str, bool]] = []
        self.store = FileRecordStore(root)

    def records(self) -> FileRecordStore:
        return self.store

    def current_release(self, env: str, region: str) -> Release | None:
        return self.serving.get(region)

    def deploy_region(self, env: str, region: str, release: Release, *, force: bool = False) -> bool:
        self.calls.append((region, release.digest[7:8], force))
        if region in self.failing and release == NEW:
            raise DeployError(f"{region} failed its health check")
        changed = force or self.serving.get(region) != release
        self.serving[region] = release
        return changed


@pytest.fixture
def target(tmp_path: Path, cfg) -> MemoryTarget:  # type: ignore[no-untyped-def]
    made = MemoryTarget(tmp_path, {"us-east-1": OLD, "us-west-2": OLD}, set())
    approval.record_staging_pass(made.store, NEW.digest, NEW.sha, None)
    approval.approve(cfg, made.store, approver="alice", digest=NEW.digest)
    return made


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


def test_no_region_moves_without_an_approval(cfg, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bare = MemoryTarget(tmp_path / "other", {"us-east-1": OLD, "us-west-2": OLD}, set())
    with pytest.raises(ApprovalError):
        deploy_environment(bare, cfg, "production", NEW)
    with pytest.raises(ApprovalError):
        deploy_environment(bare, cfg, "production", NEW, regions=["us-west-2"])
    assert bare.calls == []


def test_staging_needs_no_approval(cfg, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bare = MemoryTarget(tmp_path / "other", {}, set())
    deploy_environment(bare, cfg, "staging", NEW)
    assert bare.calls == [("us-east-1", "2", False)]
