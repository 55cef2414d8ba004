"""Publication of the new ECS host AMI IDs to SSM, one parameter per region.

Terraform's launch template resolves the image with `resolve:ssm:<name>`, which AWS allows only for parameters
of data type `aws:ec2:image`. Run by the Packer template's shell-local post-processor, and by `gantry bake`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import boto3
import click
from botocore.exceptions import BotoCoreError, ClientError

from gantry.bake.manifest import AMI_BUILDER, latest_build
from gantry.errors import GantryError

DEFAULT_PARAMETER = "/gantry/{customer}/golden-ami/ecs-host/latest"
ENDPOINT_ENV = "GANTRY_AWS_ENDPOINT_URL"


def parameter_name(customer: str, override: str | None = None) -> str:
    return override or DEFAULT_PARAMETER.format(customer=customer)


def publish_ami_ids(
    ami_ids: Mapping[str, str], parameter: str, tags: Mapping[str, str], endpoint_url: str | None = None
) -> dict[str, int]:
    """Write each region's AMI ID to `parameter` in that region; returns the new version per region."""
    if not parameter.startswith("/"):
        raise GantryError(f"SSM parameter '{parameter}' must be a full path starting with '/'")
    versions: dict[str, int] = {}
    for region, ami in sorted(ami_ids.items()):
        ssm = boto3.client("ssm", region_name=region, endpoint_url=endpoint_url or None)
        try:
            response = ssm.put_parameter(
                Name=parameter,
                Value=ami,
                Type="String",
                DataType="aws:ec2:image",
                Overwrite=True,
                Description="Golden ECS host AMI baked by gantry (packer/)",
            )
            # put_parameter refuses Tags together with Overwrite: tag in a second call.
            ssm.add_tags_to_resource(
                ResourceType="Parameter",
                ResourceId=parameter,
                Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items()) if v],
            )
        except (BotoCoreError, ClientError) as exc:
            raise GantryError(
                f"could not write SSM parameter {parameter} in {region} ({exc}): check AWS credentials "
                "and ssm:PutParameter/AddTagsToResource permissions"
            ) from None
        versions[region] = int(response["Version"])
    return versions


def publish_from_manifest(
    manifest: Path, parameter: str | None = None, endpoint_url: str | None = None
) -> tuple[str, dict[str, str], dict[str, int]]:
    """Publish the manifest's latest ECS host AMIs; returns (parameter, AMI per region, versions)."""
    build = latest_build(manifest, AMI_BUILDER)
    customer = build.custom_data.get("customer", "")
    if not parameter and not customer:
        raise GantryError(f"manifest {manifest} names no customer: pass --parameter /gantry/<customer>/...")
    name = parameter_name(customer, parameter)
    amis = build.ami_ids()
    tags = {"gantry:customer": customer, "gantry:git-sha": build.custom_data.get("git_sha", "")}
    return name, amis, publish_ami_ids(amis, name, tags, endpoint_url)


@click.command()
@click.option("--manifest", type=click.Path(path_type=Path), required=True, help="Packer manifest JSON.")
@click.option("--parameter", default=None, help="SSM parameter name (default /gantry/<customer>/golden-ami/...).")
def main(manifest: Path, parameter: str | None) -> None:
    """Write the latest baked ECS host AMI IDs to SSM (called by packer/build.pkr.hcl)."""
    endpoint = os.environ.get(ENDPOINT_ENV) or None
    try:
        name, amis, versions = publish_from_manifest(manifest, parameter, endpoint)
    except GantryError as exc:
        raise click.ClickException(str(exc)) from None
    for region, ami in sorted(amis.items()):
        click.echo(f"published {name} = {ami} in {region} (version {versions[region]})")


if __name__ == "__main__":
    main()
