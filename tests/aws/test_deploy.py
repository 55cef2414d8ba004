"""deploy/rollback against moto's ECS. moto runs no tasks: a new task definition's deployment never reaches
COMPLETED there, so (a) the real PollingWaiter always times out against moto, which is how the timeout and
restore path is exercised, and (b) successful rollouts use AcceptedWaiter (the service names the new task
definition). The circuit breaker's FAILED state and ECS's own rollback are only proven on real AWS (their
response shapes are covered in test_rollout.py)."""

from __future__ import annotations

import time

import pytest
from aws_stack import PRIMARY, REPO, SECONDARY, AcceptedWaiter, ApiPusher, client, replicate

from gantry.errors import ApprovalError, DeployError
from gantry.stages import approval
from gantry.stages.deploy import deploy_environment
from gantry.targets.aws.ecs import PollingWaiter
from gantry.targets.base import Release

pytestmark = pytest.mark.integration  # a moto server process on 127.0.0.1


def deploy(target, env, region, release, force=False):
    """A region's deploy as the stage makes it: the task definition rendered from the release's commit."""
    return target.deploy_region(env, region, release, target.task_definition(env, region, release), force=force)


def publish(stack, target_waiter, seed):
    pusher = ApiPusher(stack.url, seed=seed)
    target = stack.target(pusher=pusher, waiter=target_waiter)
    replicate(stack.url, seed, pusher.manifest)
    return target, target.publish(f"localhost/gantry/cart:{seed}", seed)


def approve(stack, target, cfg, digest, sha):
    # These tests publish under seed tags; `gantry push` tags the image with its commit, which the approval checks.
    ecr = client(stack.url, "ecr", PRIMARY)
    image = ecr.batch_get_image(repositoryName=REPO, imageIds=[{"imageDigest": digest}])["images"][0]
    ecr.put_image(repositoryName=REPO, imageManifest=image["imageManifest"], imageTag=sha)
    approval.record_staging_pass(target, Release(sha, digest), "test-run", "staging", dirty=False)
    approval.approve(
        cfg, target, env="production", digest=digest, approver="bob@example.com", key=stack.keys["bob@example.com"]
    )


def task_definition(target, region):
    arn = target.deployer("production", region).describe()["taskDefinition"]
    return client(target.settings.endpoint_url, "ecs", region).describe_task_definition(taskDefinition=arn)[
        "taskDefinition"
    ]


def test_deploy_registers_pinned_task_definition_and_is_idempotent(stack):
    waiter = AcceptedWaiter()
    target, published = publish(stack, waiter, "v1")
    release = Release(stack.sha, published.digest)
    assert target.current_release("production", PRIMARY) is None  # the stack's bootstrap task definition

    assert deploy(target, "production", PRIMARY, release) is True
    assert target.current_release("production", PRIMARY) == release
    task = task_definition(target, PRIMARY)
    container = task["containerDefinitions"][0]
    assert container["image"] == published.references[PRIMARY]  # pinned by digest, regional registry
    assert task["family"] == "example-prod-cart"
    assert {"name": "REGION", "value": PRIMARY} in container["environment"]
    assert deploy(target, "production", PRIMARY, release) is False  # already serving it
    assert deploy(target, "production", PRIMARY, release, force=True) is True
    service = target.deployer("production", PRIMARY).describe()
    # moto drops deploymentConfiguration, so the circuit breaker flag we send cannot be read back here.
    assert service["taskDefinition"].endswith(":2")


def test_rollout_timeout_restores_previous_task_definition(stack):
    sha2 = stack.new_commit("v2")
    target, published = publish(stack, AcceptedWaiter(), "v1")
    release1 = Release(stack.sha, published.digest)
    deploy(target, "production", PRIMARY, release1)
    before = target.deployer("production", PRIMARY).describe()["taskDefinition"]

    real = stack.target(pusher=ApiPusher(stack.url, seed="v2"), waiter=PollingWaiter(poll_seconds=0.1))
    replicate(stack.url, "v2", real.pusher.manifest)
    release2 = Release(sha2, real.publish("localhost/gantry/cart:v2", "v2").digest)
    started = time.monotonic()
    with pytest.raises(
        DeployError,
        match=r"rollout of example-prod-cart:\d+ failed for cart in "
        r"us-east-1: rollout not complete within 1s.*restored",
    ):
        deploy(real, "production", PRIMARY, release2)
    assert time.monotonic() - started < 10
    assert real.deployer("production", PRIMARY).describe()["taskDefinition"] == before
    assert real.current_release("production", PRIMARY) == release1


def test_region2_failure_after_region1_rolls_region1_back(stack):
    """The lead's policy through gantry.stages.deploy: region 2 restores itself, region 1 is rolled back."""
    sha2 = stack.new_commit("v2")
    cfg = stack.config()
    good = AcceptedWaiter()
    target, published1 = publish(stack, good, "v1")
    release1 = Release(stack.sha, published1.digest)
    approve(stack, target, cfg, release1.digest, stack.sha)
    deploy_environment(target, cfg, "production", release1, run_id="run-1", command="deploy production")
    assert [target.current_release("production", r) for r in (PRIMARY, SECONDARY)] == [release1, release1]

    flaky = AcceptedWaiter(fail_regions={SECONDARY})
    target2, published2 = publish(stack, flaky, "v2")
    release2 = Release(sha2, published2.digest)
    approve(stack, target2, cfg, release2.digest, sha2)
    with pytest.raises(DeployError) as failure:
        deploy_environment(target2, cfg, "production", release2, run_id="run-2", command="deploy production")
    message = str(failure.value)
    assert "failed for cart in us-west-2" in message
    assert "restored example-prod-cart:" in message
    assert f"us-east-1 rolled back to {release1.digest[:19]}" in message
    assert [target2.current_release("production", r) for r in (PRIMARY, SECONDARY)] == [release1, release1]
    # Order of ECS calls: region 1 new, region 2 new (timed out), region 2 restore, region 1 rollback.
    assert [region for region, _ in flaky.calls] == [PRIMARY, SECONDARY, SECONDARY, PRIMARY]


