"""The pipeline's stages, one subcommand each (what the Jenkinsfile calls), the run record and the whole run."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from gantry import runrecord
from gantry.commands.approve import show_proposal
from gantry.context import ENV_OPTION, REGION_OPTION, Context, err, out, pass_ctx
from gantry.errors import ConfigError, GantryError
from gantry.host import baseimage, engine, sshsig
from gantry.paths import project_root
from gantry.stages.approval import principal
from gantry.stages.pipeline import Pipeline
from gantry.stages.source import resolve as resolve_source


@click.command("base-image")
@click.option("--local-only", is_flag=True, help="Only make the Debian base in the engine's store; do not push.")
@click.option("--mirror", default=None, help="With --local-only: the Debian mirror (default: the one apt uses).")
@pass_ctx
def base_image(ctx: Context, local_only: bool, mirror: str | None) -> None:
    """The golden base image builds start FROM, pinned by digest (locally: debootstrap, then the primary
    registry; aws: the golden base `gantry bake --target container` published)."""
    if local_only:
        client = engine.connect({})
        spec = baseimage.BaseImageSpec(name=baseimage.DEFAULT_NAME, mirror=mirror)
        image = baseimage.ensure(client, spec, lambda text: err.print(escape(text)))
        click.echo(f"{baseimage.DEFAULT_NAME} {image.id}")
        return
    click.echo(ctx.pipeline().base_image())


@click.command()
@click.option("--allow-dirty", is_flag=True, help="Ship uncommitted changes under a '<sha>-dirty.<hash>' tag.")
@pass_ctx
def source(ctx: Context, allow_dirty: bool) -> None:
    """Start a run: record the commit and push it to the primary region's source copy."""
    if not allow_dirty:
        resolve_source(project_root(), allow_dirty=False)  # a tree it would refuse starts no run
    click.echo(ctx.pipeline(new_run=True).source(allow_dirty).sha)


@click.command()
@pass_ctx
def mirror(ctx: Context) -> None:
    """Mirror every ref of the source to the secondary region and verify both sides match."""
    for ref, sha in sorted(ctx.pipeline().mirror().items()):
        click.echo(f"{sha} {ref}")


@click.command()
@click.option("--skip-tests", is_flag=True, help="Do not run the unit tests first.")
@pass_ctx
def build(ctx: Context, skip_tests: bool) -> None:
    """Run unit tests and build the image for the run's commit."""
    ctx.pipeline().build(skip_tests)


@click.command()
@pass_ctx
def push(ctx: Context) -> None:
    """Push to the primary registry, replicate to the secondary, verify one digest in both."""
    click.echo(ctx.pipeline().push().digest)


@click.command("migrate")
@ENV_OPTION
@pass_ctx
def migrate_command(ctx: Context, env: str) -> None:
    """Apply the service's schema migrations (from the run's commit) to the environment's database."""
    for migration in ctx.pipeline().migrate(env) or ["schema up to date"]:
        click.echo(migration)


@click.command("deploy")
@ENV_OPTION
@REGION_OPTION
@click.option("--force", is_flag=True, help="Roll out again even if the region already serves this digest.")
@pass_ctx
def deploy_command(ctx: Context, env: str, region: str | None, force: bool) -> None:
    """Deploy the run's image to an environment, region by region (production needs an approval)."""
    ctx.pipeline().deploy(env, region, force)


@click.command("smoke")
@ENV_OPTION
@REGION_OPTION
@pass_ctx
def smoke_command(ctx: Context, env: str, region: str | None) -> None:
    """HTTP checks through the environment's load balancers."""
    checks = ctx.pipeline().smoke(env, region)
    click.echo(f"{len(checks)} checks passed")


@click.command()
@ENV_OPTION
@REGION_OPTION
@click.option("--changed-by-run", is_flag=True, help="Only what this run's deploys changed (CI failure handler).")
@pass_ctx
def rollback(ctx: Context, env: str, region: str | None, changed_by_run: bool) -> None:
    """Return each region of the environment to the release it served before."""
    for line in ctx.pipeline().rollback(env, region, changed_by_run=changed_by_run):
        click.echo(line)


@click.command()
@ENV_OPTION
@pass_ctx
def recover(ctx: Context, env: str) -> None:
    """Finish what an interrupted deploy left: every region back to one release."""
    for line in ctx.pipeline().recover(env) or ["nothing to recover"]:
        click.echo(line)


