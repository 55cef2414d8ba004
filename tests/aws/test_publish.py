"""push: ECR side of publish against moto (the registry upload itself is ApiPusher's put_image; moto has no
blob API, so skopeo's upload is proven only against real ECR)."""

from __future__ import annotations

import pytest
from aws_stack import PRIMARY, SECONDARY, ApiPusher, digest_of, manifest, replicate

from gantry.errors import DeployError, GantryError
from gantry.targets.base import Release

pytestmark = pytest.mark.integration  # a moto server process on 127.0.0.1


def test_publish_waits_for_replication_and_pins_digest(stack):
    pusher = ApiPusher(stack.url)
    target = stack.target(pusher=pusher)
    replicate(stack.url, "abc123", pusher.manifest, delay=0.5)

    published = target.publish("localhost/gantry/cart:abc123", "abc123")

    assert published.digest == digest_of(pusher.manifest)
    assert set(published.references) == {PRIMARY, SECONDARY}
    for region, ref in published.references.items():
        assert ref == f"123456789012.dkr.ecr.{region}.amazonaws.com/example/cart@{published.digest}"
        assert target.ecr.find(region, digest=published.digest) is not None


def test_replication_never_arriving_times_out_and_region2_is_not_deployed(stack):
    target = stack.target()
    with pytest.raises(GantryError, match=r"did not replicate to us-west-2 within 2s: check the ECR replication"):
        target.publish("localhost/gantry/cart:abc123", "abc123")
    # Even if a caller ignores that error, deploy refuses before touching region 2.
    digest = digest_of(manifest("release-1"))
    before = target.deployer("production", SECONDARY).describe()["taskDefinition"]
    with pytest.raises(DeployError, match=r"us-west-2 has no image sha256:.*nothing changed there"):
        release = Release(stack.sha, digest)
        target.deploy_region("production", SECONDARY, release, target.task_definition("production", SECONDARY, release))
    assert target.deployer("production", SECONDARY).describe()["taskDefinition"] == before


def test_pusher_reporting_another_digest_is_refused(stack):
    target = stack.target(pusher=ApiPusher(stack.url, report=digest_of("something else")))
    with pytest.raises(GantryError, match=r"digest mismatch in us-east-1: abc123 is sha256:\w+, pushed"):
        target.publish("localhost/gantry/cart:abc123", "abc123")


def test_replica_with_a_different_digest_is_refused(stack):
    pusher = ApiPusher(stack.url)
    target = stack.target(pusher=pusher)
    replicate(stack.url, "abc123", manifest("tampered")).join()
    with pytest.raises(GantryError, match=r"digest mismatch in us-west-2: abc123 is .* expected"):
        target.publish("localhost/gantry/cart:abc123", "abc123")


def test_pusher_returning_garbage_is_refused(stack):
    target = stack.target(pusher=ApiPusher(stack.url, report="latest"))
    with pytest.raises(GantryError, match="not a sha256 digest"):
        target.publish("localhost/gantry/cart:abc123", "abc123")
