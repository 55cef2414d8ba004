"""`gantry new-service`: services/<name>/ with a contract, a Dockerfile and a task definition template that follow
the repository's conventions, checked by the same loader every command uses. It writes nothing when it refuses."""

from __future__ import annotations

import re
import shutil
from importlib.resources import files
from pathlib import Path

import click
import jinja2

from gantry import contract
from gantry.errors import ConfigError
from gantry.names import check_service
from gantry.paths import project_root

TEMPLATES = files("gantry.newservice") / "templates"


def _render(template: str, **values: object) -> str:
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)  # noqa: S701 (YAML and Dockerfile text, not HTML)
    return environment.from_string((TEMPLATES / template).read_text()).render(**values)


def scaffold(repo: Path, name: str, port: int, metric: str | None, database: bool) -> list[Path]:
    """Write services/<name>/ under `repo`; the files written. ConfigError (nothing written) when the name is
    taken or invalid."""
    check_service(name)
    folder = repo / contract.folder(name)
    if folder.exists():
        raise ConfigError(f"{contract.folder(name)} exists: choose another name, or edit its service.yaml")
    counter = metric or f"{name.replace('-', '_')}_http_requests_total"
    if not re.fullmatch(contract.METRIC_NAME, counter):
        raise ConfigError(f"--metric {counter!r} is not a Prometheus metric name: use letters, digits and _")
    texts = {
        contract.CONTRACT_FILE: _render("service.yaml.j2", name=name, port=port, metric=counter, database=database),
        "Dockerfile": _render("Dockerfile.j2", name=name, port=port),
        "task-definition.json.tpl": (TEMPLATES / "task-definition.json.tpl").read_text(),
    }
    folder.mkdir(parents=True)
    try:
        written = []
        for file, text in texts.items():
            (folder / file).write_text(text)
            written.append(folder / file)
        if database:
            (folder / "migrations").mkdir()
        contract.load(name, repo)  # the scaffold passes the checks every command makes
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return written


@click.command("new-service")
@click.argument("name")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="Container port.")
@click.option("--metric", default=None, help="Its request counter [default: <name>_http_requests_total].")
@click.option("--database/--no-database", default=False, help="It keeps data in PostgreSQL (with migrations).")
def new_service(name: str, port: int, metric: str | None, database: bool) -> None:
    """Scaffold services/NAME/: its contract (service.yaml), a Dockerfile and a task definition template."""
    repo = project_root()
    written = scaffold(repo, name, port, metric, database)
    click.echo(f"created {contract.folder(name)}/")
    for path in written:
        click.echo(f"  {path.relative_to(repo)}")
    click.echo("next steps:")
    click.echo(
        f"  1. put the service's code in {contract.folder(name)}/ and complete its Dockerfile (runtime and test)"
    )
    click.echo(f"  2. set tests.command and the smoke checks in {contract.folder(name)}/{contract.CONTRACT_FILE}")
    click.echo(f"  3. ship it: an environment file with `services: [{name}]`, then `gantry pipeline run`")
