"""`gantry approve`, `gantry approvers` and `gantry change`: what an approver is shown, and signing, importing and
checking deploy approvals."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

import click
from rich.markup import escape
from rich.table import Table

from gantry import approvals
from gantry.commands.signing import signing_options
from gantry.context import Context, err, pass_ctx
from gantry.errors import ConfigError
from gantry.names import printable
from gantry.stages import approval

# Without committers' keys, author and committer are what each commit says of itself (anyone can write them).
UNVERIFIED = (
    "Authors and committers are as the commits state them, not verified: list the committers' SSH keys in "
    "approvals.committers_allowed_signers to require signed commits"
)


@click.command()
@click.option("--env", "env", default="production", show_default=True, help="The protected environment.")
@signing_options("Store a signed approval made elsewhere (from `--print`; Jenkins' approval step).")
@click.option(
    "--digest", default=None, help="Digest to approve (or, with --check or an empty --import, to check), in full."
)
@click.option("--submitter", default=None, help="With --import or --check: who asked (the approval must be theirs).")
@click.option("--check", "check_only", is_flag=True, help="Only check that a valid approval is on record.")
@click.option("--yes", is_flag=True, help="Sign without asking (scripts); the statement is printed either way.")
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
    yes: bool,
) -> None:
    """Sign an approval of the digest that passed staging for every protected target of an environment: the
    statement (commit, commits since what the environment runs, task definition, targets) is shown first."""
    pipeline = ctx.pipeline()
    if check_only:
        statement = pipeline.check_approval(env, submitter, digest)
        click.echo(f"approved by {statement.approver} until {statement.expires_at.isoformat()}")
        return
    if import_file is not None:
        raw = import_file.read()
        if not raw.strip():  # nothing pasted: the approver stored their approval themselves
            statement = pipeline.check_approval(env, submitter, digest)
            click.echo(f"approved by {statement.approver} until {statement.expires_at.isoformat()}")
            return
        statement = pipeline.import_approval(raw, env=env, submitter=submitter, digest=digest)
        click.echo(f"stored the approval of {statement.approver}")
        return
    if approver is None or key is None:
        raise ConfigError("gantry approve needs --approver EMAIL and --key PATH (or --import FILE, or --check)")
    if not yes and not sys.stdin.isatty():
        raise ConfigError("gantry approve asks before it signs: run it in a terminal, or pass --yes")
    proposal = pipeline.propose(approver, env=env, digest=digest)
    show_proposal(proposal)
    if not yes:
        click.confirm(f"Sign this as {approver}?", abort=True, err=True)
    signed = pipeline.approve(proposal, key, env=env, print_only=print_only)
    click.echo(json.dumps(signed.model_dump()) if print_only else f"stored the approval of {approver}")


def show_proposal(proposal: approval.Proposal) -> None:
    """What the approver signs, on stderr (stdout carries `--print`'s statement)."""
    statement, made = proposal.statement, proposal.change
    subject = statement.subject
    assert isinstance(subject, approvals.DeploySubject)  # noqa: S101 (propose() makes deploy statements)
    table = Table(
        "field", "value", title=f"approval of {subject.service} for {statement.customer}/{subject.environment}"
    )
    table.add_row("commit", subject.sha)
    table.add_row("image digest", subject.digest)
    table.add_row("task definition", f"sha256 {subject.task_definition}")
    table.add_row("exceptions", ", ".join(subject.exceptions) or "none")
    table.add_row("since", subject.since or "nothing runs there yet (every commit of the history)")
    table.add_row("targets", "\n".join(escape(t) for t in subject.targets))
    table.add_row("valid until", statement.expires_at.isoformat())
    err.print(table)
    commits = Table("commit", "author", "committer", "subject", title=f"{len(made.commits)} commit(s) in this change")
    for commit in made.commits[:50]:
        commits.add_row(commit.sha[:12], escape(commit.author), escape(commit.committer), escape(commit.subject))
    if len(made.commits) > 50:
        commits.add_row("...", "", "", f"and {len(made.commits) - 50} more")
    err.print(commits)
    if made.commits and not proposal.signatures_checked:
        err.print(f"[yellow]{UNVERIFIED}[/yellow]")


@click.command()
@click.option("--env", "env", default="production", show_default=True)
@pass_ctx
def approvers(ctx: Context, env: str) -> None:
    """Who may approve `env`: the approvers the protected targets' own policy lists (comma-separated)."""
    found = approval.protections(ctx.cfg, ctx.act_as("build"), env, ctx.cfg.regions_of(env))
    if not found:
        raise ConfigError(f"no target of {env} is protected: it has no approvers")
    click.echo(",".join(approval.one_policy(found).approvers()))


@click.command("change")
@click.option("--env", "env", default="production", show_default=True, help="The environment the release would enter.")
@pass_ctx
def change_command(ctx: Context, env: str) -> None:
    """What the run's release would change in an environment, one line each (Jenkins shows it to approvers):
    the commit, whether it was built from uncommitted changes, the task definition's hash and exceptions, and
    every commit since what the environment runs, with its author and committer."""
    ctx.cfg.environment(env)  # an unknown environment is refused before anything else is asked
    pipeline = ctx.pipeline()
    record = pipeline.record()
    made = pipeline.change(env)
    click.echo(f"Built from uncommitted changes: {'YES (staging only)' if record.dirty else 'no'}")
    click.echo(f"Task definition: sha256 {made.task_definition} (exceptions: {', '.join(made.exceptions) or 'none'})")
    click.echo(f"Commits since {made.since[:12] if made.since else 'the start of the history'}: {len(made.commits)}")
    if made.commits and ctx.cfg.approvals.committers_allowed_signers is None:
        click.echo(UNVERIFIED)
    for commit in made.commits[:30]:
        who = (
            commit.author if commit.author == commit.committer else f"{commit.author}, committed by {commit.committer}"
        )
        click.echo(f"  {commit.sha[:12]} {printable(commit.subject, 72)} ({who})")
    if len(made.commits) > 30:
        click.echo(f"  ... and {len(made.commits) - 30} more (gantry approve shows them all)")


COMMANDS: list[click.Command] = [change_command, approve, approvers]
