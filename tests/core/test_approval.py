"""Approval rules on the real file record store (the one the local target uses)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gantry.errors import ApprovalError
from gantry.records import FileRecordStore
from gantry.stages import approval

DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


@pytest.fixture
def records(tmp_path: Path) -> FileRecordStore:
    return FileRecordStore(tmp_path / "records")


def test_approval_needs_a_staging_pass_of_that_digest(cfg, records) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ApprovalError, match="has not passed staging"):
        approval.approve(cfg, records, approver="alice", digest=DIGEST)
    approval.record_staging_pass(records, DIGEST, "c" * 40, "run-1")
    with pytest.raises(ApprovalError, match="has not passed staging"):
        approval.approve(cfg, records, approver="alice", digest=OTHER)
    value, created = approval.approve(cfg, records, approver="alice", digest=DIGEST, build_url="http://ci/1")
    assert created and value["approver"] == "alice" and value["digest"] == DIGEST and value["sha"] == "c" * 40
    assert approval.require(cfg, records, DIGEST)["approver"] == "alice"


def test_non_approver_is_refused_and_nothing_is_recorded(cfg, records) -> None:  # type: ignore[no-untyped-def]
    approval.record_staging_pass(records, DIGEST, "c" * 40, None)
    with pytest.raises(ApprovalError, match="'mallory' is not an approver"):
        approval.approve(cfg, records, approver="mallory", digest=DIGEST)
    assert records.get(approval.APPROVALS, approval.key(DIGEST)) is None


def test_an_approval_is_never_replaced(cfg, records) -> None:  # type: ignore[no-untyped-def]
    approval.record_staging_pass(records, DIGEST, "c" * 40, None)
    approval.approve(cfg, records, approver="alice", digest=DIGEST)
    value, created = approval.approve(cfg, records, approver="bob", digest=DIGEST)
    assert not created and value["approver"] == "alice"


def test_the_approval_window_closes(cfg, records) -> None:  # type: ignore[no-untyped-def]
    old = time.time() - cfg.approvals.timeout_seconds - 5
    records.create(approval.STAGING_PASSES, approval.key(DIGEST), {"digest": DIGEST, "sha": "c" * 40, "passed_at": old})
    with pytest.raises(ApprovalError, match="approval window for sha256:aaaaaaaaaaaa closed"):
        approval.approve(cfg, records, approver="alice", digest=DIGEST)


def test_production_refuses_missing_stale_or_revoked_approvals(cfg, records) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ApprovalError, match="no approval on record"):
        approval.require(cfg, records, DIGEST)
    stale = time.time() - (cfg.approvals.max_age_hours + 1) * 3600
    records.create(
        approval.APPROVALS, approval.key(DIGEST), {"approver": "alice", "digest": DIGEST, "approved_at": stale}
    )
    with pytest.raises(ApprovalError, match="h old"):
        approval.require(cfg, records, DIGEST)
    records.create(
        approval.APPROVALS, approval.key(OTHER), {"approver": "eve", "digest": OTHER, "approved_at": time.time()}
    )
    with pytest.raises(ApprovalError, match="no longer counts"):
        approval.require(cfg, records, OTHER)


def test_waiting_for_an_approval_times_out(write_config, example, records) -> None:  # type: ignore[no-untyped-def]
    from gantry.config import load_config

    example["approvals"]["timeout_seconds"] = 0.5
    short = load_config(str(write_config(example)))
    started = time.monotonic()
    with pytest.raises(ApprovalError, match=r"no approval for sha256:a{12} within 0\.5 s"):
        approval.wait(short, records, DIGEST, poll_seconds=0.1)
    assert time.monotonic() - started >= 0.5


def test_malformed_digest_is_refused(cfg, records) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ApprovalError, match="is not an image digest"):
        approval.approve(cfg, records, approver="alice", digest="latest")
