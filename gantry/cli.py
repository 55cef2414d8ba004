"""The single `gantry` entry point. Commands are thin: they parse options, make the target the environment file
names, resolve the run id once, and call gantry.stages.

Every failure ends as one line on stderr and a non-zero exit: a GantryError says what to fix; an interrupt
(Ctrl-C, SIGTERM) says what was rolled back; anything unexpected names its log file, where the traceback is.
"""

from __future__ import annotations

import contextlib
import json
import sys
import traceback
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TextIO

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gantry import runrecord
from gantry.config import GantryConfig, load_config
from gantry.errors import ConfigError, GantryError
from gantry.host import baseimage, engine
from gantry.paths import project_root, run_dir
from gantry.stages import approval, drill, interrupts
from gantry.stages.pipeline import Pipeline
from gantry.targets.base import Alert, Component, Target
from gantry.targets.factory import make_target

# Tables keep their width when stdout is a pipe or a CI log (no terminal to measure).
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 200)
ENV_OPTION = click.option("--env", "env", required=True, help="Environment name (staging, production...).")
REGION_OPTION = click.option("--region", default=None, help="primary, secondary or a region name (default: all).")


class Context:
    # The command being run, so a failure can still notify its run (see main).
    current: Context | None = None

    def __init__(self, config: str | None) -> None:
        self._config = config
        self.last: Pipeline | None = None
        Context.current = self

    @cached_property
    def cfg(self) -> GantryConfig:
        return load_config(self._config)

    @cached_property
    def target(self) -> Target:
        return make_target(self.cfg)

    def pipeline(self, run_id: str | None = None, *, new_run: bool = False) -> Pipeline:
        """The pipeline for this command; the run id is resolved here, once: a new run (new_run), the one
        given, or GANTRY_RUN_ID / the latest run."""
        pipeline = Pipeline(self.cfg, self.target, project_root(), run_id or runrecord.latest_run_id())
        if new_run:
            pipeline.start(runrecord.new_run_id())
        self.last = pipeline
        return pipeline


def _notify_run(status: str, message: str) -> None:
    """A command of a run failed or was interrupted: the run's notification goes out (once per run)."""
    ctx = Context.current
    pipeline = ctx.last if ctx else None
    if pipeline is None or pipeline.run_id is None or not runrecord.exists(pipeline.run_id):
        return
    # Notifying must never hide the error being reported, nor be cut short by a second Ctrl-C.
    with contextlib.suppress(Exception), interrupts.shielded():
        pipeline.notify(status, message=message)


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


# -- target lifecycle -------------------------------------------------------------------------------------


@cli.command()
@pass_ctx
def up(ctx: Context) -> None:
    """Start (local) or check (aws) everything the stages need."""
    _components(ctx.target.up())


@cli.command()
@click.option("--wait", is_flag=True, help="Wait for running deploys to finish instead of cancelling them.")
@pass_ctx
def down(ctx: Context, wait: bool) -> None:
    """Remove every container, process and file the local target created (running deploys are cancelled
    first, so they roll back, unless --wait)."""
    removed = ctx.target.down(wait=wait)
    out.print(f"removed {len(removed)} item(s)" + "".join(f"\n  {escape(item)}" for item in removed))


@dataclass(frozen=True)
class ReleaseRow:
    environment: str
    region: str
    sha: str | None
    digest: str | None
    healthy: int
    desired: int
    endpoint: str


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON record (components, releases, alerts) instead.")
@pass_ctx
def status(ctx: Context, as_json: bool) -> None:
    """Show what runs, which release each environment serves with how many healthy replicas, and the alerts
    firing now."""
    components = ctx.target.components()
    releases = []
    for env in ctx.cfg.environments:
        for region in ctx.cfg.regions_of(env):
            release = ctx.target.current_release(env, region)
            health = ctx.target.health(env, region)
            releases.append(
                ReleaseRow(
                    env,
                    region,
                    release.sha if release else None,
                    release.digest if release else None,
                    health.healthy,
                    health.desired,
                    ctx.target.endpoint(env, region),
                )
            )
    try:
        alerts: list[Alert] | None = ctx.target.firing_alerts()
    except GantryError:
        alerts = None  # the monitoring does not answer: the components table shows why
    if as_json:
        record = {
            "components": [asdict(c) for c in components],
            "releases": [asdict(r) for r in releases],
            "alerts": None if alerts is None else [asdict(a) for a in alerts],
        }
        click.echo(json.dumps(record, indent=2))
        return
    _components(components)
    table = Table("environment", "region", "sha", "digest", "healthy", "endpoint", title="releases")
    for row in releases:
        table.add_row(
            row.environment,
            row.region,
            row.sha[:12] if row.sha else "-",
            row.digest[:19] if row.digest else "-",
            f"{row.healthy}/{row.desired}",
            row.endpoint,
        )
    out.print(table)
    if alerts is None:
        out.print("alerts: the monitoring does not answer")
    elif not alerts:
        out.print("alerts: none firing")
    else:
        firing = Table("alert", "severity", "since", "summary", title="alerts firing")
        for alert in alerts:
            firing.add_row(escape(alert.name), alert.severity, alert.since[:19], escape(alert.summary))
        out.print(firing)


