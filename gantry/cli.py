"""The single `gantry` entry point. Commands are thin: they parse options and call gantry.stages."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from gantry import runrecord
from gantry.config import config_path, load_config
from gantry.errors import GantryError
from gantry.stages.pipeline import Pipeline

out = Console(highlight=False)
ENV_OPTION = click.option("--env", "env", required=True, help="Environment name (staging, production...).")
REGION_OPTION = click.option("--region", default=None, help="primary, secondary or a region name (default: all).")


class Context:
    def __init__(self, config: str | None) -> None:
        self._config = config

    @property
    def pipeline(self) -> Pipeline:
        return Pipeline(load_config(self._config), str(config_path(self._config)))


pass_ctx = click.make_pass_decorator(Context)


@click.group()
@click.option(
    "--config",
    envvar="GANTRY_CONFIG",
    default=None,
    help="Environment file (default environments/example/local.yaml, or $GANTRY_CONFIG).",
)
@click.version_option(package_name="gantry")
@click.pass_context
def cli(ctx: click.Context, config: str | None) -> None:
    """gantry: ship a containerised service to two regions, locally or on AWS."""
    ctx.obj = Context(config)


# -- local target lifecycle --------------------------------------------------------------------------------


@cli.command()
@pass_ctx
def up(ctx: Context) -> None:
    """Start both local regions (registries, load balancers, source copies) and the monitoring stack."""
    from gantry.local import stack

    _components(stack.up(ctx.pipeline.cfg))


@cli.command()
def down() -> None:
    """Remove every container, process and file the local target created (the run directory)."""
    from gantry.local import stack

    removed = stack.down()
    out.print(f"removed {len(removed)} item(s)" + "".join(f"\n  {item}" for item in removed))


@cli.command()
@pass_ctx
def status(ctx: Context) -> None:
    """Show what runs, and which release each environment serves."""
    from gantry.local import stack

    pipeline = ctx.pipeline
    if pipeline.cfg.target == "local":
        _components(stack.status(pipeline.cfg))
    table = Table("environment", "region", "sha", "digest", "endpoint", title="releases")
    for env in pipeline.cfg.environments:
        for region in pipeline.cfg.regions_of(env):
            release = pipeline.target.current_release(env, region)
            table.add_row(
                env,
                region,
                release.sha[:12] if release else "-",
                release.digest[:19] if release else "-",
                pipeline.target.endpoint(env, region),
            )
    out.print(table)


def _components(rows: list) -> None:  # type: ignore[type-arg]
    table = Table("component", "address", "state")
    for row in rows:
        table.add_row(row.name, row.address, row.state)
    out.print(table)


# -- pipeline stages ---------------------------------------------------------------------------------------


@cli.command("base-image")
@click.option("--local-only", is_flag=True, help="Only make the image in the engine's store; do not push.")
@pass_ctx
def base_image(ctx: Context, local_only: bool) -> None:
    """Golden container base image: upstream pull if configured, else debootstrap; pushed and pinned."""
    click.echo(ctx.pipeline.base_image(local_only))


@cli.command()
@click.option("--allow-dirty", is_flag=True, help="Ship uncommitted changes under a '<sha>-dirty.<hash>' tag.")
@pass_ctx
def source(ctx: Context, allow_dirty: bool) -> None:
    """Start a run: record the commit and push it to the primary region's source copy."""
    click.echo(ctx.pipeline.source(allow_dirty).sha)


@cli.command()
@pass_ctx
def mirror(ctx: Context) -> None:
    """Mirror every ref of the source to the secondary region and verify both sides match."""
    for ref, sha in sorted(ctx.pipeline.mirror().items()):
        click.echo(f"{sha} {ref}")


@cli.command()
@click.option("--skip-tests", is_flag=True, help="Do not run the unit tests first.")
@pass_ctx
def build(ctx: Context, skip_tests: bool) -> None:
    """Run unit tests and build the image for the run's commit."""
    ctx.pipeline.build(skip_tests)


@cli.command()
@pass_ctx
def push(ctx: Context) -> None:
    """Push to the primary registry, replicate to the secondary, verify one digest in both."""
    click.echo(ctx.pipeline.push().digest)


@cli.command("deploy")
@ENV_OPTION
@REGION_OPTION
@click.option("--force", is_flag=True, help="Roll out again even if the region already serves this digest.")
@pass_ctx
def deploy_command(ctx: Context, env: str, region: str | None, force: bool) -> None:
    """Deploy the run's image to an environment, region by region (production needs an approval)."""
    ctx.pipeline.deploy(env, region, force)


@cli.command("smoke")
@ENV_OPTION
@REGION_OPTION
@pass_ctx
def smoke_command(ctx: Context, env: str, region: str | None) -> None:
    """HTTP checks through the environment's load balancers."""
    ctx.pipeline.smoke(env, region)


