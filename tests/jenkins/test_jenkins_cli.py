"""`gantry jenkins deploy|approve|status` against a local Jenkins stand-in.

No Jenkins server distribution is reachable here (not in Debian, PyPI or npm), so these tests run the real
python-jenkins client against tests/jenkins/jenkins_standin.py: an HTTP stand-in on 127.0.0.1 (ports
23000-23999) for the few REST endpoints the commands use. They prove the client side (queue -> build ->
progressive console -> result, input submission as the approver, auth and CSRF crumbs), not Jenkins itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from jenkins_standin import PIPELINE, TOKENS, Plan, StandinServer

from gantry.errors import ConfigError, GantryError
from gantry.jenkins.cli import jenkins

DEPLOY = ["deploy", "--customer", "example", "--service", "cart", "--env", "local", "--poll-seconds", "0.01"]
STAGES = ["[Pipeline] stage (Checkout)", "+ gantry source", "[Pipeline] stage (Build and unit tests)", "+ gantry build"]


def run(*args: str, input_text: str | None = None) -> Result:
    return CliRunner().invoke(jenkins, list(args), input=input_text)


def test_deploy_follows_queue_to_build_streams_console_and_exits_zero(
    standin: StandinServer, as_user: Callable[[str], None], plan: Callable[[str, Plan], None]
) -> None:
    as_user("alice")
    plan(PIPELINE, Plan(lines=list(STAGES), queue_polls=2))
    result = run(*DEPLOY, "--sha", "0123abc")
    assert result.exit_code == 0, result.output
    for line in STAGES:
        assert line in result.output
    assert "Finished: SUCCESS" in result.output
    build = standin.state.builds[PIPELINE][0]
    assert build.parameters == {
        "CUSTOMER": "example",
        "SERVICE": "cart",
        "GANTRY_CONFIG": "environments/example/local.yaml",
        "SHA": "0123abc",
    }
    # The queue item was polled until it had an executable, and every request was authenticated.
    queue_polls = [path for method, path, _ in standin.state.requests if path.startswith("/queue/item/1/")]
    assert len(queue_polls) == 3
    assert {user for _, _, user in standin.state.requests} == {"alice"}


@pytest.mark.parametrize("outcome", ["FAILURE", "UNSTABLE", "ABORTED"])
def test_deploy_exits_non_zero_with_the_build_result(
    as_user: Callable[[str], None], plan: Callable[[str, Plan], None], outcome: str
) -> None:
    as_user("alice")
    plan(PIPELINE, Plan(lines=list(STAGES), result=outcome))
    result = run(*DEPLOY)
    assert isinstance(result.exception, GantryError)
    assert result.exception.exit_code == 1
    assert f"finished {outcome}" in str(result.exception)
    assert f"Finished: {outcome}" in result.output


def test_deploy_waits_through_the_approval_and_finishes_after_it(
    standin: StandinServer, as_user: Callable[[str], None], plan: Callable[[str, Plan], None]
) -> None:
    as_user("alice")
    plan(
        PIPELINE,
        Plan(
            lines=[*STAGES, "+ gantry deploy --env production --region primary"],
            approval_after=4,
            input_message="Image digest: sha256:abc",
        ),
    )
    stop = threading.Event()

    def approver() -> None:  # another person approves from the Jenkins UI while deploy is following
        while not stop.is_set():
            with standin.state.lock:
                builds = standin.state.builds.get(PIPELINE, [])
                if builds and builds[0].input_state == "pending":
                    builds[0].input_state, builds[0].approver = "approved", "bob"
                    return
            time.sleep(0.01)

    thread = threading.Thread(target=approver, daemon=True)
    thread.start()
    try:
        result = run(*DEPLOY)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert result.exit_code == 0, result.output
    output = result.output
    assert output.index("Image digest: sha256:abc") < output.index("--env production") < output.index("Finished")


@pytest.fixture
def signed(tmp_path: Path) -> Path:
    """What `gantry approve --print` wrote (its content is the pipeline's to check, not this command's)."""
    path = tmp_path / "approval.json"
    path.write_text('{"statement": "signed"}\n')
    return path


def _pending_build(standin: StandinServer, plan: Callable[[str, Plan], None]) -> None:
    """Start a build through the stand-in and advance it to its pending approval."""
    plan(PIPELINE, Plan(lines=list(STAGES), approval_after=2, input_message="Image digest: sha256:abc"))
    result = run(*DEPLOY, "--no-follow")
    assert result.exit_code == 0, result.output
    build = standin.state.builds[PIPELINE][0]
    while build.input_state != "pending":
        build.advance()


def test_approve_submits_the_pending_input_as_the_configured_user(
    standin: StandinServer, as_user: Callable[[str], None], plan: Callable[[str, Plan], None], tmp_path: Path
) -> None:
    as_user("alice")
    _pending_build(standin, plan)
    status = run("status", "--customer", "example")
    assert f"{PIPELINE} #1: awaiting approval" in status.output
    signed = tmp_path / "approval.json"
    signed.write_text('{"statement": "signed by alice"}\n')
    result = run("approve", "--customer", "example", "--service", "cart", "--signed", str(signed), "--yes")
    assert result.exit_code == 0, result.output
    assert "Image digest: sha256:abc" in result.output
    assert "approved example-cart-pipeline #1 as alice" in result.output
    build = standin.state.builds[PIPELINE][0]
    assert (build.input_state, build.approver) == ("approved", "alice")
    assert build.answer == {"SIGNED_APPROVAL": '{"statement": "signed by alice"}\n'}  # what the pipeline imports
    posts = [(path, user) for method, path, user in standin.state.requests if method == "POST"]
    assert posts[-1] == (f"/job/{PIPELINE}/1/input/ProductionApproval/submit", "alice")


def test_approving_without_the_signed_statement_is_refused_before_any_request(
    standin: StandinServer, as_user: Callable[[str], None], plan: Callable[[str, Plan], None]
) -> None:
    as_user("alice")
    _pending_build(standin, plan)
    before = len(standin.state.requests)
    result = run("approve", "--customer", "example", "--service", "cart", "--yes")
    assert isinstance(result.exception, ConfigError) and "--signed" in str(result.exception)
    assert len(standin.state.requests) == before and standin.state.builds[PIPELINE][0].input_state == "pending"


def test_approve_asks_for_confirmation_and_a_no_changes_nothing(
    standin: StandinServer, as_user: Callable[[str], None], plan: Callable[[str, Plan], None], signed: Path
) -> None:
    as_user("alice")
    _pending_build(standin, plan)
    result = run(
        "approve",
        "--customer",
        "example",
        "--service",
        "cart",
        "--signed",
        str(signed),
        "--build",
        "1",
        input_text="n\n",
    )
    assert isinstance(result.exception, ConfigError) and "not confirmed" in str(result.exception)
    assert standin.state.builds[PIPELINE][0].input_state == "pending"
    assert [path for method, path, _ in standin.state.requests if method == "POST" and "/input/" in path] == []


def test_someone_outside_the_approvers_group_is_refused(
    standin: StandinServer, as_user: Callable[[str], None], plan: Callable[[str, Plan], None], signed: Path
) -> None:
    as_user("mallory")
    _pending_build(standin, plan)
    result = run("approve", "--customer", "example", "--service", "cart", "--signed", str(signed), "--yes")
    assert isinstance(result.exception, GantryError)
    assert str(result.exception).startswith(f"approve {PIPELINE} #1:") and "refused" in str(result.exception)
    assert standin.state.requests[-1] == ("POST", f"/job/{PIPELINE}/1/input/ProductionApproval/submit", "mallory")
    assert standin.state.builds[PIPELINE][0].input_state == "pending"


def test_reject_aborts_the_build(
    standin: StandinServer, as_user: Callable[[str], None], plan: Callable[[str, Plan], None]
) -> None:
    as_user("bob")
    _pending_build(standin, plan)
    result = run("approve", "--customer", "example", "--service", "cart", "--reject", "--yes")
    assert result.exit_code == 0, result.output
    build = standin.state.builds[PIPELINE][0]
    while build.result is None:
        build.advance()
    assert build.result == "ABORTED"
    assert "Rejected by bob" in build.text


def test_approve_without_a_pending_input_says_so(
    standin: StandinServer, as_user: Callable[[str], None], plan: Callable[[str, Plan], None], signed: Path
) -> None:
    as_user("alice")
    plan(PIPELINE, Plan(lines=list(STAGES)))
    assert run(*DEPLOY).exit_code == 0
    result = run("approve", "--customer", "example", "--service", "cart", "--signed", str(signed), "--yes")
    assert isinstance(result.exception, GantryError)
    assert "not waiting for an approval" in str(result.exception)


def test_status_lists_each_job_with_its_last_result(
    as_user: Callable[[str], None], plan: Callable[[str, Plan], None]
) -> None:
    as_user("alice")
    plan(PIPELINE, Plan(lines=list(STAGES), result="FAILURE"))
    run(*DEPLOY)
    result = run("status", "--customer", "example")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"{PIPELINE} #1: FAILURE", "example-image-rebuild: no builds"]


def test_wrong_token_is_a_one_line_error_that_never_shows_the_token(
    as_user: Callable[[str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    as_user("alice")
    monkeypatch.setenv("JENKINS_API_TOKEN", "wrong-token-d3adb33f")
    result = run("status")
    assert isinstance(result.exception, GantryError)
    message = str(result.exception)
    assert "refused the credentials" in message
    assert "\n" not in message
    assert "wrong-token-d3adb33f" not in message + result.output


def test_unknown_job_names_the_fix(as_user: Callable[[str], None]) -> None:
    as_user("alice")
    result = run("deploy", "--customer", "acme", "--service", "billing", "--env", "local")
    assert isinstance(result.exception, GantryError)
    assert "gantry jenkins sync" in str(result.exception)


def test_tokens_never_reach_output(as_user: Callable[[str], None], plan: Callable[[str, Plan], None]) -> None:
    as_user("alice")
    plan(PIPELINE, Plan(lines=list(STAGES)))
    outputs = [run(*DEPLOY).output, run("status").output]
    for output in outputs:
        assert all(token not in output for token in TOKENS.values())


@pytest.mark.parametrize("args", [["--sha", "not-a-sha"], ["--customer", "Bad Name"]])
def test_arguments_are_validated_before_contacting_jenkins(args: list[str]) -> None:
    base = {
        "--customer": "example",
        "--service": "cart",
        "--env": "local",
        **dict(zip(args[::2], args[1::2], strict=True)),
    }
    flat = [item for pair in base.items() for item in pair]
    result = run("deploy", *flat)
    assert result.exit_code == 2