def test_region2_failure_driven_by_target_helpers(stack):
    """The same case without gantry.stages: the target methods the policy relies on."""
    sha2 = stack.new_commit("v2")
    target, published1 = publish(stack, AcceptedWaiter(), "v1")
    release1 = Release(stack.sha, published1.digest)
    for region in (PRIMARY, SECONDARY):
        deploy(target, "production", region, release1)

    flaky = AcceptedWaiter(fail_regions={SECONDARY})
    target2, published2 = publish(stack, flaky, "v2")
    release2 = Release(sha2, published2.digest)
    previous = target2.current_release("production", PRIMARY)
    assert deploy(target2, "production", PRIMARY, release2) is True
    with pytest.raises(DeployError, match=r"rollout of .* failed for cart in us-west-2.*restored"):
        deploy(target2, "production", SECONDARY, release2)
    assert [region for region, _ in flaky.calls].count(SECONDARY) == 2  # the new one, then the restore
    assert target2.current_release("production", SECONDARY) == release1  # region 2 restored itself
    assert deploy(target2, "production", PRIMARY, previous, force=True) is True
    assert target2.current_release("production", PRIMARY) == release1


def test_missing_approval_blocks_production_in_every_region(stack):
    cfg = stack.config()
    target, published = publish(stack, AcceptedWaiter(), "v1")
    release = Release(stack.sha, published.digest)
    with pytest.raises(ApprovalError, match="no approval on record"):
        deploy_environment(target, cfg, "production", release, run_id="run-1", command="deploy production")
    assert [target.current_release("production", r) for r in (PRIMARY, SECONDARY)] == [None, None]
    # Staging needs none.
    deploy_environment(target, cfg, "staging", release, run_id="run-1", command="deploy staging")
    assert target.current_release("staging", PRIMARY) == release


def test_unknown_region_for_environment_is_a_config_error(stack):
    from gantry.errors import ConfigError

    target = stack.target()
    with pytest.raises(ConfigError, match="does not run in region 'us-west-2'"):
        deploy(target, "staging", SECONDARY, Release(stack.sha, "sha256:" + "0" * 64))


def ship(stack, target, release, run_id):
    approve(stack, target, stack.config(), release.digest, release.sha)
    deploy_environment(target, stack.config(), "production", release, run_id=run_id, command="deploy production")


def test_find_published_and_previous_release(stack):
    """What `gantry build` (skip an already published tag) and `gantry rollback` read from AWS: the release
    history gantry records after each rollout that completed, not the task definition family's revisions."""
    sha2 = stack.new_commit("v2")
    target, first = publish(stack, AcceptedWaiter(), "v1")
    assert target.find_published("v1") == first
    assert target.find_published("never-pushed") is None
    ship(stack, target, Release(stack.sha, first.digest), "run-1")
    assert target.previous_release("production", PRIMARY) is None  # only the stack's placeholder before

    second_target, second = publish(stack, AcceptedWaiter(), "v2")
    ship(stack, second_target, Release(sha2, second.digest), "run-2")
    assert second_target.previous_release("production", PRIMARY) == Release(stack.sha, first.digest)
    deploy(second_target, "production", PRIMARY, Release(sha2, second.digest), force=True)
    assert second_target.previous_release("production", PRIMARY) == Release(stack.sha, first.digest)

    # A third release whose rollout failed registered a revision, but never becomes what a rollback picks.
    third_target, third = publish(stack, PollingWaiter(poll_seconds=0.1), "v3")
    with pytest.raises(DeployError):
        deploy(third_target, "production", PRIMARY, Release(stack.new_commit("v3"), third.digest))
    assert third_target.previous_release("production", PRIMARY) == Release(stack.sha, first.digest)


def test_a_protected_environment_whose_services_lost_their_tags_is_refused_not_unprotected(stack):
    """Someone (or a partial apply) removed the protection tags of production's service in one region: the
    configuration still marks production protected, so the deploy is refused before anything moves."""
    cfg = stack.config()
    target, published = publish(stack, AcceptedWaiter(), "v1")
    release = Release(stack.sha, published.digest)
    approve(stack, target, cfg, release.digest, stack.sha)
    ecs = client(stack.url, "ecs", SECONDARY)
    arn = target.deployer("production", SECONDARY).describe()["serviceArn"]
    ecs.untag_resource(resourceArn=arn, tagKeys=["gantry:protected", "gantry:approval-policy"])
    with pytest.raises(ApprovalError, match=r"production in us-west-2 must be protected .* carries no protection"):
        deploy_environment(target, cfg, "production", release, run_id="run-1", command="deploy production")
    assert [target.current_release("production", r) for r in (PRIMARY, SECONDARY)] == [None, None]