def _components(rows: list[Component]) -> None:
    table = Table("component", "address", "state")
    for row in rows:
        table.add_row(escape(row.name), escape(row.address), escape(row.state))
    out.print(table)


# -- pipeline stages ---------------------------------------------------------------------------------------


@cli.command("base-image")
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


@cli.command()
@click.option("--allow-dirty", is_flag=True, help="Ship uncommitted changes under a '<sha>-dirty.<hash>' tag.")
@pass_ctx
def source(ctx: Context, allow_dirty: bool) -> None:
    """Start a run: record the commit and push it to the primary region's source copy."""
    click.echo(ctx.pipeline(new_run=True).source(allow_dirty).sha)


@cli.command()
@pass_ctx
def mirror(ctx: Context) -> None:
    """Mirror every ref of the source to the secondary region and verify both sides match."""
    for ref, sha in sorted(ctx.pipeline().mirror().items()):
        click.echo(f"{sha} {ref}")


@cli.command()
@click.option("--skip-tests", is_flag=True, help="Do not run the unit tests first.")
@pass_ctx
def build(ctx: Context, skip_tests: bool) -> None:
    """Run unit tests and build the image for the run's commit."""
    ctx.pipeline().build(skip_tests)


@cli.command()
@pass_ctx
def push(ctx: Context) -> None:
    """Push to the primary registry, replicate to the secondary, verify one digest in both."""
    click.echo(ctx.pipeline().push().digest)


@cli.command("migrate")
@ENV_OPTION
@pass_ctx
def migrate_command(ctx: Context, env: str) -> None:
    """Apply the service's schema migrations (from the run's commit) to the environment's database."""
    for migration in ctx.pipeline().migrate(env) or ["schema up to date"]:
        click.echo(migration)


@cli.command("deploy")
@ENV_OPTION
@REGION_OPTION
@click.option("--force", is_flag=True, help="Roll out again even if the region already serves this digest.")
@pass_ctx
def deploy_command(ctx: Context, env: str, region: str | None, force: bool) -> None:
    """Deploy the run's image to an environment, region by region (production needs an approval)."""
    ctx.pipeline().deploy(env, region, force)


@cli.command("smoke")
@ENV_OPTION
@REGION_OPTION
@pass_ctx
def smoke_command(ctx: Context, env: str, region: str | None) -> None:
    """HTTP checks through the environment's load balancers."""
    checks = ctx.pipeline().smoke(env, region)
    click.echo(f"{len(checks)} checks passed")


@cli.command()
@click.option("--env", "env", default="production", show_default=True, help="The protected environment.")
@click.option("--approver", default=None, help="Your identity in the target's allowed signers (an e-mail).")
@click.option(
    "--key",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Your SSH private key (or its .pub with the key in ssh-agent); never stored.",
)
@click.option("--digest", default=None, help="Digest to approve, in full (default: the run's image).")
@click.option("--print", "print_only", is_flag=True, help="Print the signed approval instead of storing it.")
@click.option(
    "--import",
    "import_file",
    type=click.File("r"),
    default=None,
    help="Store a signed approval made elsewhere (from `--print`; Jenkins' approval step).",
)
@click.option("--submitter", default=None, help="With --import or --check: who asked (the approval must be theirs).")
@click.option("--check", "check_only", is_flag=True, help="Only check that a valid approval is on record.")
@pass_ctx
def approve(
    ctx: Context,
    env: str,
    approver: str | None,
    key: Path | None,
    digest: str | None,
    print_only: bool,
    import_file: TextIO | None,
    submitter: str | None,
    check_only: bool,
) -> None:
    """Sign an approval of the digest that passed staging for every protected target of an environment."""
    pipeline = ctx.pipeline()
    if check_only:
        statement = pipeline.check_approval(env, submitter)
        click.echo(f"approved by {statement.approver} until {statement.expires_at.isoformat()}")
        return
    if import_file is not None:
        raw = import_file.read()
        if not raw.strip():  # nothing pasted: the approver stored their approval themselves
            statement = pipeline.check_approval(env, submitter)
            click.echo(f"approved by {statement.approver} until {statement.expires_at.isoformat()}")
            return
        statement = pipeline.import_approval(raw, env=env, submitter=submitter)
        click.echo(f"stored the approval of {statement.approver}")
        return
    if approver is None or key is None:
        raise ConfigError("gantry approve needs --approver EMAIL and --key PATH (or --import FILE, or --check)")
    signed = pipeline.approve(approver, key, env=env, digest=digest, print_only=print_only)
    click.echo(json.dumps(signed.model_dump()) if print_only else f"stored the approval of {approver}")


