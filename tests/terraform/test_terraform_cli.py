"""The real terraform binary: fmt, init, validate and `terraform test` of every root and module.

They run against the real AWS provider where `make terraform-provider` built it, else against the schema-only
provider (terraform/schema-provider), which serves the real provider's schema for the types used here: enough for
validate and for tests with mock providers, not for the provider's own value validators.

Roots are validated in a temporary copy of terraform/ (and services/, for the task definition templates), so no
.terraform directory or lock file built from a locally compiled provider lands in the repository.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from tfhelpers import NEW_CUSTOMER, REPO, TEMPLATE, TERRAFORM, all_roots, require_provider, terraform_env

from gantry.newenv.cli import new_env

MODULES_WITH_TESTS = sorted(p.parent for p in TERRAFORM.glob("modules/*/tests"))


def run(terraform: str, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [terraform, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"terraform {' '.join(args)} in {cwd}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_fmt(terraform_bin: str, tmp_path: Path) -> None:
    env = {"TF_CLI_CONFIG_FILE": str(tmp_path / "none"), "PATH": "/usr/bin:/bin", "CHECKPOINT_DISABLE": "1"}
    (tmp_path / "none").write_text("")
    targets = [str(TERRAFORM), str(TEMPLATE), "tests/terraform/moto_root"]
    run(terraform_bin, ["fmt", "-check", "-recursive", *targets], REPO, env)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    mirror = require_provider()
    base = tmp_path_factory.mktemp("tf")
    shutil.copytree(TERRAFORM, base / "terraform", ignore=shutil.ignore_patterns(".terraform*"))
    shutil.copytree(REPO / "services", base / "services", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "config", base / "config")  # config/health-checks.yaml, which the roots read
    env = terraform_env(base, mirror)
    (base / "plugin-cache").mkdir()
    env["TF_PLUGIN_CACHE_DIR"] = str(base / "plugin-cache")
    return base, env


@pytest.mark.parametrize("root", all_roots(), ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_init_and_validate(root: Path, workspace: tuple[Path, dict[str, str]], terraform_bin: str) -> None:
    base, env = workspace
    copy = base / "terraform" / root.relative_to(TERRAFORM)
    run(terraform_bin, ["init", "-backend=false", "-input=false", "-no-color"], copy, env)
    run(terraform_bin, ["validate", "-no-color"], copy, env)


@pytest.mark.parametrize("module", MODULES_WITH_TESTS, ids=lambda p: p.name)
def test_module_logic_with_mock_providers(
    module: Path, workspace: tuple[Path, dict[str, str]], terraform_bin: str
) -> None:
    base, env = workspace
    copy = base / "terraform" / module.relative_to(TERRAFORM)
    run(terraform_bin, ["init", "-backend=false", "-input=false", "-no-color"], copy, env)
    output = run(terraform_bin, ["test", "-no-color"], copy, env)
    counts = re.search(r"(\d+) passed, (\d+) failed", output)
    assert counts and int(counts[1]) >= 1 and counts[2] == "0", output


def test_a_scaffolded_customer_environment_validates(
    workspace: tuple[Path, dict[str, str]], terraform_bin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's example: `gantry new-env` for a new customer, then init + validate of its root and of global/."""
    base, env = workspace
    monkeypatch.setenv("GANTRY_ROOT", str(base))
    result = CliRunner().invoke(new_env, [*NEW_CUSTOMER, "--cidr", "10.40.0.0/16"])
    assert result.exit_code == 0, result.output
    for root in (base / "terraform" / "live" / "acme" / "prod", base / "terraform" / "global"):
        run(terraform_bin, ["init", "-backend=false", "-input=false", "-no-color"], root, env)
        run(terraform_bin, ["validate", "-no-color"], root, env)


def test_every_module_with_logic_has_terraform_tests() -> None:
    with_tests = {p.name for p in MODULES_WITH_TESTS}
    assert {"network", "peering", "ecr", "monitoring", "dns_failover", "ecs_service", "kms_key"} <= with_tests