@click.command("verify")
@ENV_OPTION
@pass_ctx
def verify_command(ctx: Context, env: str) -> None:
    """Every region serves the run's digest, and the monitoring sees every replica."""
    ctx.pipeline().verify(env)


@click.command("notify")
@click.option("--status", "status_", type=click.Choice(["success", "failure", "aborted"]), required=True)
@click.option("--stage", default=None, help="The stage that failed.")
@click.option("--message", default=None)
@click.option(
    "--identity",
    default="build",
    show_default=True,
    help="Who sends it: build, or a protected environment (on a release agent, which holds only that identity).",
)
@pass_ctx
def notify_command(ctx: Context, status_: str, stage: str | None, message: str | None, identity: str) -> None:
    """Send the run's notification event to every configured sink (once per run)."""
    if identity != "build" and not ctx.cfg.is_protected(identity):
        raise ConfigError(
            f"--identity {identity}: pass build or a protected environment ({', '.join(ctx.cfg.approvals.protected)})"
        )
    failures = ctx.pipeline().notify(status_, stage, message, identity=identity)
    if failures:
        raise GantryError(f"{len(failures)} notification sink(s) failed: {'; '.join(failures)}")


@click.group()
def run() -> None:
    """The JSON run record."""


@run.command("show")
@click.option("--field", default=None, help="Print one field (sha, digest, tag, result...).")
@click.option("--run-id", default=None, help="Default: $GANTRY_RUN_ID, else the latest run.")
def run_show(field: str | None, run_id: str | None) -> None:
    record = runrecord.load(run_id or runrecord.require_run_id()).model_dump(mode="json")
    if field is None:
        click.echo(json.dumps(record, indent=2, sort_keys=True))
    elif field not in record:
        raise GantryError(f"the run record has no field '{field}': fields are {', '.join(sorted(record))}")
    else:
        value = record[field]
        click.echo(value if isinstance(value, str) else json.dumps(value, sort_keys=True))


@run.command("path")
def run_path() -> None:
    click.echo(runrecord.path_of(runrecord.require_run_id()))


@click.group()
def pipeline() -> None:
    """The whole pipeline."""


@pipeline.command("run")
@click.option(
    "--approver",
    default=None,
    help="Sign the approval as this approver when staging passes (with --key; the local demo signer needs "
    "none); without it the run waits for `gantry approve` until approvals.timeout_seconds.",
)
@click.option("--key", type=click.Path(dir_okay=False, path_type=Path), default=None, help="The approver's SSH key.")
@click.option("--allow-dirty", is_flag=True, help="Ship uncommitted changes under a '-dirty' tag.")
@click.option("--force", is_flag=True, help="Roll out even where the digest already runs.")
@pass_ctx
def pipeline_run(ctx: Context, approver: str | None, key: Path | None, allow_dirty: bool, force: bool) -> None:
    """source → mirror → base image → build → push → staging → smoke → approval → production → verify."""
    # What it would refuse later starts no run: an approver or key that cannot sign, a dirty tree.
    if approver is not None:
        principal(approver)
    if key is not None:
        sshsig.check_key(key)
    if not allow_dirty:
        resolve_source(project_root(), allow_dirty=False)
    p = ctx.pipeline(new_run=True)
    try:
        p.run_all(approver, allow_dirty, force, key, on_proposal=show_proposal)
    finally:
        _summary(p)
    for region in p.cfg.regions_of("production"):
        out.print(f"production {region}: {p.target.endpoint('production', region)}")
    if entry := p.target.global_endpoint("production"):
        out.print(f"production, both regions (global entry): {entry}")
    out.print(f"run record: {runrecord.path_of(p._run())}")


def _summary(p: Pipeline) -> None:
    if p.run_id is None or not runrecord.exists(p.run_id):
        return
    record = runrecord.load(p.run_id)
    table = Table("stage", "seconds", "result", "detail", title=f"run {record.run_id}: {record.result}")
    for item in record.stages:
        colour = "green" if item.status == "ok" else "red"
        table.add_row(escape(item.name), f"{item.seconds:.1f}", f"[{colour}]{item.status}[/]", escape(item.detail[:90]))
    table.add_row("total", f"{sum(s.seconds for s in record.stages):.1f}", record.result, "")
    out.print(table)


COMMANDS: list[click.Command] = [
    base_image,
    source,
    mirror,
    build,
    push,
    migrate_command,
    deploy_command,
    smoke_command,
    rollback,
    recover,
    verify_command,
    notify_command,
    run,
    pipeline,
]
