"""`gantry dr drill` and `gantry doctor` against moto.

Measured here: the drill's control flow and timing from fault injection (a real Route 53 update_health_check
or CloudWatch set_alarm_state call) until the failover answer is the secondary AND the secondary's /version
serves the primary's digest, then the way back. Simulated: which record Route 53 answers (resolver
'evaluate': gantry applies the failover rule to the API state, since moto runs no health checkers) and the
services themselves (/version stand-ins on 127.0.0.1). Route 53's detection latency needs real AWS."""

from __future__ import annotations

import json

import pytest
from aws_stack import PRIMARY, SECONDARY, AcceptedWaiter, ApiPusher, client, replicate
from click.testing import CliRunner

from gantry.errors import ConfigError, GantryError
from gantry.targets.aws.cli import doctor, dr
from gantry.targets.aws.doctor import run_checks
from gantry.targets.aws.drill import Drill, write_report
from gantry.targets.aws.settings import AwsSettings
from gantry.targets.base import Release

pytestmark = pytest.mark.integration  # a moto server process on 127.0.0.1

SHA = "3" * 40


def deployed(stack, cfg=None, regions=(PRIMARY, SECONDARY)):
    pusher = ApiPusher(stack.url, seed="dr")
    target = stack.target(cfg, pusher=pusher, waiter=AcceptedWaiter())
    replicate(stack.url, "dr", pusher.manifest)
    release = Release(SHA, target.publish("localhost/gantry/cart:dr", "dr").digest)
    for region in regions:
        target.deploy_region("production", region, release)
        stack.versions[(region, "production")].body.update(digest=release.digest, sha=SHA)
    return target, release


@pytest.mark.parametrize("fault", ["invert-health-check", "alarm-state"])
def test_drill_measures_failover_and_restores(stack, fault, tmp_path):
    cfg = stack.config(dr={**stack.raw["aws"]["dr"], "fault": fault})
    target, release = deployed(stack, cfg)
    evidence = Drill(target, AwsSettings.of(cfg).dr).run()

    assert evidence["ok"] is True, evidence.get("error")
    assert 0 <= evidence["rto_seconds"] < 5 and 0 <= evidence["restore_seconds"] < 5
    assert evidence["digests_present"] == {PRIMARY: True, SECONDARY: True}
    assert evidence["capacity"] == {
        "region": SECONDARY,
        "service": "cart-production",
        "desired": 2,
        "running": 2,
        "required": 2,
        "ok": True,
    }
    assert evidence["release"]["digest"] == release.digest
    assert any("no Route 53 health checkers" in note for note in evidence["simulated"])
    answers = [o["answer"] for o in evidence["observations"]]
    assert answers[0] == "SECONDARY" and answers[-1] == "PRIMARY"
    # The fault is gone afterwards.
    check = client(stack.url, "route53", PRIMARY).get_health_check(HealthCheckId=AwsSettings.of(cfg).dr.health_check_id)
    assert check["HealthCheck"]["HealthCheckConfig"]["Inverted"] is False
    alarm = client(stack.url, "cloudwatch", PRIMARY).describe_alarms(AlarmNames=[AwsSettings.of(cfg).dr.alarm_name])
    assert alarm["MetricAlarms"][0]["StateValue"] == "OK"
    path = write_report(evidence, tmp_path / "evidence.json")
    assert json.loads(path.read_text())["rto_seconds"] == evidence["rto_seconds"]


def test_drill_refuses_when_secondary_runs_another_release(stack):
    cfg = stack.config()
    target, _ = deployed(stack, cfg, regions=(PRIMARY,))
    evidence = Drill(target, AwsSettings.of(cfg).dr).run()
    assert evidence["ok"] is False
    assert "us-west-2 does not run the primary's release" in evidence["error"]
    assert evidence["observations"] == []  # no fault was injected
    check = client(stack.url, "route53", PRIMARY).get_health_check(HealthCheckId=AwsSettings.of(cfg).dr.health_check_id)
    assert check["HealthCheck"]["HealthCheckConfig"]["Inverted"] is False


def test_drill_times_out_when_secondary_serves_another_version(stack):
    cfg = stack.config(dr={**stack.raw["aws"]["dr"], "timeout_seconds": 0.5})
    target, _ = deployed(stack, cfg)
    stack.versions[(SECONDARY, "production")].body["digest"] = "sha256:" + "f" * 64
    evidence = Drill(target, AwsSettings.of(cfg).dr).run()
    assert evidence["ok"] is False
    assert evidence["rto_seconds"] is None
    assert "not observed within 0.5s" in evidence["error"]


def test_dr_drill_command_writes_evidence(stack, tmp_path, monkeypatch):
    cfg_file = tmp_path / "aws.yaml"
    cfg_file.write_text(json.dumps(stack.raw))
    monkeypatch.setenv("GANTRY_CONFIG", str(cfg_file))
    deployed(stack)
    report = tmp_path / "drill.json"
    result = CliRunner().invoke(dr, ["drill", "--report", str(report)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "failover RTO" in result.output
    assert json.loads(report.read_text())["ok"] is True


def test_doctor_reports_missing_pieces(stack, tmp_path, monkeypatch):
    target, release = deployed(stack)
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

    deployed(stack)
    cfg_file = tmp_path / "aws.yaml"
    cfg_file.write_text(json.dumps(stack.raw))
    result = CliRunner().invoke(cli, ["--config", str(cfg_file), "doctor", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    checks = json.loads(result.output)
    assert len(checks) >= 10 and all(check["ok"] for check in checks), checks
