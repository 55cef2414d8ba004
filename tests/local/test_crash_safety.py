"""What a deploy leaves behind when it is killed, interrupted, raced or torn down, on the real local target
(podman replicas, registries, load balancers), through the real CLI.

Every test ends with both production regions serving one release and no orphan replica. The module's tests
share one stack: production serves release 1, release 2 is staged and approved, and each test tries to roll
release 2 out to production and breaks that rollout in its own way.
"""

from __future__ import annotations

import signal
import subprocess
import time
from typing import Any

import pytest
from local_stack import ALICE, Stack, outcome, wait_for

pytestmark = pytest.mark.integration
PORT_BASE = 26000
REPLICAS = 2


@pytest.fixture(scope="module")
def releases(stack: Stack) -> dict[str, str]:
    """Release 1 in production (both regions), release 2 through staging with an approval."""
    stack.gantry("up")
    stack.gantry("pipeline", "run", *stack.signer(ALICE))
    first = stack.run_record()["digest"]
    stack.new_commit("release 2")
    for stage in (
        ("source",),
        ("build", "--skip-tests"),
        ("push",),
        ("migrate", "--env", "staging"),
        ("deploy", "--env", "staging"),
    ):
        stack.gantry(*stage)
    stack.gantry("smoke", "--env", "staging")
    stack.gantry("approve", *stack.approves(ALICE))
    second = stack.run_record()["digest"]
    assert stack.production() == (first, first) and first != second
    return {"first": first, "second": second}


def new_run(stack: Stack) -> str:
    """A fresh run of the staged commit (nothing rebuilt: release 2 is already published)."""
    for stage in (("source",), ("build",), ("push",)):
        stack.gantry(*stage)
    run_id: str = stack.run_record()["run_id"]
    return run_id


def region_state(stack: Stack, region: str) -> str:
    intent = stack.lease("production").get("intent") or {}
    states = {r["region"]: r["state"] for r in intent.get("regions", [])}
    return str(states.get(region, ""))


def assert_one_release_and_no_orphans(stack: Stack, expected: str) -> None:
    assert stack.production() == (expected, expected)
    for region in ("us-east-1", "us-west-2"):
        assert len(stack.containers(env="production", region=region)) == REPLICAS, f"orphans in {region}"


def notifications_of(stack: Stack, run_id: str) -> list[dict[str, Any]]:
    return [n for n in stack.notifications() if n.get("run_id") == run_id]


