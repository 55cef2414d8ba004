"""Apply network + peering + ecr + ecs_cluster in two regions against moto on 127.0.0.1, then destroy."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from motoserver import moto_server
from tfhelpers import TERRAFORM, provider_mirror, require_real_provider, terraform_env

MOTO_PORT = 26010  # inside the Terraform helper's port range
ENDPOINT = f"http://127.0.0.1:{MOTO_PORT}"
REGIONS = {"primary": "us-east-1", "secondary": "eu-west-1"}
CIDRS = {"primary": "10.70.0.0/16", "secondary": "10.71.0.0/16"}
AMI_PARAMETER = "/gantry/moto/golden-ami/ecs-host/latest"

# apply + second plan + destroy of ~110 resources: ~4 min on a quiet 2-core machine.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]


def client(service: str, region: str):  # type: ignore[no-untyped-def]
    return boto3.client(
        service, region_name=region, endpoint_url=ENDPOINT, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    require_real_provider()
    # The ECS node role attaches AWS-managed policies, which moto only knows when told to load them.
    with moto_server(MOTO_PORT, {"MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}) as url:
        yield url


def terraform(terraform_bin: str, args: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [terraform_bin, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, f"terraform {args[0]} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def test_two_region_apply_and_destroy(moto: str, terraform_bin: str, tmp_path: Path) -> None:
    shutil.copytree(TERRAFORM / "modules", tmp_path / "terraform" / "modules")
    root = tmp_path / "moto_root"
    shutil.copytree(Path(__file__).parent / "moto_root", root)
    mirror = provider_mirror()
    assert mirror is not None
    env = terraform_env(tmp_path, mirror)
    # The Packer build publishes the golden AMI's ID in SSM before Terraform reads it (packer/README.md).
    for region in REGIONS.values():
        ami = client("ec2", region).describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        client("ssm", region).put_parameter(Name=AMI_PARAMETER, Value=ami, Type="String", DataType="aws:ec2:image")
    variables = ["-var", f"endpoint={moto}", "-var", f"ami_ssm_parameter={AMI_PARAMETER}"]

    terraform(terraform_bin, ["init", "-input=false", "-no-color"], root, env)
    terraform(terraform_bin, ["apply", "-auto-approve", "-input=false", "-no-color", *variables], root, env)

    for role, region in REGIONS.items():
        vpcs = client("ec2", region).describe_vpcs(Filters=[{"Name": "cidr", "Values": [CIDRS[role]]}])["Vpcs"]
        assert len(vpcs) == 1, f"no VPC {CIDRS[role]} in {region}"
        subnets = client("ec2", region).describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]}])
        assert len(subnets["Subnets"]) == 6
        repo = client("ecr", region).describe_repositories(repositoryNames=["moto/cart"])["repositories"][0]
        assert repo["imageTagMutability"] == "IMMUTABLE"
        assert repo["encryptionConfiguration"]["encryptionType"] == "KMS"
        clusters = client("ecs", region).describe_clusters(clusters=["moto-test"])["clusters"]
        assert clusters and clusters[0]["status"] == "ACTIVE"
    peerings = client("ec2", REGIONS["primary"]).describe_vpc_peering_connections()["VpcPeeringConnections"]
    assert [p["Status"]["Code"] for p in peerings] == ["active"], peerings
    for role, other in (("primary", "secondary"), ("secondary", "primary")):
        tables = client("ec2", REGIONS[role]).describe_route_tables(
            Filters=[{"Name": "route.destination-cidr-block", "Values": [CIDRS[other]]}]
        )["RouteTables"]
        assert len(tables) == 4, f"{role}: routes to {CIDRS[other]} in {len(tables)} tables, want public + 3 private"
    rules = client("ecr", REGIONS["primary"]).describe_registry()["replicationConfiguration"]["rules"]
    assert [d["region"] for d in rules[0]["destinations"]] == [REGIONS["secondary"]]

    # A second plan must be empty: the modules converge and do not fight over any attribute.
    plan = subprocess.run(
        [terraform_bin, "plan", "-detailed-exitcode", "-input=false", "-no-color", *variables],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert plan.returncode == 0, f"second plan is not empty (rc {plan.returncode}):\n{plan.stdout[-4000:]}{plan.stderr}"

    terraform(terraform_bin, ["destroy", "-auto-approve", "-input=false", "-no-color", *variables], root, env)
    for role, region in REGIONS.items():
        left = client("ec2", region).describe_vpcs(Filters=[{"Name": "cidr", "Values": [CIDRS[role]]}])["Vpcs"]
        assert not left, f"VPC {CIDRS[role]} survived destroy in {region}"
        groups = client("autoscaling", region).describe_auto_scaling_groups()["AutoScalingGroups"]
        assert not groups, f"auto scaling groups survived destroy in {region}"
        clusters = client("ecs", region).describe_clusters(clusters=["moto-test"])["clusters"]
        assert all(c["status"] == "INACTIVE" for c in clusters), f"cluster still active in {region}"