@cli.command()
@click.option("--env", "env", default="production", show_default=True)
@pass_ctx
def approvers(ctx: Context, env: str) -> None:
    """Who may approve `env`: the approvers the protected targets' own policy lists (comma-separated)."""
    found = approval.protections(ctx.target, env, ctx.cfg.regions_of(env))
    if not found:
        raise ConfigError(f"no target of {env} is protected: it has no approvers")
    click.echo(",".join(approval.one_policy(found).approvers()))


@cli.command()
@ENV_OPTION
@REGION_OPTION
@click.option("--changed-by-run", is_flag=True, help="Only what this run's deploys changed (CI failure handler).")
@pass_ctx
def rollback(ctx: Context, env: str, region: str | None, changed_by_run: bool) -> None:
    """Return each region of the environment to the release it served before."""
    for line in ctx.pipeline().rollback(env, region, changed_by_run=changed_by_run):
        click.echo(line)


@cli.command()
@ENV_OPTION
@pass_ctx
def recover(ctx: Context, env: str) -> None:
    """Finish what an interrupted deploy left: every region back to one release."""
    for line in ctx.pipeline().recover(env) or ["nothing to recover"]:
        click.echo(line)


@cli.group("dr")
def dr_group() -> None:
    """Disaster recovery: drills that fail a region under load and measure RTO and RPO."""


