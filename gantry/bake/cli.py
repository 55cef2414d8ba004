"""`gantry bake --target ami|container`: bake a golden image with Packer and print what it made."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import click

from gantry.bake import packer
from gantry.bake.engine import bake_dir, container_cli, local_image_id, remove_if_unused
from gantry.bake.manifest import AMI_BUILDER, DOCKER_BUILDER, latest_build
from gantry.config import GantryConfig, load_config
from gantry.errors import ConfigError, GantryError
from gantry.paths import project_root

# What app/Dockerfile builds FROM; packer/variables.pkr.hcl has the same default for plain `packer build`.
GOLDEN_IMAGE = "localhost/gantry/golden-base:bookworm"


def manifest_path() -> Path:
    return bake_dir() / "manifest.json"


def _git_sha() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project_root(), capture_output=True, text=True, check=False
    )
    return result.stdout.strip() or "unknown"


def _root_config_option(ctx: click.Context) -> str | None:
    value = ctx.find_root().params.get("config")
    return str(value) if value else None


def bake_variables(config: GantryConfig, target: str, env_name: str | None) -> dict[str, str]:
    """Packer variables for one bake, all derived from the environment file."""
    variables = {
        "customer": config.customer,
        "git_sha": _git_sha(),
        "environment": env_name or "",
        "manifest_path": str(manifest_path()),
        "python": sys.executable,
    }
    ansible = Path(sys.executable).with_name("ansible-playbook")
    variables["ansible_playbook"] = str(ansible) if ansible.exists() else shutil.which("ansible-playbook") or ""
    if not variables["ansible_playbook"]:
        raise GantryError("ansible-playbook not found: run `make bootstrap` (installs it into .venv)")
    if target == "container":
        variables["container_repository"], _, variables["container_tag"] = GOLDEN_IMAGE.rpartition(":")
    if target == "ami":
        regions = config.regions_of(env_name) if env_name else config.regions.names
        variables["region"] = regions[0]
        variables["secondary_region"] = regions[1] if len(regions) > 1 else ""
    return variables


def container_ref(variables: dict[str, str]) -> str:
    return f"{variables['container_repository']}:{variables['container_tag']}"


def parse_overrides(pairs: tuple[str, ...]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.UsageError(f"--var '{pair}' must be NAME=VALUE (a variable of packer/variables.pkr.hcl)")
        overrides[name] = value
    return overrides


def image_digest(manifest: Path) -> tuple[str, str]:
    """(image reference, image ID) of the last container bake, checked against the local image store."""
    build = latest_build(manifest, DOCKER_BUILDER)
    image_id = build.image_id()
    ref = build.custom_data.get("image_ref", "")
    if ref and local_image_id(ref) != image_id:
        raise GantryError(f"{ref} is not the image the last bake made ({image_id}): rerun `gantry bake`")
    return ref, image_id


def report(target: str, manifest: Path) -> None:
    if target == "ami":
        build = latest_build(manifest, AMI_BUILDER)
        for region, ami in sorted(build.ami_ids().items()):
            click.echo(f"{region}\t{ami}")
    else:
        ref, image_id = image_digest(manifest)
        click.echo(f"{ref}\t{image_id}")


@click.command("bake")
@click.option(
    "--target",
    type=click.Choice(["ami", "container"]),
    required=True,
    help="ami: ECS host AMI in the environment's regions; container: local golden base image.",
)
@click.option(
    "--env",
    "env_name",
    default=None,
    help="Environment whose regions get the AMI (default: primary and secondary).",
)
@click.option(
    "--var",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a Packer variable (packer/variables.pkr.hcl), e.g. kms_key_id=alias/x.",
)
@click.option("--from-manifest", is_flag=True, help="Print the result of the last bake without baking again.")
@click.pass_context
def bake(
    ctx: click.Context, target: str, env_name: str | None, overrides: tuple[str, ...], from_manifest: bool
) -> None:
    """Bake a golden image with Packer (same Ansible recipe for both), then print AMI IDs per region
    (`<region>\\t<ami-id>`) or the container image (`<reference>\\t<sha256 image id>`)."""
    manifest = manifest_path()
    if not from_manifest:
        config = load_config(_root_config_option(ctx))
        if env_name:
            config.environment(env_name)  # one-line ConfigError for an unknown environment
        endpoint = config.section("aws").get("endpoint_url")
        if target == "ami" and endpoint:
            # A local AWS API runs no instances Packer could SSH into: an AMI bake there cannot succeed.
            raise ConfigError(
                f"aws.endpoint_url is set ({endpoint}): the AMI bake needs real EC2; "
                "use --target container or a config without endpoint_url"
            )
        variables = {**bake_variables(config, target, env_name), **parse_overrides(overrides)}
        started = time.monotonic()
        env: dict[str, str] = {}
        previous = None
        if target == "container":
            docker_path, env = container_cli()
            variables = {"docker_path": docker_path, **variables}
            previous = local_image_id(container_ref(variables))
        packer.build(target, variables, env, bake_dir() / f"build-{target}.log")
        if target == "container":
            baked = local_image_id(container_ref(variables))
            if baked is None:
                raise GantryError(
                    f"the bake finished but the engine has no image named {container_ref(variables)}: "
                    f"see {bake_dir() / 'build-container.log'} (the docker-tag post-processor) and rerun"
                )
            if previous and previous != baked:
                remove_if_unused(previous)
        click.echo(f"bake {target}: {time.monotonic() - started:.0f}s", err=True)
    report(target, manifest)
