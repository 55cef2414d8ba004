"""`gantry doctor`: credentials, regions, stack outputs and the image in both regions, as a checklist."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gantry.errors import GantryError
from gantry.targets.aws.clients import aws_errors
from gantry.targets.aws.target import AwsTarget


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _check(name: str, probe: Callable[..., object], *args: str) -> Check:
    try:
        return Check(name, True, str(probe(*args)))
    except GantryError as exc:
        return Check(name, False, str(exc))


class Probes:
    """Each probe returns a short detail or raises GantryError naming what is missing and the fix."""

    def __init__(self, target: AwsTarget) -> None:
        self.target = target

    def identity(self) -> str:
        expected = self.target.settings.account_id
        with aws_errors("sts get_caller_identity", "set AWS_PROFILE or aws.profile"):
            account = str(self.target.clients("sts", self.target.cfg.regions.primary).get_caller_identity()["Account"])
        if expected and account != expected:
            raise GantryError(f"credentials are for account {account}, aws.account_id says {expected}")
        return f"account {account}"

    def cluster(self, region: str) -> str:
        name = self.target.settings.region(region).cluster
        with aws_errors(f"ECS cluster {name} in {region}", "apply the Terraform stack"):
            found = self.target.clients("ecs", region).describe_clusters(clusters=[name])["clusters"]
        if not found or found[0].get("status") != "ACTIVE":
            raise GantryError(f"ECS cluster {name} missing in {region}: apply the Terraform stack")
        return f"{name} active"

    def service(self, env: str, region: str) -> str:
        found = self.target.deployer(env, region).describe()
        return f"{found['serviceName']} desired={found.get('desiredCount')} running={found.get('runningCount')}"

    def replication(self, source: str, destination: str) -> str:
        if not self.target.ecr.replicates_to(source, destination):
            raise GantryError(f"no ECR replication rule {source} -> {destination}: apply the stack's ECR config")
        return "configured"

    def image(self, region: str, digest: str) -> str:
        if self.target.ecr.find(region, digest=digest) is None:
            raise GantryError(f"image {digest[:19]} missing in {region}: run gantry push (and check replication)")
        return "present"


def run_checks(target: AwsTarget, digest: str | None = None) -> list[Check]:
    cfg, probes = target.cfg, Probes(target)
    primary, secondary = cfg.regions.primary, cfg.regions.secondary
    checks = [_check("credentials", probes.identity)]
    for region in cfg.regions.names:
        checks.append(_check(f"{region}: ECS cluster", probes.cluster, region))
        checks.append(_check(f"{region}: ECR repository", target.ecr.repository_uri, region))
        checks.append(_check(f"{region}: CodeCommit repository", target.source.url, region))
        for env in cfg.environments:
            if region in cfg.regions_of(env):
                checks.append(_check(f"{region}: {env} service", probes.service, env, region))
                checks.append(_check(f"{region}: {env} endpoint", target.endpoint, env, region))
    checks.append(_check(f"ECR replication {primary} -> {secondary}", probes.replication, primary, secondary))
    if digest is None:
        try:
            release = target.current_release("production", primary)
        except GantryError as exc:
            return [*checks, Check("image in both regions", False, str(exc))]
        if release is None:
            return [*checks, Check("image in both regions", True, "nothing deployed yet; pass --digest")]
        digest = release.digest
    checks.extend(_check(f"{region}: image", probes.image, region, digest) for region in cfg.regions.names)
    return checks
