"""Packer's manifest post-processor output: which AMIs (per region) or which image the last run made."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gantry.errors import GantryError

AMI_BUILDER = "amazon-ebs"
DOCKER_BUILDER = "docker"


@dataclass(frozen=True)
class ManifestBuild:
    name: str
    builder_type: str
    artifact_id: str
    run_uuid: str
    build_time: int
    custom_data: dict[str, str] = field(default_factory=dict)

    def ami_ids(self) -> dict[str, str]:
        """`us-east-1:ami-1,us-west-2:ami-2` -> {"us-east-1": "ami-1", "us-west-2": "ami-2"}."""
        if self.builder_type != AMI_BUILDER:
            raise GantryError(f"manifest build '{self.name}' is a {self.builder_type} image, not an AMI")
        regions: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in self.artifact_id.split(","))):
            region, sep, ami = part.partition(":")
            if not sep or not ami.startswith("ami-"):
                raise GantryError(f"manifest artifact '{part}' is not region:ami-id: rerun the bake")
            regions[region] = ami
        if not regions:
            raise GantryError(f"manifest build '{self.name}' lists no AMI: rerun the bake")
        return regions

    def image_id(self) -> str:
        """The committed image's ID (sha256 of its config), as `sha256:<hex>`."""
        if self.builder_type != DOCKER_BUILDER:
            raise GantryError(f"manifest build '{self.name}' is a {self.builder_type} artifact, not an image")
        image = self.artifact_id.strip()
        if not image.startswith("sha256:"):
            image = f"sha256:{image}"
        hex_part = image.removeprefix("sha256:")
        if len(hex_part) != 64 or any(c not in "0123456789abcdef" for c in hex_part):
            raise GantryError(f"manifest artifact '{self.artifact_id}' is not an image ID: rerun the bake")
        return image


def _build(raw: dict[str, Any]) -> ManifestBuild:
    try:
        return ManifestBuild(
            name=str(raw["name"]),
            builder_type=str(raw["builder_type"]),
            artifact_id=str(raw["artifact_id"]),
            run_uuid=str(raw.get("packer_run_uuid", "")),
            build_time=int(raw.get("build_time", 0)),
            custom_data={str(k): str(v) for k, v in (raw.get("custom_data") or {}).items()},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise GantryError(f"malformed build entry in Packer manifest ({exc}): delete the manifest and rebake") from None


def read_manifest(path: Path) -> tuple[str, list[ManifestBuild]]:
    """(last_run_uuid, builds) from a manifest file; one-line errors when it is missing or malformed."""
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise GantryError(f"no Packer manifest at {path}: run `gantry bake` first") from None
    except json.JSONDecodeError as exc:
        raise GantryError(f"Packer manifest {path} is not JSON ({exc.msg}): delete it and rebake") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("builds"), list):
        raise GantryError(f"Packer manifest {path} has no 'builds' list: delete it and rebake")
    return str(raw.get("last_run_uuid", "")), [_build(b) for b in raw["builds"]]


def latest_build(path: Path, builder_type: str) -> ManifestBuild:
    """The newest build of `builder_type`, preferring the manifest's last run (Packer appends every run)."""
    last_run, builds = read_manifest(path)
    matching = [b for b in builds if b.builder_type == builder_type]
    if not matching:
        raise GantryError(f"Packer manifest {path} has no {builder_type} build: run the bake for that target")
    in_last_run = [b for b in matching if b.run_uuid == last_run]
    return max(in_last_run or matching, key=lambda b: b.build_time)
