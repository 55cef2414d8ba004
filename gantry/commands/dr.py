"""`gantry dr`: disaster-recovery drills and operations. On a protected environment each needs a signed approval
of exactly that operation and its parameters, used once (gantry.stages.operations): moving production's writer
and traffic is a production change like a deploy."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TextIO

import click
from rich.markup import escape
from rich.table import Table

from gantry import runrecord
from gantry.approvals import Operation
from gantry.commands.signing import signer_options, signing_options
from gantry.context import Context, err, out, pass_ctx
from gantry.errors import ConfigError, GantryError
from gantry.names import printable
from gantry.stages import approval, drill, operations

OPERATIONS = ["dr-drill", "dr-failover", "dr-rejoin"]
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]")
PARAMETERS: dict[str, dict[str, re.Pattern[str]]] = {
    "dr-drill": {"mode": re.compile("planned|unplanned|both")},
    "dr-failover": {"region": REGION, "planned": re.compile("true|false")},
    "dr-rejoin": {"region": REGION},
}
SIGN_HERE = signer_options("Sign the approval of this operation here as this approver (with --key).")


@click.group("dr")
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
@SIGN_HERE
@pass_ctx
def dr_drill(
    ctx: Context,
    env: str,
    mode: str,
    allow_data_loss: bool,
    writers: int,
    readers: int,
    report: Path | None,
    approver: str | None,
    key: Path | None,
) -> None:
    """Fail the writer's region while clients read and write through the global entry, measure RTO and RPO,
    bring the region back as the standby, then the same the other way; write the JSON evidence. A protected
    environment needs an approval of this drill (`gantry dr approve`, or --approver/--key to sign it here)."""
    modes: list[drill.Mode] = ["planned", "unplanned"] if mode == "both" else [mode]  # type: ignore[list-item]
    if "unplanned" in modes and not allow_data_loss:
        raise GantryError("an unplanned drill may lose unreplicated writes: add --allow-data-loss to run it")
    profile = ctx.cfg.service.traffic
    if profile is None:
        raise ConfigError(
            f"{ctx.cfg.service.file} declares no traffic profile: a drill drives the service with it (add traffic:)"
        )
    run = drill.DrillRun(ctx.act_as(env), env, profile, writers=writers, readers=readers)
    evidence = run.run(modes, admit=lambda: _admit(ctx, env, "dr-drill", {"mode": mode}, approver, key))
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
@SIGN_HERE
@pass_ctx
def dr_failover(
    ctx: Context,
    env: str,
    region: str,
    planned: bool,
    allow_data_loss: bool,
    approver: str | None,
    key: Path | None,
) -> None:
    """Move the database writer and the traffic away from a region, for a real outage or maintenance (no load,
    no measurement: `gantry dr drill` is the rehearsal). Bring the region back with `gantry dr rejoin`."""
    ctx.cfg.check_region(env, region)
    if not planned and not allow_data_loss:
        raise GantryError("an unplanned failover may lose unreplicated writes: add --allow-data-loss (or --planned)")
    failover = ctx.act_as(env).failover()
    try:
        writer: str | None = failover.writer()
    except GantryError:
        writer = None  # no database takes writes: the region's primary is lost
    if writer is not None and writer != region:
        raise GantryError(f"{region} does not hold the database writer ({writer} does): nothing to move")
    if writer is None and planned:
        raise GantryError("no database takes writes, so there is nothing to switch over: drop --planned")
    _admit(ctx, env, "dr-failover", {"region": region, "planned": str(planned).lower()}, approver, key)
    steps = failover.fail(env, region, planned=planned, note=lambda text: err.print(f"  {escape(text)}"))
    click.echo(json.dumps(steps))
    click.echo(f"the writer is now in {failover.writer()}; run `gantry dr rejoin --env {env} --region {region}` next")


@dr_group.command("rejoin")
@click.option("--env", "env", default="production", show_default=True)
@click.option("--region", required=True, help="The region a drill or an outage left failed.")
@SIGN_HERE
@pass_ctx
def dr_rejoin(ctx: Context, env: str, region: str, approver: str | None, key: Path | None) -> None:
    """Bring a failed region back as the standby of the current writer (after an interrupted drill or a real
    outage): its database rewound to follow the writer, its load balancer serving."""
    ctx.cfg.check_region(env, region)
    failover = ctx.act_as(env).failover()
    if failover.writer() == region:
        raise GantryError(f"{region} holds the database writer: rejoin the other region")
    _admit(ctx, env, "dr-rejoin", {"region": region}, approver, key)
    steps = failover.rejoin(env, region, note=lambda text: err.print(f"  {escape(text)}"))
    click.echo(json.dumps(steps))


@dr_group.command("approve")
@click.option("--env", "env", default="production", show_default=True)
@click.option("--operation", type=click.Choice(OPERATIONS), required=True, help="What the approval lets run once.")
@click.option("--param", "params", multiple=True, help="NAME=VALUE, exactly as the operation takes them (repeat).")
@signing_options("Store a signed approval made elsewhere (from `--print`; the drill job's approval step).")
@pass_ctx
def dr_approve(
    ctx: Context,
    env: str,
    operation: Operation,
    params: tuple[str, ...],
    approver: str | None,
    key: Path | None,
    print_only: bool,
    import_file: TextIO | None,
) -> None:
    """Sign (or import) an approval of one DR operation on a protected environment, used once: dr-drill
    (mode=planned|unplanned|both), dr-failover (region=R, planned=true|false), dr-rejoin (region=R)."""
    parameters = _parameters(operation, params)
    ctx.act_as(env if import_file is not None or not print_only else None)
    if import_file is not None:
        signed = approval.parse_pasted(import_file.read(), "gantry dr approve --print")
        operations.check_operation(
            ctx.cfg, ctx.target, env=env, operation=operation, parameters=parameters, signed=signed
        )
        approval.store(ctx.target, env, signed)
        click.echo(f"stored the approval of {signed.parse().approver}")
        return
    if approver is None or key is None:
        raise ConfigError("gantry dr approve needs --approver EMAIL and --key PATH (or --import FILE)")
    signed = operations.approve_operation(
        ctx.cfg, ctx.target, env=env, operation=operation, parameters=parameters, approver=approver, key=key,
        store_it=not print_only,
    )  # fmt: skip
    click.echo(json.dumps(signed.model_dump()) if print_only else f"stored the approval of {approver}")


def _parameters(operation: Operation, params: tuple[str, ...]) -> dict[str, str]:
    wanted = PARAMETERS[operation]
    parsed: dict[str, str] = {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep or name not in wanted or not wanted[name].fullmatch(value):
            expected = ", ".join(f"{k}={v.pattern}" for k, v in wanted.items())
            raise ConfigError(f"--param {printable(item)}: {operation} takes {expected}")
        parsed[name] = value
    missing = sorted(set(wanted) - set(parsed))
    if missing:
        raise ConfigError(f"{operation} needs --param {missing[0]}=...")
    return parsed


def _admit(
    ctx: Context, env: str, operation: Operation, parameters: dict[str, str], approver: str | None, key: Path | None
) -> None:
    """On a protected environment: a valid, unused approval of exactly this operation, used now; with
    --approver the approver signs it here first (the local demo signer needs no key)."""
    if not operations.protected(ctx.cfg, ctx.target, env):
        return
    if approver is not None:
        signing_key = key
        if signing_key is None and approver == ctx.cfg.approvals.demo_signer:
            signing_key = ctx.target.demo_key()
        if signing_key is None:
            raise ConfigError(f"pass --key with {approver}'s SSH key (only the local demo signer has a key here)")
        operations.approve_operation(
            ctx.cfg, ctx.target, env=env, operation=operation, parameters=parameters, approver=approver,
            key=signing_key,
        )  # fmt: skip
    run_id = runrecord.latest_run_id() or operation
    statement = operations.use_operation(
        ctx.cfg, ctx.target, env=env, operation=operation, parameters=parameters, run_id=run_id
    )
    err.print(f"  {operation} approved by {escape(statement.approver)}")


COMMANDS: list[click.Command] = [dr_group]
