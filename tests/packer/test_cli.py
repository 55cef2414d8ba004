"""`gantry bake`: variables derived from the environment file, and printing results from the manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gantry.bake import cli
from gantry.config import load_config
from gantry.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = str(REPO / "environments" / "example" / "local.yaml")
IMAGE_HEX = "b" * 64


@pytest.fixture
def gantry_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GANTRY_HOME", str(tmp_path))
    monkeypatch.setenv("GANTRY_ROOT", str(REPO))
    return tmp_path


def test_production_ami_goes_to_both_regions_staging_to_primary_only(gantry_home: Path) -> None:
    config = load_config(EXAMPLE)
    production = cli.bake_variables(config, "ami", "production")
    assert (production["region"], production["secondary_region"]) == ("us-east-1", "us-west-2")
    staging = cli.bake_variables(config, "ami", "staging")
    assert (staging["region"], staging["secondary_region"]) == ("us-east-1", "")
    default = cli.bake_variables(config, "ami", None)
    assert default["secondary_region"] == "us-west-2"
    assert default["customer"] == "example"
    assert default["manifest_path"] == str(gantry_home / "packer" / "manifest.json")


def test_container_bake_needs_no_aws_variables(gantry_home: Path) -> None:
    variables = cli.bake_variables(load_config(EXAMPLE), "container", None)
    assert "region" not in variables
    assert Path(variables["ansible_playbook"]).name == "ansible-playbook"


def test_overrides_must_be_name_value() -> None:
    assert cli.parse_overrides(("kms_key_id=alias/x", "a=b=c")) == {"kms_key_id": "alias/x", "a": "b=c"}
    result = CliRunner().invoke(cli.bake, ["--target", "ami", "--var", "novalue"])
    assert result.exit_code == 2
    assert "must be NAME=VALUE" in result.output


def test_unknown_environment_is_a_config_error(gantry_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANTRY_CONFIG", EXAMPLE)
    result = CliRunner().invoke(cli.bake, ["--target", "ami", "--env", "qa"])
    assert isinstance(result.exception, ConfigError)
    assert "unknown environment 'qa'" in str(result.exception)


def test_prints_ami_ids_per_region_from_the_manifest(gantry_home: Path) -> None:
    manifest = gantry_home / "packer" / "manifest.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(
        json.dumps(
            {
                "builds": [
                    {
                        "name": "ecs-host",
                        "builder_type": "amazon-ebs",
                        "build_time": 5,
                        "files": None,
                        "artifact_id": "us-west-2:ami-0bbbbbbbbbbbbbbbb,us-east-1:ami-0aaaaaaaaaaaaaaaa",
                        "packer_run_uuid": "u",
                        "custom_data": {"customer": "example"},
                    }
                ],
                "last_run_uuid": "u",
            }
        )
    )
    result = CliRunner().invoke(cli.bake, ["--target", "ami", "--from-manifest"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["us-east-1\tami-0aaaaaaaaaaaaaaaa", "us-west-2\tami-0bbbbbbbbbbbbbbbb"]


def test_missing_manifest_names_the_fix(gantry_home: Path) -> None:
    result = CliRunner().invoke(cli.bake, ["--target", "container", "--from-manifest"])
    assert "run `gantry bake` first" in str(result.exception)