@cli.command()
@click.option("--approver", required=True, help="Your name as listed in approvals.approvers.")
@click.option("--digest", default=None, help="Digest to approve (default: the run's image).")
@click.option("--build-url", default=None, help="The CI build that asked for the approval.")
@pass_ctx
def approve(ctx: Context, approver: str, digest: str | None, build_url: str | None) -> None:
    """Approve the digest that passed staging for production."""
    click.echo(json.dumps(ctx.pipeline.approve(approver, digest, build_url), sort_keys=True))


@cli.command()
@ENV_OPTION
@REGION_OPTION
@click.option("--changed-by-run", is_flag=True, help="Only regions this run's deploys changed (CI failure handler).")
@pass_ctx
def rollback(ctx: Context, env: str, region: str | None, changed_by_run: bool) -> None:
    """Return each region of the environment to the release it served before."""
    ctx.pipeline.rollback(env, region, changed_by_run=changed_by_run)


@cli.command("verify")
@ENV_OPTION
@pass_ctx
def verify_command(ctx: Context, env: str) -> None:
    """Every region serves the run's digest (and, locally, Prometheus sees every replica up)."""
    ctx.pipeline.verify(env)


@cli.command("notify")
@click.option("--status", "status_", type=click.Choice(["success", "failure", "aborted"]), required=True)
@click.option("--stage", default=None, help="The stage that failed.")
@click.option("--message", default=None)
@pass_ctx
def notify_command(ctx: Context, status_: str, stage: str | None, message: str | None) -> None:
    """Send the run's notification event to every configured sink."""
    failures = ctx.pipeline.notify(status_, stage, message)
    if failures:
        raise GantryError(f"{len(failures)} notification sink(s) failed: {'; '.join(failures)}")


@cli.group()
def run() -> None:
    """The JSON run record."""


@run.command("show")
@click.option("--field", default=None, help="Print one field (sha, digest, tag, result...).")
@click.option("--run-id", default=None, help="Default: $GANTRY_RUN_ID, else the latest run.")
def run_show(field: str | None, run_id: str | None) -> None:
    record = runrecord.load(run_id)
    if field is None:
        click.echo(json.dumps(record, indent=2, sort_keys=True))
    elif field not in record:
        raise GantryError(f"the run record has no field '{field}': fields are {', '.join(sorted(record))}")
    else:
        value = record[field]
        click.echo(value if isinstance(value, str) else json.dumps(value, sort_keys=True))


@run.command("path")
def run_path() -> None:
    click.echo(runrecord.path_of(runrecord.current_run_id()))


@cli.group()
def pipeline() -> None:
    """The whole pipeline."""


@pipeline.command("run")
@click.option(
    "--approver",
    default=None,
    help="Approve as this approver when staging passes (the demo uses demo-approver); without it "
    "the run waits for `gantry approve` until approvals.timeout_seconds.",
)
@click.option("--allow-dirty", is_flag=True, help="Ship uncommitted changes under a '-dirty' tag.")
@click.option("--force", is_flag=True, help="Roll out even where the digest already runs.")
@pass_ctx
def pipeline_run(ctx: Context, approver: str | None, allow_dirty: bool, force: bool) -> None:
    """source → mirror → build → push → staging → smoke → approval → production (both regions) → verify."""
    p = ctx.pipeline
    try:
        record = p.run_all(approver, allow_dirty, force)
    finally:
        _summary(p)
    for region in p.cfg.regions_of("production"):
        out.print(f"production {region}: {p.target.endpoint('production', region)}")
    out.print(f"run record: {runrecord.path_of(record['run_id'])}")


def _summary(p: Pipeline) -> None:
    try:
        record = runrecord.load()
    except GantryError:
        return
    table = Table("stage", "seconds", "result", "detail", title=f"run {record['run_id']}: {record['result']}")
    for item in record["stages"]:
        colour = "green" if item["status"] == "ok" else "red"
        table.add_row(
            item["name"], f"{item['seconds']:.1f}", f"[{colour}]{item['status']}[/]", str(item.get("detail", ""))[:90]
        )
    table.add_row("total", f"{sum(s['seconds'] for s in record['stages']):.1f}", record["result"], "")
    out.print(table)


def _register_plugins() -> None:
    """Commands that live with their own area (Terraform, Packer, Jenkins, AWS)."""
    import importlib

    for module, names in {
        "gantry.newenv.cli": ["new_env"],
        "gantry.bake.cli": ["bake"],
        "gantry.jenkins.cli": ["jenkins"],
        "gantry.targets.aws.cli": ["dr", "doctor", "import_terraform"],
    }.items():
        if Path(__file__).parent.joinpath(*module.split(".")[1:]).with_suffix(".py").is_file():
            loaded = importlib.import_module(module)
            for name in names:
                command = getattr(loaded, name)
                cli.add_command(command, command.name)


_register_plugins()


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except GantryError as exc:
        Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {exc}", soft_wrap=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)


if __name__ == "__main__":
    main()
