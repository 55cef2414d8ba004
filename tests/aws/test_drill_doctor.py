"""`gantry doctor` against moto (the DR drill's aws side is tests/aws/test_failover.py)."""

from __future__ import annotations

import json

import pytest
from aws_stack import PRIMARY, SECONDARY, client
from click.testing import CliRunner

from gantry.errors import ConfigError, GantryError
from gantry.targets.aws.cli import doctor
from gantry.targets.aws.doctor import run_checks

pytestmark = pytest.mark.integration  # a moto server process on 127.0.0.1


def test_doctor_reports_missing_pieces(stack, tmp_path, monkeypatch):
    target, release = stack.deployed()
    assert all(check.ok for check in run_checks(target)), [c for c in run_checks(target) if not c.ok]
    client(stack.url, "ecr", SECONDARY).batch_delete_image(
        repositoryName="example/cart", imageIds=[{"imageDigest": release.digest}]
    )
    client(stack.url, "ecr", PRIMARY).put_replication_configuration(replicationConfiguration={"rules": []})
    failed = {c.name: c.detail for c in run_checks(target) if not c.ok}
    assert set(failed) == {"ECR replication us-east-1 -> us-west-2", "us-west-2: image"}
    assert "run gantry push" in failed["us-west-2: image"]

    cfg_file = tmp_path / "aws.yaml"
    cfg_file.write_text(json.dumps(stack.raw))
    monkeypatch.setenv("GANTRY_CONFIG", str(cfg_file))
    result = CliRunner().invoke(doctor, [])
    assert isinstance(result.exception, GantryError)
    assert "2 check(s) failed" in str(result.exception)
    assert "MISS us-west-2: image" in result.output


def test_doctor_with_wrong_credentials_account(stack, tmp_path, monkeypatch):
    cfg = stack.config(account_id="999999999999")
    checks = {c.name: c for c in run_checks(stack.target(cfg))}
    assert not checks["credentials"].ok
    assert "credentials are for account 123456789012" in checks["credentials"].detail


def test_commands_refuse_a_local_config(monkeypatch):
    monkeypatch.setenv("GANTRY_CONFIG", "environments/example/local.yaml")
    result = CliRunner().invoke(doctor, [])
    assert isinstance(result.exception, ConfigError)
    assert "this command needs an aws environment file" in str(result.exception)


def test_doctor_through_the_gantry_cli(stack, tmp_path):
    from gantry.cli import cli

    stack.deployed()
    cfg_file = tmp_path / "aws.yaml"
    cfg_file.write_text(json.dumps(stack.raw))
    result = CliRunner().invoke(cli, ["--config", str(cfg_file), "doctor", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    checks = json.loads(result.output)
    assert len(checks) >= 10 and all(check["ok"] for check in checks), checks
