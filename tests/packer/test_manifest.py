"""Parsing of Packer's manifest post-processor output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gantry.bake.manifest import AMI_BUILDER, DOCKER_BUILDER, latest_build, read_manifest
from gantry.errors import GantryError

IMAGE_HEX = "a" * 64


def write(path: Path, builds: list[dict[str, object]], last_run: str = "run-2") -> Path:
    path.write_text(json.dumps({"builds": builds, "last_run_uuid": last_run}))
    return path


def entry(builder: str, artifact: str, run: str, when: int, **custom: str) -> dict[str, object]:
    return {
        "name": "ecs-host" if builder == AMI_BUILDER else "golden-base",
        "builder_type": builder,
        "build_time": when,
        "files": None,
        "artifact_id": artifact,
        "packer_run_uuid": run,
        "custom_data": custom,
    }


def test_ami_ids_per_region(tmp_path: Path) -> None:
    manifest = write(
        tmp_path / "m.json",
        [
            entry(
                AMI_BUILDER,
                "us-east-1:ami-0123456789abcdef0,us-west-2:ami-0fedcba9876543210",
                "run-2",
                20,
                customer="acme",
            ),
        ],
    )
    build = latest_build(manifest, AMI_BUILDER)
    assert build.ami_ids() == {"us-east-1": "ami-0123456789abcdef0", "us-west-2": "ami-0fedcba9876543210"}
    assert build.custom_data["customer"] == "acme"


def test_last_run_wins_over_a_newer_timestamp_from_an_older_run(tmp_path: Path) -> None:
    manifest = write(
        tmp_path / "m.json",
        [
            entry(AMI_BUILDER, "us-east-1:ami-old", "run-1", 99),
            entry(AMI_BUILDER, "us-east-1:ami-new", "run-2", 10),
        ],
    )
    assert latest_build(manifest, AMI_BUILDER).ami_ids() == {"us-east-1": "ami-new"}


def test_falls_back_to_newest_build_of_that_type_when_the_last_run_made_another(tmp_path: Path) -> None:
    manifest = write(
        tmp_path / "m.json",
        [
            entry(AMI_BUILDER, "us-east-1:ami-1", "run-1", 10),
            entry(AMI_BUILDER, "us-east-1:ami-2", "run-1b", 11),
            entry(DOCKER_BUILDER, f"sha256:{IMAGE_HEX}", "run-2", 12),
        ],
    )
    assert latest_build(manifest, AMI_BUILDER).ami_ids() == {"us-east-1": "ami-2"}
    assert latest_build(manifest, DOCKER_BUILDER).image_id() == f"sha256:{IMAGE_HEX}"


def test_image_id_without_prefix_is_normalised(tmp_path: Path) -> None:
    manifest = write(tmp_path / "m.json", [entry(DOCKER_BUILDER, IMAGE_HEX, "run-2", 1)])
    assert latest_build(manifest, DOCKER_BUILDER).image_id() == f"sha256:{IMAGE_HEX}"


@pytest.mark.parametrize("artifact", ["us-east-1:i-123", "ami-123", ""])
def test_malformed_ami_artifact(tmp_path: Path, artifact: str) -> None:
    manifest = write(tmp_path / "m.json", [entry(AMI_BUILDER, artifact, "run-2", 1)])
    with pytest.raises(GantryError, match="rerun the bake"):
        latest_build(manifest, AMI_BUILDER).ami_ids()


def test_wrong_kind_is_an_error(tmp_path: Path) -> None:
    manifest = write(tmp_path / "m.json", [entry(DOCKER_BUILDER, IMAGE_HEX, "run-2", 1)])
    with pytest.raises(GantryError, match="no amazon-ebs build"):
        latest_build(manifest, AMI_BUILDER)
    with pytest.raises(GantryError, match="not an AMI"):
        latest_build(manifest, DOCKER_BUILDER).ami_ids()
    with pytest.raises(GantryError, match="not an image ID"):
        write(tmp_path / "bad.json", [entry(DOCKER_BUILDER, "sha256:xyz", "run-2", 1)])
        latest_build(tmp_path / "bad.json", DOCKER_BUILDER).image_id()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "run `gantry bake` first"),
        ("{not json", "is not JSON"),
        ('{"builds": 3}', "has no 'builds' list"),
        ('{"builds": [{"name": "x"}]}', "malformed build entry"),
    ],
)
def test_unreadable_manifest(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "m.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(GantryError, match=message):
        read_manifest(path)


def test_real_packer_manifest_shape(tmp_path: Path) -> None:
    """The shape packer 1.12's manifest post-processor wrote in a real bake here: the docker builder's artifact
    is the bare image ID (the manifest runs before docker-tag)."""
    raw = {
        "builds": [
            {
                "name": "golden-base",
                "builder_type": "docker",
                "build_time": 1763898000,
                "files": None,
                "artifact_id": IMAGE_HEX,
                "packer_run_uuid": "5e2c8b0e-0000-4000-8000-000000000000",
                "custom_data": {
                    "customer": "example",
                    "git_sha": "abc",
                    "image_kind": "container",
                    "image_ref": "localhost/gantry/golden-base:bookworm",
                    "build_date": "2026-11-23",
                },
            }
        ],
        "last_run_uuid": "5e2c8b0e-0000-4000-8000-000000000000",
    }
    path = tmp_path / "m.json"
    path.write_text(json.dumps(raw))
    build = latest_build(path, DOCKER_BUILDER)
    assert build.custom_data["image_ref"] == "localhost/gantry/golden-base:bookworm"
    assert build.image_id() == f"sha256:{IMAGE_HEX}"