@dr_group.command("drill")
@click.option("--env", "env", default="production", show_default=True, help="The environment to drill.")
@click.option(
    "--mode",
    type=click.Choice(["planned", "unplanned", "both"]),
    default="planned",
    show_default=True,
    help="planned: a switchover that loses nothing; unplanned: the region is lost at once.",
)
@click.option(
    "--allow-data-loss",
    is_flag=True,
    help="Needed for an unplanned drill: writes not yet replicated when the region is lost are gone.",
)
@click.option("--writers", default=4, show_default=True, type=click.IntRange(1, 32), help="Writing clients.")
@click.option("--readers", default=2, show_default=True, type=click.IntRange(0, 32), help="Reading clients.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), help="Evidence JSON path.")
@pass_ctx
def dr_drill(
    ctx: Context, env: str, mode: str, allow_data_loss: bool, writers: int, readers: int, report: Path | None
) -> None:
    """Fail the writer's region while clients read and write through the global entry, measure RTO and RPO,
    bring the region back as the standby, then the same the other way; write the JSON evidence."""
    modes: list[drill.Mode] = ["planned", "unplanned"] if mode == "both" else [mode]  # type: ignore[list-item]
    if "unplanned" in modes and not allow_data_loss:
        raise GantryError("an unplanned drill may lose unreplicated writes: add --allow-data-loss to run it")
    evidence = drill.DrillRun(ctx.target, env, writers=writers, readers=readers).run(modes)
    path = drill.write_evidence(evidence, report)
    table = Table("drill", "RTO s", "read RTO s", "RPO writes", "RPO s", "failed / requests", "goals", title=env)
    for item in evidence["drills"]:
        table.add_row(
            f"{item['mode']} {item['source']} → {item['destination']}",
            str(item["rto_seconds"]),
            str(item["read_rto_seconds"]),
            str(item["rpo_writes"]),
            str(item["rpo_seconds"]),
            f"{item['requests'].get('failed')} / {item['requests'].get('during_drill')}",
            "met" if item["goals_met"] else "; ".join(item["problems"]),
        )
    out.print(table)
    click.echo(f"evidence: {path}")
    if not evidence["ok"]:
        raise GantryError(f"the DR drill missed its goals: see {path}")


@dr_group.command("failover")
@click.option("--env", "env", default="production", show_default=True)
@click.option("--region", required=True, help="The region to fail over from (it holds the writer now).")
@click.option("--planned", is_flag=True, help="A switchover that loses nothing (the region still answers).")
@click.option("--allow-data-loss", is_flag=True, help="Needed without --planned: unreplicated writes are lost.")
@pass_ctx
def dr_failover(ctx: Context, env: str, region: str, planned: bool, allow_data_loss: bool) -> None:
    """Move the database writer and the traffic away from a region, for a real outage or maintenance (no load,
    no measurement: `gantry dr drill` is the rehearsal). Bring the region back with `gantry dr rejoin`."""
    ctx.cfg.check_region(env, region)
    if not planned and not allow_data_loss:
        raise GantryError("an unplanned failover may lose unreplicated writes: add --allow-data-loss (or --planned)")
    failover = ctx.target.failover()
    try:
        writer: str | None = failover.writer()
    except GantryError:
        writer = None  # no database takes writes: the region's primary is lost
    if writer is not None and writer != region:
        raise GantryError(f"{region} does not hold the database writer ({writer} does): nothing to move")
    if writer is None and planned:
        raise GantryError("no database takes writes, so there is nothing to switch over: drop --planned")
    steps = failover.fail(env, region, planned=planned, note=lambda text: err.print(f"  {escape(text)}"))
    click.echo(json.dumps(steps))
    click.echo(f"the writer is now in {failover.writer()}; run `gantry dr rejoin --env {env} --region {region}` next")


@dr_group.command("rejoin")
@click.option("--env", "env", default="production", show_default=True)
@click.option("--region", required=True, help="The region a drill or an outage left failed.")
@pass_ctx
def dr_rejoin(ctx: Context, env: str, region: str) -> None:
    """Bring a failed region back as the standby of the current writer (after an interrupted drill or a real
    outage): its database rewound to follow the writer, its load balancer serving."""
    ctx.cfg.check_region(env, region)
    failover = ctx.target.failover()
    if failover.writer() == region:
        raise GantryError(f"{region} holds the database writer: rejoin the other region")
    steps = failover.rejoin(env, region, note=lambda text: err.print(f"  {escape(text)}"))
    click.echo(json.dumps(steps))


@cli.command("verify")
@ENV_OPTION
@pass_ctx
def verify_command(ctx: Context, env: str) -> None:
    """Every region serves the run's digest, and the monitoring sees every replica."""
    ctx.pipeline().verify(env)


@cli.command("notify")
@click.option("--status", "status_", type=click.Choice(["success", "failure", "aborted"]), required=True)
@click.option("--stage", default=None, help="The stage that failed.")
@click.option("--message", default=None)
@pass_ctx
def notify_command(ctx: Context, status_: str, stage: str | None, message: str | None) -> None:
    """Send the run's notification event to every configured sink (once per run)."""
    failures = ctx.pipeline().notify(status_, stage, message)
    if failures:
        raise GantryError(f"{len(failures)} notification sink(s) failed: {'; '.join(failures)}")


@cli.group()
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


@cli.group()
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
    p = ctx.pipeline(new_run=True)
    try:
        p.run_all(approver, allow_dirty, force, key)
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


def _register_plugins() -> None:
    """Commands that live with their own area (Terraform, Packer, Jenkins, AWS)."""
    import importlib

    for module, names in {
        "gantry.newenv.cli": ["new_env"],
        "gantry.bake.cli": ["bake"],
        "gantry.jenkins.cli": ["jenkins"],
        "gantry.maintenance.cli": ["maintenance"],
        "gantry.targets.aws.cli": ["doctor", "import_terraform"],
    }.items():
        loaded = importlib.import_module(module)
        for name in names:
            command = getattr(loaded, name)
            cli.add_command(command, command.name)


_register_plugins()


def _log_unexpected(exc: BaseException) -> Path:
    log = run_dir() / "logs" / "gantry-errors.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as handle:
        handle.write(f"--- {datetime.now(UTC).isoformat()} gantry {' '.join(sys.argv[1:])}\n")
        handle.write("".join(traceback.format_exception(exc)))
    return log


def main() -> None:
    interrupts.install()
    try:
        cli.main(standalone_mode=False)
    except GantryError as exc:
        message = str(exc)
        if exc.__cause__ is not None:  # an unforeseen error wrapped on the way: its traceback goes to the log
            message += f" (traceback in {_log_unexpected(exc)})"
        err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
        _notify_run("failure", str(exc))
        sys.exit(exc.exit_code)
    except (interrupts.Interrupted, KeyboardInterrupt, click.exceptions.Abort) as exc:
        code = exc.exit_code if isinstance(exc, interrupts.Interrupted) else 130
        err.print(f"[bold red]interrupted[/] ({escape(str(exc) or 'SIGINT')}): any deploy in flight was rolled back")
        _notify_run("aborted", f"interrupted by {exc or 'SIGINT'}")
        sys.exit(code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except Exception as exc:  # the last line of defence: one line for the user, the traceback in a file
        log = _log_unexpected(exc)
        first = str(exc).splitlines()[0][:200] if str(exc) else ""
        err.print(
            f"[bold red]error:[/] unexpected {type(exc).__name__}: {escape(first)} (traceback in {log})", soft_wrap=True
        )
        _notify_run("failure", f"{type(exc).__name__}: {first}")
        sys.exit(1)


if __name__ == "__main__":
    main()
