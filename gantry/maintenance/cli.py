"""`gantry maintenance approve|check`: signed approvals of one maintenance playbook run on a protected environment
(the ansible-maintenance Jenkins job), made, printed, imported and checked as `gantry approve` does for deploys.

An approver signs the playbook, the host limit and the commit on their own machine (`approve --print`); the job
imports the pasted statement as the user Jenkins authenticated (`approve --import FILE --submitter USER`) and
checks it again right before the playbook changes hosts (`check`). The rules are gantry.stages.approval's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

import click

from gantry.commands.signing import signing_options
from gantry.config import GantryConfig, load_config, root_config_option
from gantry.errors import ConfigError
from gantry.stages import operations
from gantry.targets.base import Target
from gantry.targets.factory import make_target

ENV_OPTION = click.option("--env", "env", default="production", show_default=True, help="The protected environment.")
PLAYBOOK_OPTION = click.option("--playbook", required=True, help="Playbook in ansible/playbooks/maintenance/.")
LIMIT_OPTION = click.option("--limit", required=True, help="Host pattern, exactly as ansible-playbook gets it.")
SHA_OPTION = click.option("--sha", required=True, help="Commit the playbook runs from, in full (40 hex digits).")
SUBMITTER_OPTION = click.option("--submitter", default=None, help="Who asked (the approval must be theirs).")


def _target(ctx: click.Context) -> tuple[GantryConfig, Target]:
    cfg = load_config(root_config_option(ctx))
    return cfg, make_target(cfg)


@click.group(name="maintenance")
def maintenance() -> None:
    """Approve maintenance playbook runs on a protected environment (the ansible-maintenance job)."""


@maintenance.command("approve")
@ENV_OPTION
@PLAYBOOK_OPTION
@LIMIT_OPTION
@SHA_OPTION
@signing_options("Store a signed approval made elsewhere (from `--print`; the job's approval step).")
@SUBMITTER_OPTION
@click.pass_context
def approve(
    ctx: click.Context,
    env: str,
    playbook: str,
    limit: str,
    sha: str,
    approver: str | None,
    key: Path | None,
    print_only: bool,
    import_file: TextIO | None,
    submitter: str | None,
) -> None:
    """Sign an approval to run one playbook with one limit, at one commit, on every protected target of ENV."""
    cfg, target = _target(ctx)
    if import_file is not None:
        raw = import_file.read()
        if not raw.strip():  # nothing pasted: the approver stored their approval themselves
            statement = operations.verify_maintenance(
                cfg, target, env=env, playbook=playbook, limit=limit, sha=sha, submitter=submitter
            )
            click.echo(f"approved by {statement.approver} until {statement.expires_at.isoformat()}")
            return
        statement = operations.import_maintenance(
            cfg, target, raw, env=env, playbook=playbook, limit=limit, sha=sha, submitter=submitter
        )
        click.echo(f"stored the approval of {statement.approver}")
        return
    if approver is None or key is None:
        raise ConfigError("gantry maintenance approve needs --approver EMAIL and --key PATH (or --import FILE)")
    signed = operations.approve_maintenance(
        cfg,
        target,
        env=env,
        playbook=playbook,
        limit=limit,
        sha=sha,
        approver=approver,
        key=key,
        store_it=not print_only,
    )
    click.echo(json.dumps(signed.model_dump()) if print_only else f"stored the approval of {approver}")


@maintenance.command("check")
@ENV_OPTION
@PLAYBOOK_OPTION
@LIMIT_OPTION
@SHA_OPTION
@SUBMITTER_OPTION
@click.pass_context
def check(ctx: click.Context, env: str, playbook: str, limit: str, sha: str, submitter: str | None) -> None:
    """Exit 0 only if a valid approval of exactly this run is on record (the job runs it before the playbook)."""
    cfg, target = _target(ctx)
    statement = operations.verify_maintenance(
        cfg, target, env=env, playbook=playbook, limit=limit, sha=sha, submitter=submitter
    )
    click.echo(f"approved by {statement.approver} until {statement.expires_at.isoformat()}")