KILL_POINTS = {
    "intent recorded": lambda s: region_state(s, "us-east-1") == "rolling",
    "region 1 replicas started": lambda s: len(s.containers(env="production", region="us-east-1")) > REPLICAS,
    "region 1 switched": lambda s: s.serving(s.ports["production"][0]) != s.serving(s.ports["production"][1]),
    "region 2 replicas started": lambda s: len(s.containers(env="production", region="us-west-2")) > REPLICAS,
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_kill_9_anywhere_then_recover_leaves_one_release(stack: Stack, releases: dict[str, str], point: str) -> None:
    run_id = new_run(stack)
    deploy = stack.start("deploy", "--env", "production")
    wait_for(lambda: KILL_POINTS[point](stack), 60, point)
    deploy.send_signal(signal.SIGKILL)
    deploy.wait(10)
    refused = stack.gantry("deploy", "--env", "production", ok=False)
    assert refused.returncode == 1
    assert f"unfinished deploy of {releases['second'][:19]} by run {run_id}" in refused.stderr
    assert "gantry recover --env production" in refused.stderr
    recovered = stack.gantry("recover", "--env", "production")
    assert "->" in recovered.stdout
    assert_one_release_and_no_orphans(stack, releases["first"])
    record = stack.run_record(run_id)
    assert record["result"] in ("failed", "interrupted")  # never left "running"
    sent = notifications_of(stack, run_id)
    assert [n["status"] for n in sent] == ["failure"]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_mid_deploy_rolls_back_then_exits(
    stack: Stack, releases: dict[str, str], signum: signal.Signals, code: int
) -> None:
    run_id = new_run(stack)
    deploy = stack.start("deploy", "--env", "production")
    wait_for(lambda: len(stack.containers(env="production", region="us-west-2")) > REPLICAS, 60, "region 2 rolling")
    deploy.send_signal(signum)
    _, stderr = outcome(deploy, 120)
    assert deploy.returncode == code
    assert "Traceback" not in stderr
    assert [line for line in stderr.splitlines() if line.startswith("interrupted")] == [
        f"interrupted ({signum.name}): any deploy in flight was rolled back"
    ]
    assert_one_release_and_no_orphans(stack, releases["first"])
    assert stack.lease("production")["intent"]["state"] == "finished"
    record = stack.run_record(run_id)
    assert record["stages"][-1]["name"] == "deploy production" and record["stages"][-1]["status"] == "interrupted"
    assert [n["status"] for n in notifications_of(stack, run_id)] == ["aborted"]


def test_the_engine_dying_mid_deploy_ends_on_one_release(stack: Stack, releases: dict[str, str]) -> None:
    """podman's API service killed while region 2 rolls out. Running containers outlive it, so depending on
    the instant the rollout either finishes (gantry restarts the service for what follows) or fails and rolls
    region 1 back; either way one line, no traceback, one release, no orphan."""
    run_id = new_run(stack)
    deploy = stack.start("deploy", "--env", "production")
    wait_for(lambda: region_state(stack, "us-west-2") == "rolling", 60, "region 2 rolling")
    stack.kill("podman-service")
    _, stderr = outcome(deploy, 180)
    assert "Traceback" not in stderr, stderr
    if deploy.returncode == 0:
        assert_one_release_and_no_orphans(stack, releases["second"])
        stack.gantry("rollback", "--env", "production")  # back to release 1 for the tests that follow
    else:
        assert deploy.returncode == 1
        errors = [line for line in stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "us-east-1 rolled back" in errors[0], stderr
        assert [n["status"] for n in notifications_of(stack, run_id)] == ["failure"]
    assert_one_release_and_no_orphans(stack, releases["first"])


def test_two_pipeline_runs_at_once_keep_their_own_records(stack: Stack, releases: dict[str, str]) -> None:
    runs = [stack.start("pipeline", "run", *stack.signer(ALICE)) for _ in range(2)]
    outputs = [run.communicate(timeout=600) for run in runs]
    ids = sorted({n["run_id"] for n in stack.notifications()} - {None})
    records = [stack.run_record(run_id) for run_id in ids[-2:]]
    assert len(records) == 2
    for record, other in ((records[0], records[1]), (records[1], records[0])):
        names = [s["name"] for s in record["stages"]]
        assert len(names) == len(set(names)), f"{record['run_id']} holds another run's stages: {names}"
        assert record["result"] in ("success", "failed")
        sent = notifications_of(stack, record["run_id"])
        assert len(sent) == 1 and sent[0]["status"] == ("success" if record["result"] == "success" else "failure")
        if record["result"] == "failed":
            assert f"being deployed by run {other['run_id']}" in record["error"]
    assert [run.returncode for run in runs].count(0) >= 1, outputs
    east, west = stack.production()
    assert east == west


def test_down_during_a_deploy_cancels_it_and_removes_everything(stack: Stack, releases: dict[str, str]) -> None:
    new_run(stack)
    deploy = stack.start("deploy", "--env", "production", "--force")
    wait_for(lambda: region_state(stack, "us-east-1") == "rolling", 60, "region 1 rolling")
    started = time.monotonic()
    down = stack.gantry("down")
    assert "cancelled the production deploy of run" in down.stdout
    deploy.communicate(timeout=60)
    assert deploy.returncode != 0  # the deploy never reports success over a torn-down target
    assert time.monotonic() - started < 120
    leftovers = subprocess.run(
        ["podman", "ps", "-aq", "--filter", f"label=gantry.home={stack.home}"],
        capture_output=True,
        text=True,
        env=stack.env,
    ).stdout.split()
    assert leftovers == [] and not stack.home.exists()
