"""The environment file schema: every bad input is one line naming the field and the fix, exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gantry.config import load_config
from gantry.errors import ConfigError
from gantry.targets.factory import make_target

ROOT = Path(__file__).resolve().parents[2]


def load_for_target(path: str):  # type: ignore[no-untyped-def]
    """What every command does: the shared file, then the target's own section (validated when it is made)."""
    cfg = load_config(path)
    make_target(cfg)
    return cfg


def test_example_config_is_valid(cfg) -> None:  # type: ignore[no-untyped-def]
    assert cfg.regions_of("production") == ["us-east-1", "us-west-2"]
    assert cfg.regions_of("staging") == ["us-east-1"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.update(colour="blue"), "colour: unknown field"),
        (lambda c: c["regions"].update(secondary="us-middle-9"), "'us-middle-9' is not an AWS region"),
        (lambda c: c["regions"].update(secondary="us-east-1"), "must be different regions"),
        (lambda c: c["environments"].pop("staging"), "must define 'staging'"),
        (lambda c: c["environments"]["production"].update(requires_approval=True), "requires_approval: unknown field"),
        (lambda c: c["approvals"].update(staging_environment="qa"), "approvals.staging_environment: no environment"),
        (lambda c: c["approvals"].update(max_age_hours=float("inf")), "approvals.max_age_hours"),
        (lambda c: c["approvals"].update(demo_signer="demo approver"), "is not an approver identity"),
        (lambda c: c["approvals"].update(protected=["staging", "production"]), "staging is the staging environment"),
        (lambda c: c["approvals"].update(protected=["staging"]), "production must be protected"),
        (lambda c: c["approvals"].update(protected=["canary", "production"]), "approvals.protected: no environment"),
        (lambda c: c["approvals"].update(rollback_max_age_days=float("nan")), "rollback_max_age_days"),
        (lambda c: c["approvals"].update(allowed_signers="../../etc/passwd"), "leaves the repository"),
        (lambda c: c["local"].update(webhook_port=19090), "ports used twice: [19090]"),
        (lambda c: c["local"].update(prometheus_prot=1), "local.prometheus_prot: unknown field"),
        (lambda c: c.update(target="k8s"), "target 'k8s' is not one of ['aws', 'local']"),
        (lambda c: c.update(target="aws"), "target 'aws' needs a 'aws' section"),
        (lambda c: c.update(customer="ab"), None),
        (lambda c: c.update(customer="a"), "customer 'a' is invalid"),
        (lambda c: c["local"]["regions"]["us-west-2"]["lb_ports"].pop("production"), "needs a port for 'production'"),
        (lambda c: c["approvals"].update(approvers=[]), "approvals.approvers: unknown field"),
        (lambda c: c.update(services=["Cart Service"]), "services.0: service 'Cart Service' is invalid"),
        (lambda c: c.update(services=[]), "services: List should have at least 1 item"),
    ],
)
def test_bad_config_names_the_field(write_config, example, change, message) -> None:  # type: ignore[no-untyped-def]
    data = example
    change(data)
    if message is None:  # accepted: the same rule as `gantry new-env`
        load_for_target(str(write_config(data)))
        return
    with pytest.raises(ConfigError) as caught:
        load_for_target(str(write_config(data)))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_malformed_yaml(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("customer: [unclosed\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_config(str(path))


def test_missing_file_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"pass --config environments/<customer>/<env>\.yaml"):
        load_config(str(tmp_path / "absent.yaml"))


def test_unknown_environment_and_region(cfg) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="unknown environment 'prod': choose one of "):
        cfg.environment("prod")
    with pytest.raises(ConfigError, match="does not run in region 'us-west-2'"):
        cfg.check_region("staging", "us-west-2")


def test_cli_exits_2_with_one_line(tmp_path: Path, write_config, example) -> None:  # type: ignore[no-untyped-def]
    data = example
    data["regions"]["primary"] = "mars-1"
    path = write_config(data)
    result = subprocess.run(
        [sys.executable, "-m", "gantry.cli", "--config", str(path), "status"],
        capture_output=True,
        text=True,
        env={"GANTRY_HOME": str(tmp_path / "h"), "PATH": ""},
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "'mars-1' is not an AWS region" in lines[0]


@pytest.mark.parametrize(
    ("value", "message"),
    [("environments", "is a directory, not a file"), ("no-such-signers", "not found")],
)
def test_an_approvers_list_that_is_no_file_says_what_it_is(write_config, example, value, message) -> None:  # type: ignore[no-untyped-def]
    example["approvals"]["allowed_signers"] = value
    cfg = load_config(str(write_config(example)))
    with pytest.raises(ConfigError, match=rf"approvals.allowed_signers: .*{value} {message}: list the approvers"):
        cfg.approvals.policy(ROOT)
