"""`gantry bake`: variables derived from the environment file, and printing results from the manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gantry.bake import cli, engine
from gantry.config import load_config
from gantry.errors import ConfigError, EngineError

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


def _fake_tools(directory: Path, *names: str) -> str:
    directory.mkdir()
    for name in names:
        tool = directory / name
        tool.write_text("#!/bin/sh\n")
        tool.chmod(0o755)
    return str(directory)


def test_podman_cli_is_preferred_even_with_docker_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The local stack may export DOCKER_HOST=podman's socket; the docker CLI cannot commit through it."""
    monkeypatch.setenv("PATH", _fake_tools(tmp_path / "bin", "podman", "docker"))
    monkeypatch.setenv("DOCKER_HOST", "unix:///somewhere/podman.sock")
    path, env = engine.container_cli()
    assert Path(path).name == "podman"
    assert env["CONTAINERS_CONF"].endswith("containers.conf")
    assert env["CONTAINERS_STORAGE_CONF"].endswith("containers/storage.conf")  # the project's own image store


def test_docker_cli_only_without_podman(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", _fake_tools(tmp_path / "bin", "docker"))
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:22375")
    assert Path(engine.container_cli()[0]).name == "docker"
    monkeypatch.delenv("DOCKER_HOST")
    with pytest.raises(EngineError, match=r"run scripts/setup-packer\.sh"):
        engine.container_cli()


def test_container_variables_name_the_golden_image(gantry_home: Path) -> None:
    variables = cli.bake_variables(load_config(EXAMPLE), "container", "staging")
    assert cli.container_ref(variables) == "localhost/gantry/golden-base:bookworm"
    assert variables["environment"] == "staging"


def test_ami_bake_refuses_a_local_aws_api(gantry_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = (REPO / "environments" / "example" / "local.yaml").read_text()
    config = gantry_home / "moto.yaml"
    config.write_text(raw + "\naws:\n  endpoint_url: http://127.0.0.1:22001\n")
    monkeypatch.setenv("GANTRY_CONFIG", str(config))
    result = CliRunner().invoke(cli.bake, ["--target", "ami"])
    assert isinstance(result.exception, ConfigError)
    assert "needs real EC2" in str(result.exception)
