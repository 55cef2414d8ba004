"""`gantry jenkins ...`: one-click deploys, approvals and job sync against the Jenkins controller.

Credentials come from JENKINS_URL / JENKINS_USER / JENKINS_API_TOKEN or a chmod-600 config file (see
gantry.jenkins.credentials); there is deliberately no option for them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TextIO

import click

from gantry.errors import ConfigError, GantryError
from gantry.jenkins import sync as job_sync
from gantry.jenkins.api import Controller, PendingInput
from gantry.jenkins.credentials import load_credentials
from gantry.jenkins.follow import BuildRef, Pacing, final_result, pipeline_job, stream_console, wait_for_build
from gantry.paths import project_root

NAME = re.compile(r"[a-z][a-z0-9-]{1,30}[a-z0-9]")
SHA = re.compile(r"[0-9a-f]{7,40}")
APPROVAL_INPUT_ID = "ProductionApproval"


def _name(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not NAME.fullmatch(value):
        raise click.BadParameter(f"'{value}' must be a lowercase name like 'example' or 'api'")
    return value


def _sha(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    if value and not SHA.fullmatch(value):
        raise click.BadParameter(f"'{value}' is not a commit SHA (7-40 lowercase hex digits)")
    return value


def _controller() -> Controller:
    return Controller(load_credentials())


@click.group(name="jenkins")
def jenkins() -> None:
    """Drive the Jenkins controller: apply jobs, deploy with one command, approve production."""


@jenkins.command()
@click.option(
    "--jobs-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Job Builder definitions (default: jenkins/jobs in the repository).",
)
@click.option("--delete-old", is_flag=True, help="Delete managed jobs that are no longer defined.")
@click.option(
    "--render-to",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Only render the job XML into this directory; contacts no controller.",
)
def sync(jobs_dir: Path | None, delete_old: bool, render_to: Path | None) -> None:
    """Apply jenkins/jobs/*.yaml to the controller with `jenkins-jobs update`."""
    directory = jobs_dir or project_root() / "jenkins" / "jobs"
    if render_to is not None:
        job_sync.render(directory, render_to)
        click.echo(f"rendered jobs from {directory} into {render_to}")
        return
    credentials = load_credentials()
    job_sync.update(directory, credentials, delete_old=delete_old)
    click.echo(f"applied jobs from {directory} to {credentials.url}")


@jenkins.command()
@click.option("--customer", required=True, callback=_name, help="Customer, e.g. example.")
@click.option("--service", required=True, callback=_name, help="Service, e.g. api.")
@click.option(
    "--env",
    "env_name",
    required=True,
    callback=_name,
    help="Environment file environments/<customer>/<env>.yaml the pipeline uses (e.g. local, aws).",
)
@click.option("--sha", default="", callback=_sha, help="Commit to deploy (default: the branch head).")
@click.option(
    "--follow/--no-follow", default=True, show_default=True, help="Stream the console and exit with the build's result."
)
@click.option("--poll-seconds", type=click.FloatRange(min=0.01), default=2.0, show_default=True)
@click.option(
    "--timeout-seconds",
    type=click.FloatRange(min=1),
    default=4 * 3600.0,
    show_default=True,
    help="Give up following after this long (the build keeps running).",
)
def deploy(
    *, customer: str, service: str, env_name: str, sha: str, follow: bool, poll_seconds: float, timeout_seconds: float
) -> None:
    """Trigger the service pipeline and follow it to its result (exit 0 only on SUCCESS)."""
    controller = _controller()
    job = pipeline_job(customer, service)
    parameters = {
        "CUSTOMER": customer,
        "SERVICE": service,
        "GANTRY_CONFIG": f"environments/{customer}/{env_name}.yaml",
        "SHA": sha,
    }
    pacing = Pacing(poll_seconds=poll_seconds, build_timeout_seconds=timeout_seconds)
    queue_id = controller.trigger(job, parameters)
    click.echo(f"queued {job} (queue item {queue_id})", err=True)
    build = wait_for_build(controller, job, queue_id, pacing)
    click.echo(f"started {job} #{build.number} {build.url}", err=True)
    if not follow:
        return
    stream_console(controller, build, lambda text: click.echo(text, nl=False), pacing)
    result = final_result(controller, build, pacing)
    _finish(build, result)


def _finish(build: BuildRef, result: str) -> None:
    if result != "SUCCESS":
        raise GantryError(f"{build.job} #{build.number} finished {result}: see {build.url}console")
    click.echo(f"{build.job} #{build.number} finished SUCCESS", err=True)


def _choose_input(pending: list[PendingInput], job: str, number: int) -> PendingInput:
    if not pending:
        raise GantryError(
            f"{job} #{number} is not waiting for an approval: check the build number (gantry jenkins status)"
        )
    for item in pending:
        if item.id == APPROVAL_INPUT_ID:
            return item
    if len(pending) == 1:
        return pending[0]
    ids = [p.id for p in pending]
    raise GantryError(f"{job} #{number} waits on several inputs {ids}: answer it in Jenkins")


@jenkins.command()
@click.option("--customer", required=True, callback=_name)
@click.option("--service", required=True, callback=_name)
@click.option(
    "--build", "number", type=click.IntRange(min=1), default=None, help="Build number (default: the job's last build)."
)
@click.option("--reject", is_flag=True, help="Abort the build instead of approving it.")
@click.option(
    "--signed",
    type=click.File("r"),
    default=None,
    help="The signed approval statement (`gantry approve --print` output) the input asks for.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def approve(*, customer: str, service: str, number: int | None, reject: bool, signed: TextIO | None, yes: bool) -> None:
    """Answer a build's pending production approval as the user whose token is configured: with the signed
    statement (the pipeline imports it and checks it is this user's), or --reject."""
    if not reject and signed is None:
        raise ConfigError(
            "approving needs the signed statement: `gantry approve --env production --digest D --approver A "
            "--key K --print > approval.json`, then --signed approval.json"
        )
    controller = _controller()
    job = pipeline_job(customer, service)
    if number is None:
        last = controller.job_info(job).get("lastBuild")
        if not last:
            raise GantryError(f"{job} has no builds yet: start one with gantry jenkins deploy")
        number = int(last["number"])
    pending = _choose_input(controller.pending_inputs(job, number), job, number)
    user = controller.whoami()
    verb = "reject" if reject else "approve"
    click.echo(f"{job} #{number} asks:\n{pending.message}")
    if not yes and not click.confirm(f"{verb} as {user}?", default=False):
        raise ConfigError(f"not confirmed: re-run with --yes to {verb} without a prompt")
    parameters = {"SIGNED_APPROVAL": signed.read()} if signed is not None else None
    controller.answer_input(job, number, pending.id, approve=not reject, parameters=parameters)
    click.echo(f"{verb}d {job} #{number} as {user}")


def _describe(controller: Controller, job: str) -> str:
    last = controller.job_info(job).get("lastBuild")
    if not last:
        return f"{job}: no builds"
    number = int(last["number"])
    info = controller.build_info(job, number)
    if not info.get("building"):
        return f"{job} #{number}: {info.get('result') or 'UNKNOWN'}"
    state = "running"
    try:
        if controller.pending_inputs(job, number):
            state = "awaiting approval"
    except GantryError:
        pass  # freestyle jobs have no pipeline inputs endpoint
    return f"{job} #{number}: {state}"


@jenkins.command()
@click.option("--customer", default=None, callback=_name, help="Only this customer's jobs.")
def status(customer: str | None) -> None:
    """Last build of each gantry job, and which builds wait for an approval."""
    controller = _controller()
    jobs = controller.job_names()
    if customer:
        jobs = [job for job in jobs if job.startswith(f"{customer}-")]
    if not jobs:
        raise GantryError("no matching jobs on the controller: apply them with gantry jenkins sync")
    for job in jobs:
        click.echo(_describe(controller, job))
