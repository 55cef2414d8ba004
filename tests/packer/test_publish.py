"""Publication of AMI IDs to SSM, against a real moto server process (the local AWS API)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from gantry.bake import publish
from gantry.errors import GantryError

REPO = Path(__file__).resolve().parents[2]
AMIS = {"us-east-1": "ami-0123456789abcdef0", "us-west-2": "ami-0fedcba9876543210"}


def ssm(endpoint: str, region: str):  # type: ignore[no-untyped-def]
    return boto3.client("ssm", region_name=region, endpoint_url=endpoint)


def manifest(tmp_path: Path, artifact: str, customer: str = "acme") -> Path:
    path = tmp_path / "manifest.json"
    path.write_text(
        json.dumps(
            {
                "builds": [
                    {
                        "name": "ecs-host",
                        "builder_type": "amazon-ebs",
                        "build_time": 1,
                        "files": None,
                        "artifact_id": artifact,
                        "packer_run_uuid": "r1",
                        "custom_data": {"customer": customer, "git_sha": "0123abc"},
                    }
                ],
                "last_run_uuid": "r1",
            }
        )
    )
    return path


def test_default_parameter_name() -> None:
    assert publish.parameter_name("acme") == "/gantry/acme/golden-ami/ecs-host/latest"
    assert publish.parameter_name("acme", "/custom/ami") == "/custom/ami"


def test_each_region_gets_its_own_ami(moto_endpoint: str) -> None:
    name = "/gantry/each/golden-ami/ecs-host/latest"
    versions = publish.publish_ami_ids(AMIS, name, {"gantry:customer": "each"}, moto_endpoint)
    assert versions == {"us-east-1": 1, "us-west-2": 1}
    for region, ami in AMIS.items():
        parameter = ssm(moto_endpoint, region).get_parameter(Name=name)["Parameter"]
        assert parameter["Value"] == ami
        assert parameter["DataType"] == "aws:ec2:image"  # required by launch templates' resolve:ssm:
        tags = ssm(moto_endpoint, region).list_tags_for_resource(ResourceType="Parameter", ResourceId=name)
        assert {"Key": "gantry:customer", "Value": "each"} in tags["TagList"]


def test_republishing_overwrites_and_bumps_the_version(moto_endpoint: str) -> None:
    name = "/gantry/again/golden-ami/ecs-host/latest"
    publish.publish_ami_ids({"us-east-1": "ami-0000000000000000a"}, name, {}, moto_endpoint)
    versions = publish.publish_ami_ids({"us-east-1": "ami-0000000000000000b"}, name, {}, moto_endpoint)
    assert versions == {"us-east-1": 2}
    value = ssm(moto_endpoint, "us-east-1").get_parameter(Name=name)["Parameter"]["Value"]
    assert value == "ami-0000000000000000b"


def test_from_manifest_uses_customer_default_name(moto_endpoint: str, tmp_path: Path) -> None:
    path = manifest(tmp_path, "us-east-1:ami-0123456789abcdef0,us-west-2:ami-0fedcba9876543210", "fromman")
    name, amis, versions = publish.publish_from_manifest(path, None, moto_endpoint)
    assert name == "/gantry/fromman/golden-ami/ecs-host/latest"
    assert amis == AMIS
    assert set(versions) == set(AMIS)
    tags = ssm(moto_endpoint, "us-west-2").list_tags_for_resource(ResourceType="Parameter", ResourceId=name)
    assert {"Key": "gantry:git-sha", "Value": "0123abc"} in tags["TagList"]


def test_module_entry_point_as_packer_calls_it(moto_endpoint: str, tmp_path: Path) -> None:
    """What packer/build.pkr.hcl's shell-local post-processor runs, in a separate process."""
    path = manifest(tmp_path, "eu-west-1:ami-0aaaaaaaaaaaaaaaa", "cli")
    env = {**os.environ, "PYTHONPATH": str(REPO), publish.ENDPOINT_ENV: moto_endpoint}
    command = [sys.executable, "-m", "gantry.bake.publish", "--manifest", str(path), "--parameter", "/gantry/cli/ami"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "published /gantry/cli/ami = ami-0aaaaaaaaaaaaaaaa in eu-west-1 (version 1)" in result.stdout
    value = ssm(moto_endpoint, "eu-west-1").get_parameter(Name="/gantry/cli/ami")["Parameter"]["Value"]
    assert value == "ami-0aaaaaaaaaaaaaaaa"


def test_entry_point_error_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(publish.main, ["--manifest", str(tmp_path / "missing.json")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: no Packer manifest at {tmp_path / 'missing.json'}: run `gantry bake` first"
    ]


def test_relative_parameter_name_is_refused(moto_endpoint: str) -> None:
    with pytest.raises(GantryError, match="must be a full path"):
        publish.publish_ami_ids(AMIS, "gantry/ami", {}, moto_endpoint)


def test_unreachable_api_is_one_line_error(tmp_path: Path) -> None:
    path = manifest(tmp_path, "us-east-1:ami-0123456789abcdef0")
    with pytest.raises(GantryError, match="could not write SSM parameter") as info:
        publish.publish_from_manifest(path, None, "http://127.0.0.1:22999")  # nothing listens there
    assert "\n" not in str(info.value)
