"""mirror and smoke on AWS. CodeCommit: moto answers the API (repository lookups), but has no git server, so
the git side pushes to bare repositories on disk (aws.regions.*.source_url). ELB: moto reports every target
healthy, so only the count check and the API path are exercised; real health checks need real AWS."""

from __future__ import annotations

import io
import subprocess
import tarfile

import pytest
from aws_stack import PRIMARY, SECONDARY, client

from gantry.errors import GantryError

pytestmark = pytest.mark.integration  # a moto server process on 127.0.0.1


def git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "work"
    path.mkdir()
    git(path, "init", "--quiet", "-b", "main")
    git(path, "-c", "user.email=t@example.test", "-c", "user.name=t", "commit", "--quiet", "--allow-empty", "-m", "one")
    git(path, "tag", "v1")
    git(path, "branch", "release")
    return path


def test_push_and_mirror_all_refs(stack, repo):
    target = stack.target()
    target.push_source(repo, [git(repo, "rev-parse", "HEAD")])
    refs = target.mirror_source()
    head = git(repo, "rev-parse", "HEAD")
    assert refs == {
        "refs/heads/main": head,
        "refs/heads/release": head,
        "refs/tags/v1": head,
        f"refs/gantry/builds/{head}": head,  # the run's commit, whichever branch (or none) holds it
        f"refs/gantry/builds/{stack.sha}": stack.sha,  # the stack's own release commit (conftest)
    }
    # Deleting a branch in the primary copy removes it from the mirror too.
    git(stack.raw["aws"]["regions"][PRIMARY]["source_url"], "branch", "-D", "release")
    target.mirror_source()
    secondary = stack.raw["aws"]["regions"][SECONDARY]["source_url"]
    assert git(secondary, "for-each-ref", "--format=%(refname)", "refs/heads/release") == ""


def test_diverged_secondary_is_an_error(stack, repo, tmp_path):
    target = stack.target()
    target.push_source(repo, [git(repo, "rev-parse", "HEAD")])
    target.mirror_source()
    other = tmp_path / "other"
    git(tmp_path, "clone", "--quiet", "-b", "main", stack.raw["aws"]["regions"][SECONDARY]["source_url"], str(other))
    git(other, "-c", "user.email=t@example.test", "-c", "user.name=t", "commit", "--quiet", "--allow-empty", "-m", "x")
    git(other, "push", "--quiet", "origin", "main")
    diverged = git(other, "rev-parse", "HEAD")
    with pytest.raises(GantryError, match=r"git push failed.*check the CodeCommit repository"):
        target.mirror_source()
    # No force push: the diverged copy is left for a person to look at, not overwritten.
    assert git(stack.raw["aws"]["regions"][SECONDARY]["source_url"], "rev-parse", "main") == diverged


def test_missing_codecommit_repository_is_reported(stack, repo):
    client(stack.url, "codecommit", SECONDARY).delete_repository(repositoryName="example-cart")
    target = stack.target()
    target.push_source(repo, [git(repo, "rev-parse", "HEAD")])
    with pytest.raises(
        GantryError, match="CodeCommit repository example-cart in us-west-2 failed: RepositoryDoesNotExistException"
    ):
        target.mirror_source()


def test_target_health_and_endpoints(stack):
    target = stack.target()
    health = target.health("production", SECONDARY)
    assert (health.healthy, health.desired) == (2, 2)
    assert target.endpoint("production", PRIMARY) == stack.versions[(PRIMARY, "production")].url
    # Without a url override the endpoint is the ALB's DNS name, over TLS.
    raw = stack.raw["aws"]["regions"][SECONDARY]["environments"]["production"]
    cfg = stack.config(
        regions={
            **stack.raw["aws"]["regions"],
            SECONDARY: {**stack.raw["aws"]["regions"][SECONDARY], "environments": {"production": {**raw, "url": None}}},
        }
    )
    endpoint = stack.target(cfg).endpoint("production", SECONDARY)
    assert endpoint.startswith("https://example-prod-uswest2-") and endpoint.endswith(".elb.amazonaws.com")


def test_too_few_targets_fails_smoke(stack):
    arn = stack.raw["aws"]["regions"][PRIMARY]["environments"]["staging"]["target_group_arn"]
    client(stack.url, "elbv2", PRIMARY).deregister_targets(
        TargetGroupArn=arn, Targets=[{"Id": "10.20.0.10", "Port": 80}]
    )
    health = stack.target().health("staging", PRIMARY)
    assert (health.healthy, health.desired) == (1, 2) and "1 healthy ALB targets for cart" in health.detail


def test_a_detached_checkout_reaches_the_copy_the_build_reads(stack, repo, tmp_path):
    """How Jenkins checks out a build: a detached HEAD on a commit no branch holds. Pushing only branches and
    tags would leave it out, and the build context could not be fetched from CodeCommit."""
    (repo / "context").mkdir()
    (repo / "context/built.txt").write_text("what the build reads\n")
    git(repo, "add", "context/built.txt")
    git(repo, "-c", "user.email=t@example.test", "-c", "user.name=t", "commit", "--quiet", "-m", "2")
    detached = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "--quiet", "--detach", detached)
    git(repo, "reset", "--quiet", "--hard", "HEAD~1")  # main no longer holds it; HEAD is detached elsewhere
    git(repo, "checkout", "--quiet", "--detach", detached)
    git(repo, "branch", "-f", "main", "HEAD~1")
    target = stack.target()
    target.push_source(repo, [detached])
    primary = stack.raw["aws"]["regions"][PRIMARY]["source_url"]
    assert git(primary, "rev-parse", f"refs/gantry/builds/{detached}") == detached
    assert git(primary, "rev-parse", "refs/heads/main") != detached
    # The folder is the build context: its files sit at the archive's root.
    with tarfile.open(fileobj=io.BytesIO(target.build_context(detached, "context"))) as archived:
        assert archived.getnames() == ["built.txt"]
        assert archived.extractfile("built.txt").read() == b"what the build reads\n"  # type: ignore[union-attr]
