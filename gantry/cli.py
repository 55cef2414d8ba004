"""The single `gantry` entry point. Commands are thin: they parse options, make the target the environment file
names, resolve the run id once, and call gantry.stages.

Every failure ends as one line on stderr and a non-zero exit: a GantryError says what to fix; an interrupt
(Ctrl-C, SIGTERM) says what was rolled back; anything unexpected names its log file, where the traceback is.
"""

from __future__ import annotations

import json
import sys
import traceback
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import click
from rich.markup import escape
from rich.table import Table

from gantry.commands import approve, dr, stages
from gantry.context import Context, err, notify_run, out, pass_ctx
from gantry.errors import GantryError
from gantry.jsonfile import CorruptState
from gantry.paths import run_dir
from gantry.stages import interrupts
from gantry.targets.base import Alert, Component


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
    _components(ctx.act_as("build").up())


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
    service: str
    environment: str
    region: str
    sha: str | None
    digest: str | None
    healthy: int
    desired: int
    endpoint: str
    problem: str | None = None  # its state could not be read (the file and the fix)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON record (components, releases, alerts) instead.")
@pass_ctx
def status(ctx: Context, as_json: bool) -> None:
    """Show what runs, which release each environment serves with how many healthy replicas, and the alerts
    firing now."""
    components = ctx.act_as("build").components()
    releases = []
    for env in ctx.cfg.environments:
        for region in ctx.cfg.regions_of(env):
            endpoint = ctx.target.endpoint(env, region)
            try:
                release = ctx.target.current_release(env, region)
                health = ctx.target.health(env, region)
            except CorruptState as exc:  # one damaged file hides nothing else
                releases.append(ReleaseRow(ctx.cfg.service.name, env, region, None, None, 0, 0, endpoint, str(exc)))
                continue
            releases.append(
                ReleaseRow(
                    ctx.cfg.service.name,
                    env,
                    region,
                    release.sha if release else None,
                    release.digest if release else None,
                    health.healthy,
                    health.desired,
                    endpoint,
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
        _unreadable(releases)
        return
    _components(components)
    table = Table("service", "environment", "region", "sha", "digest", "healthy", "endpoint", title="releases")
    for row in releases:
        table.add_row(
            row.service,
            row.environment,
            row.region,
            row.sha[:12] if row.sha else "-",
            row.digest[:19] if row.digest else "-",
            f"{row.healthy}/{row.desired}" if row.problem is None else "unreadable",
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
    _unreadable(releases)


def _unreadable(rows: list[ReleaseRow]) -> None:
    """Everything readable was shown; a damaged state file still ends the command as failed, naming it."""
    problems = [row.problem for row in rows if row.problem is not None]
    if problems:
        raise GantryError(problems[0] + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""))


def _components(rows: list[Component]) -> None:
    table = Table("component", "address", "state")
    for row in rows:
        table.add_row(escape(row.name), escape(row.address), escape(row.state))
    out.print(table)


def _register_plugins() -> None:
    """The stage, approval and DR commands, and those that live with their own area (Terraform, Packer,
    Jenkins, AWS)."""
    import importlib

    for command in [*stages.COMMANDS, *approve.COMMANDS, *dr.COMMANDS]:
        cli.add_command(command)

    for module, names in {
        "gantry.newenv.cli": ["new_env"],
        "gantry.newservice.cli": ["new_service"],
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


def _log_unexpected(exc: BaseException) -> str:
    """Where the traceback of `exc` went: the run directory's error log, or stderr when that cannot be written
    (the error handler must never fail on its own)."""
    text = f"--- {datetime.now(UTC).isoformat()} gantry {' '.join(sys.argv[1:])}\n" + "".join(
        traceback.format_exception(exc)
    )
    try:
        log = run_dir() / "logs" / "gantry-errors.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as handle:
            handle.write(text)
        return str(log)
    except (OSError, GantryError):
        sys.stderr.write(text)
        return "stderr, above"


def main() -> None:
    interrupts.install()
    try:
        cli.main(standalone_mode=False)
    except GantryError as exc:
        message = str(exc)
        if exc.__cause__ is not None:  # an unforeseen error wrapped on the way: its traceback goes to the log
            message += f" (traceback in {_log_unexpected(exc)})"
        err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
        notify_run("failure", str(exc))
        sys.exit(exc.exit_code)
    except (interrupts.Interrupted, KeyboardInterrupt, click.exceptions.Abort) as exc:
        code = exc.exit_code if isinstance(exc, interrupts.Interrupted) else 130
        err.print(f"[bold red]interrupted[/] ({escape(str(exc) or 'SIGINT')}): any deploy in flight was rolled back")
        notify_run("aborted", f"interrupted by {exc or 'SIGINT'}")
        sys.exit(code)
    except click.UsageError as exc:
        # One line, like every other refusal: what is wrong, and where the command's usage is.
        where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
        err.print(f"[bold red]error:[/] {escape(exc.format_message())}{escape(where)}", soft_wrap=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        err.print(f"[bold red]error:[/] {escape(exc.format_message())}", soft_wrap=True)
        sys.exit(2)
    except Exception as exc:  # the last line of defence: one line for the user, the traceback in a file
        log = _log_unexpected(exc)
        first = str(exc).splitlines()[0][:200] if str(exc) else ""
        err.print(
            f"[bold red]error:[/] unexpected {type(exc).__name__}: {escape(first)} (traceback in {log})", soft_wrap=True
        )
        notify_run("failure", f"{type(exc).__name__}: {first}")
        sys.exit(1)


if __name__ == "__main__":
    main()
