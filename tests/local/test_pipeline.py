"""The local target end to end, through the real CLI, real podman replicas, registries, HAProxy, Prometheus.

The tests in this module run in order and share one stack (module fixture): each builds on the releases
the previous ones shipped, the way a team's day goes.
"""

from __future__ import annotations

import json
import socket
import subprocess

import pytest
import requests
from local_stack import ALICE, BOB, MALLORY, PORTS, Stack

pytestmark = pytest.mark.integration
PROD_EAST, PROD_WEST = PORTS["production"]
STAGING = PORTS["staging"]


def registry_digest(port: int, tag: str) -> str | None:
    response = requests.head(
        f"http://127.0.0.1:{port}/v2/example/cart/manifests/{tag}",
        timeout=5,
        headers={
            "Accept": "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
        },
    )
    return response.headers.get("Docker-Content-Digest") if response.ok else None


def ship_to_staging(stack: Stack) -> dict:  # type: ignore[type-arg]
    for stage in (
        ("source",),
        ("build",),
        ("push",),
        ("migrate", "--env", "staging"),
        ("deploy", "--env", "staging"),
        ("smoke", "--env", "staging"),
    ):
        stack.gantry(*stage)
    return stack.run_record()


def test_engine_unreachable_is_one_clear_line(stack: Stack) -> None:
    result = stack.gantry("up", ok=False, extra_env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert result.returncode == 1
    assert "no container engine answers at DOCKER_HOST=unix:///nonexistent/docker.sock" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_port_already_taken_names_the_setting(stack: Stack) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", PORTS["prometheus"]))
        squatter.listen()
        result = stack.gantry("up", ok=False)
    assert result.returncode == 1
    assert f"port {PORTS['prometheus']} for Prometheus is already taken" in result.stderr
    assert "local.prometheus_port" in result.stderr
    stack.gantry("up")  # idempotent: starts only what is missing


def test_pipeline_ships_to_both_regions(stack: Stack) -> None:
    result = stack.gantry("pipeline", "run", *stack.signer(ALICE))
    record = stack.run_record()
    assert record["result"] == "success"
    digest, sha = record["digest"], record["sha"]
    assert (
        sha
        == subprocess.run(
            ["git", "-C", str(stack.repo), "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
    )
    # Replication: the same manifest digest in both regions' registries.
    assert registry_digest(PORTS["registries"][0], sha) == digest == registry_digest(PORTS["registries"][1], sha)
    for port in (STAGING, PROD_EAST, PROD_WEST):
        version = requests.get(f"http://127.0.0.1:{port}/version", timeout=5).json()
        assert version["digest"] == digest and version["sha"] == sha
    assert record["approval"]["approver"] == ALICE
    targets = sorted(record["approval"]["targets"])  # bound to both production load balancers, and only them
    assert [t.split(":")[2:4] for t in targets] == [["us-east-1", "lb-production"], ["us-west-2", "lb-production"]]
    assert [s["name"] for s in record["stages"]] == [
        "source",
        "mirror source",
        "base image",
        "build",
        "push and replicate",
        "migrate staging",
        "deploy staging",
        "smoke staging",
        "approve",
        "migrate production",
        "deploy production",
        "smoke production",
        "verify production",
    ]
    assert f"http://127.0.0.1:{PROD_WEST}" in result.stdout
    inbox = stack.home / "monitoring/inbox/notifications.jsonl"
    event = json.loads(inbox.read_text().splitlines()[-1])["body"]
    assert event["status"] == "success" and event["digest"] == digest and event["approver"] == ALICE


def test_second_run_changes_nothing(stack: Stack) -> None:
    before = stack.serving(PROD_EAST)
    stack.gantry("pipeline", "run", *stack.signer(BOB))
    record = stack.run_record()
    details = {s["name"]: s["detail"] for s in record["stages"]}
    assert "nothing to build" in details["build"]
    assert details["deploy production"] == "us-east-1 unchanged, us-west-2 unchanged"
    assert "approval check" in details and "approve" not in details  # the valid approval is reused
    assert record["approval"]["approver"] == ALICE
    assert stack.serving(PROD_EAST) == before


def test_unknown_environment_or_region_exit_2(stack: Stack) -> None:
    result = stack.gantry("deploy", "--env", "prod", ok=False)
    assert result.returncode == 2 and "unknown environment 'prod'" in result.stderr
    result = stack.gantry("deploy", "--env", "staging", "--region", "us-west-2", ok=False)
    assert result.returncode == 2 and "does not run in region 'us-west-2'" in result.stderr


def test_production_needs_a_signed_approval_of_that_digest(stack: Stack) -> None:
    live = stack.serving(PROD_EAST)
    stack.new_commit("v2")
    for stage in (("source",), ("build",), ("push",), ("deploy", "--env", "staging")):
        stack.gantry(*stage)
    digest = stack.run_record()["digest"]
    refused = stack.gantry("deploy", "--env", "production", ok=False)
    assert refused.returncode == 1 and "no approval on record" in refused.stderr
    not_staged = stack.gantry("approve", *stack.approves(ALICE), ok=False)
    assert not_staged.returncode == 1 and "has not passed staging" in not_staged.stderr
    stack.gantry("smoke", "--env", "staging")
    intruder = stack.gantry("approve", *stack.approves(MALLORY), ok=False)
    assert intruder.returncode == 1 and "'mallory@example.com' is not an approver for production" in intruder.stderr
    impostor = stack.gantry("approve", "--approver", ALICE, "--key", str(stack.keys[MALLORY]), "--yes", ok=False)
    assert impostor.returncode == 1 and "is not a key the target lists for alice@example.com" in impostor.stderr
    wrong = stack.gantry("approve", *stack.approves(ALICE), "--digest", "sha256:" + "0" * 64, ok=False)
    assert wrong.returncode == 1 and "has not passed staging" in wrong.stderr
    assert stack.serving(PROD_EAST) == live == stack.serving(PROD_WEST)
    stack.gantry("approve", *stack.approves(ALICE))
    stack.gantry("deploy", "--env", "production")
    assert stack.serving(PROD_EAST) == digest == stack.serving(PROD_WEST)


def test_approval_window_times_out(stack: Stack) -> None:
    stack.new_commit("v3")
    ship_to_staging(stack)
    quick = stack.with_changes("quick.yaml", timeout_seconds=0.5)
    import time

    time.sleep(1)
    late = stack.gantry("approve", *stack.approves(ALICE), ok=False, config=quick)
    assert late.returncode == 1 and "approval window" in late.stderr and "closed" in late.stderr
    waited = stack.gantry("pipeline", "run", ok=False, config=quick)  # no --approver: waits, then times out
    assert waited.returncode == 1 and "no valid approval for" in waited.stderr
    assert stack.run_record()["result"] == "failed"


def test_broken_image_is_rolled_back(stack: Stack) -> None:
    staging_before = stack.serving(STAGING)
    api = (stack.repo / "services/cart/cart/api.py").read_text()
    healthy = 'return jsonify(status="ok", database={"role": health.role, "latency_ms": health.latency_ms})'
    broken = api.replace(healthy, 'return jsonify(status="broken"), 500')
    assert broken != api
    stack.commit("services/cart/cart/api.py", broken, "break healthz")
    for stage in (("source",), ("build", "--skip-tests"), ("push",)):
        stack.gantry(*stage)
    failed = stack.gantry("deploy", "--env", "staging", ok=False)
    assert failed.returncode == 1
    assert "failed its health check" in failed.stderr and "rolled back" in failed.stderr
    assert stack.serving(STAGING) == staging_before
    bad = stack.run_record()["digest"]
    leftovers = subprocess.run(
        ["podman", "ps", "-aq", "--filter", f"label=gantry.digest={bad}"], capture_output=True, text=True, env=stack.env
    ).stdout.split()
    assert leftovers == []
    assert stack.run_record()["stages"][-1] == {**stack.run_record()["stages"][-1], "status": "failed"}
    stack.commit("services/cart/cart/api.py", api, "fix healthz")


def test_region_two_failure_rolls_region_one_back(stack: Stack) -> None:
    before = stack.serving(PROD_EAST)
    stack.new_commit("v4")
    ship_to_staging(stack)
    stack.gantry("approve", *stack.approves(BOB))
    stack.kill("registry-us-west-2")  # region 2 cannot pull the new image
    failed = stack.gantry("deploy", "--env", "production", ok=False)
    assert failed.returncode == 1
    assert "us-west-2" in failed.stderr and "us-east-1 rolled back to" in failed.stderr
    assert stack.serving(PROD_EAST) == before == stack.serving(PROD_WEST)
    stack.gantry("up")  # the registry comes back with its data
    stack.gantry("deploy", "--env", "production")
    assert stack.serving(PROD_EAST) == stack.run_record()["digest"] == stack.serving(PROD_WEST)


def test_registry_down_during_push_loses_nothing(stack: Stack) -> None:
    """The secondary registry dies after the primary push: replication fails, the run keeps its record and
    no digest, and `gantry push` after `gantry up` completes the same image in both regions."""
    stack.new_commit("v5")
    stack.gantry("source")
    stack.gantry("build")
    stack.kill("registry-us-west-2")
    failed = stack.gantry("push", ok=False)
    assert failed.returncode == 1
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "127.0.0.1:25002" in errors[0] and "run `gantry up`" in errors[0]
    record = stack.run_record()
    assert record["stages"][-1]["name"] == "push and replicate" and record["stages"][-1]["status"] == "failed"
    assert record["digest"] is None, failed.stderr
    assert registry_digest(PORTS["registries"][0], record["sha"]) is not None  # the primary push happened
    stack.gantry("up")
    stack.gantry("push")
    record = stack.run_record()
    assert registry_digest(PORTS["registries"][0], record["sha"]) == record["digest"]
    assert registry_digest(PORTS["registries"][1], record["sha"]) == record["digest"]


def test_mirror_refuses_a_copy_that_rejects_pushes(stack: Stack) -> None:
    hook = stack.home / "regions/us-west-2/source.git/hooks/pre-receive"
    stack.commit("README.md", "mirror check\n", "mirror check")
    stack.gantry("source")
    hook.write_text("#!/bin/sh\necho 'refusing pushes' >&2\nexit 1\n")
    hook.chmod(0o755)
    result = stack.gantry("mirror", ok=False)
    assert result.returncode == 1 and "git push failed" in result.stderr and "refusing pushes" in result.stderr
    hook.unlink()
    stack.gantry("mirror")


def test_mirror_refuses_a_diverging_copy(stack: Stack) -> None:
    """The push succeeds but the copy ends up different (something else writes to it): the ref comparison
    after the push is what catches it, and the next mirror repairs it."""
    hook = stack.home / "regions/us-west-2/source.git/hooks/post-receive"
    # post-receive reads "<old> <new> <ref>" lines; the bare copy's HEAD may name no branch, so use a <new>.
    hook.write_text(
        "#!/bin/sh\nzero=0000000000000000000000000000000000000000\nwhile read old new ref; do\n"
        '  [ "$new" = "$zero" ] || { git update-ref refs/heads/rogue "$new"; exit 0; }\n'
        "done\n"
    )
    hook.chmod(0o755)
    stack.commit("README.md", "divergence check\n", "divergence check")
    stack.gantry("source")
    result = stack.gantry("mirror", ok=False)
    assert result.returncode == 1
    assert "source mirror in us-west-2 diverges from us-east-1 at refs/heads/rogue" in result.stderr
    hook.unlink()
    stack.gantry("mirror")
    secondary = stack.home / "regions/us-west-2/source.git"
    rogue = subprocess.run(
        ["git", "-C", str(secondary), "for-each-ref", "refs/heads/rogue"], capture_output=True, text=True, check=True
    )
    assert rogue.stdout == ""  # the mirror pruned what the copy had and the source does not
    head = subprocess.run(
        ["git", "-C", str(stack.repo), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    copied = subprocess.run(
        ["git", "-C", str(secondary), "rev-parse", f"refs/gantry/builds/{head}"], capture_output=True, text=True
    )
    assert copied.stdout.strip() == head  # the run's commit keeps a ref of its own in both copies


def test_rollback_returns_every_region(stack: Stack) -> None:
    current = stack.serving(PROD_EAST)
    stack.gantry("rollback", "--env", "production")
    previous = stack.serving(PROD_EAST)
    assert previous != current and stack.serving(PROD_WEST) == previous


def test_down_removes_everything(stack: Stack) -> None:
    processes = json.loads((stack.home / "processes.json").read_text())
    stack.gantry("down")
    assert not stack.home.exists()
    for name, entry in processes.items():
        alive = subprocess.run(["kill", "-0", str(entry["pid"])], capture_output=True).returncode == 0
        assert not alive, f"{name} still runs"
    containers = subprocess.run(
        ["podman", "ps", "-aq", "--filter", f"label=gantry.home={stack.home}"],
        capture_output=True,
        text=True,
        env=stack.env,
    ).stdout.split()
    assert containers == []
