"""`gantry new-service`: the scaffold is a contract every command accepts, and a refused call writes nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from gantry.cli import cli
from gantry.config import load_config
from gantry.errors import ConfigError


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty checkout (GANTRY_ROOT) holding the files an environment file names."""
    root = tmp_path / "repo"
    (root / "config").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    monkeypatch.setenv("GANTRY_ROOT", str(root))
    return root


def new_service(*args: str) -> Any:
    return CliRunner().invoke(cli, ["new-service", *args], standalone_mode=False, catch_exceptions=True)


def test_the_scaffold_is_a_contract_an_environment_file_can_ship(
    repo: Path, example: dict[str, Any], write_config: Any
) -> None:
    result = new_service("catalogue", "--port", "8081", "--database")
    assert result.exception is None, result.output
    assert "created services/catalogue/" in result.output
    assert sorted(p.name for p in (repo / "services/catalogue").iterdir()) == [
        "Dockerfile",
        "migrations",
        "service.yaml",
        "task-definition.json.tpl",
    ]
    example["services"] = ["catalogue"]
    service = load_config(str(write_config(example))).service
    assert (service.name, service.container_port, service.folder) == ("catalogue", 8081, "services/catalogue")
    assert service.metrics.requests == "catalogue_http_requests_total" and service.database is not None
    # Its unit tests fail until the service has some: a scaffold never passes the build stage by default.
    assert "has no unit tests yet" in " ".join(service.tests.command) and "exit 1" in service.tests.command[-1]
    declared = yaml.safe_load((repo / "services/catalogue/service.yaml").read_text())
    assert declared["build"] == {"dockerfile": "Dockerfile", "target": "runtime"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Bad_Name"], "service 'Bad_Name' is invalid"),
        (["catalogue", "--metric", "catalogue requests"], "is not a Prometheus metric name"),
    ],
)
def test_a_bad_name_or_metric_is_refused_and_writes_nothing(repo: Path, args: list[str], message: str) -> None:
    result = new_service(*args)
    assert isinstance(result.exception, ConfigError) and message in str(result.exception)
    assert not (repo / "services").exists()


def test_an_existing_service_is_never_overwritten(repo: Path) -> None:
    assert new_service("catalogue").exception is None
    contract = repo / "services/catalogue/service.yaml"
    contract.write_text(contract.read_text() + "# edited\n")
    result = new_service("catalogue", "--port", "9000")
    assert isinstance(result.exception, ConfigError) and "services/catalogue exists" in str(result.exception)
    assert contract.read_text().endswith("# edited\n") and "container_port: 8080" in contract.read_text()
