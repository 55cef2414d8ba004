"""Static checks of packer/: formatting, validation, and the security settings the recipe must keep."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import hcl2
import pytest

from gantry.bake import packer
from gantry.bake.publish import DEFAULT_PARAMETER

TEMPLATES = Path(__file__).resolve().parents[2] / "packer"
ANSIBLE = str(Path(sys.executable).with_name("ansible-playbook"))
VARS = ["-var", "customer=example", "-var", "secondary_region=us-west-2", "-var", f"ansible_playbook={ANSIBLE}"]


def run_packer(packer_bin: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = packer.packer_env({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        env.pop(name, None)  # validation must not need AWS
    return subprocess.run(
        [str(packer_bin), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def load(name: str) -> dict[str, Any]:
    options = hcl2.SerializationOptions(strip_string_quotes=True, with_comments=False)
    with (TEMPLATES / name).open() as handle:
        return hcl2.load(handle, serialization_options=options)  # type: ignore[no-any-return]


def test_fmt_check(packer_bin: Path) -> None:
    result = run_packer(packer_bin, "fmt", "-check", "-diff", "-recursive", str(TEMPLATES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_validate_container_build(packer_bin: Path) -> None:
    result = run_packer(packer_bin, "validate", *VARS, "-only=golden.docker.golden-base", str(TEMPLATES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_validate_ami_build_without_aws(packer_bin: Path) -> None:
    """Full validation, not -syntax-only: the amazon-ebs builder calls no AWS API while validating."""
    result = run_packer(packer_bin, "validate", *VARS, "-only=golden.amazon-ebs.ecs-host", str(TEMPLATES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_validate_single_region_ami(packer_bin: Path) -> None:
    single = [*VARS, "-var", "secondary_region="]
    result = run_packer(packer_bin, "validate", *single, "-only=golden.amazon-ebs.ecs-host", str(TEMPLATES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_bad_customer_is_refused(packer_bin: Path) -> None:
    result = run_packer(
        packer_bin,
        "validate",
        "-var",
        "customer=Not_A_Name",
        "-only=golden.docker.golden-base",
        str(TEMPLATES),
    )
    assert result.returncode != 0
    assert "customer must look like" in result.stdout + result.stderr


def _source(template: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    for block in template["source"]:
        if kind in block and name in block[kind]:
            return block[kind][name]  # type: ignore[no-any-return]
    raise AssertionError(f"source {kind}.{name} not found")


def test_ecs_host_is_hardened_at_the_ami_level() -> None:
    source = _source(load("ecs-host.pkr.hcl"), "amazon-ebs", "ecs-host")
    metadata = source["metadata_options"][0]
    assert metadata["http_tokens"] == "required"
    assert source["imds_support"] == "v2.0"
    assert source["encrypt_boot"] is True
    assert source["kms_key_id"] == "${local.kms_key_id}"
    assert source["region_kms_key_ids"] == "${local.region_kms_key_ids}"
    assert source["ami_regions"] == "${local.copy_regions}"
    root = source["launch_block_device_mappings"][0]
    assert (root["volume_type"], root["encrypted"]) == ("gp3", True)
    ami_filter = source["source_ami_filter"][0]
    assert ami_filter["owners"] == ["amazon"]
    assert ami_filter["most_recent"] is True
    assert source["temporary_security_group_source_public_ip"] is True


def test_build_runs_the_shared_playbook_cleanup_manifest_and_ssm() -> None:
    build = load("build.pkr.hcl")["build"][0]
    kinds = [next(iter(p)) for p in build["provisioner"]]
    assert kinds == ["ansible", "shell"]
    ansible = build["provisioner"][0]["ansible"]
    assert any("golden_image_kind=" in arg for arg in ansible["extra_arguments"])
    assert build["provisioner"][1]["shell"]["script"].endswith("/scripts/cleanup.sh")
    chain = [next(iter(p)) for p in build["post-processors"][0]["post-processor"]]
    assert chain == ["manifest", "docker-tag", "shell-local"]
    publish = build["post-processors"][0]["post-processor"][2]["shell-local"]
    assert publish["only"] == ["amazon-ebs.ecs-host"]
    assert "gantry.bake.publish" in str(publish["inline"])


def test_locals_default_ssm_parameter_matches_python() -> None:
    local_block = load("locals.pkr.hcl")["locals"][0]
    expected = DEFAULT_PARAMETER.replace("{customer}", "${var.customer}")
    assert expected in local_block["ssm_parameter_name"]


@pytest.mark.parametrize("script", ["cleanup.sh"])
def test_provisioning_scripts_are_posix_sh(script: str) -> None:
    result = subprocess.run(["sh", "-n", str(TEMPLATES / "scripts" / script)], check=False)
    assert result.returncode == 0
