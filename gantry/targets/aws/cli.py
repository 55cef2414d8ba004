"""aws-only commands registered in gantry/cli.py: `gantry doctor` and `gantry aws-import`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from gantry.config import GantryConfig, config_path, load_config, root_config_option
from gantry.errors import ConfigError, GantryError
from gantry.targets.aws.doctor import run_checks
from gantry.targets.aws.target import AwsTarget
from gantry.targets.aws.tfimport import import_outputs


def _aws_config(ctx: click.Context) -> GantryConfig:
    cfg = load_config(root_config_option(ctx))
    if cfg.target != "aws":
        raise ConfigError("this command needs an aws environment file: pass --config environments/<c>/aws.yaml")
    return cfg


@click.command("doctor")
@click.option("--digest", help="image digest that must be present in both regions (default: production's)")
@click.option("--json", "as_json", is_flag=True, help="print the checks as JSON")
@click.pass_context
def doctor(ctx: click.Context, digest: str | None, as_json: bool) -> None:
    """Check credentials, regions, stack outputs and the image in both regions; print what is missing."""
    checks = run_checks(AwsTarget(_aws_config(ctx)), digest)
    if as_json:
        click.echo(json.dumps([c.__dict__ for c in checks], indent=2))
    else:
        for check in checks:
            click.echo(f"{'ok  ' if check.ok else 'MISS'} {check.name}: {check.detail}")
    missing = [c.name for c in checks if not c.ok]
    if missing:
        raise GantryError(f"{len(missing)} check(s) failed: {', '.join(missing)[:200]}: fix them and re-run")


@click.command("aws-import")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="write here instead of --config")
@click.option("--env", help="environment a per-environment stack's `deploy_targets` output belongs to")
@click.pass_context
def import_terraform(ctx: click.Context, source: Path, out: Path | None, env: str | None) -> None:
    """Fill the aws section from `terraform output -json` (a Terraform directory or a saved JSON file)."""
    written = import_outputs(config_path(root_config_option(ctx)), source, out, env)
    click.echo(f"wrote {written}")
