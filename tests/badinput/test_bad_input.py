"""One bad input at a time, to the real `gantry` entry point: each is refused with one line that names the input
and the fix, a non-zero exit and no traceback, and leaves the run directory and the repository exactly as they
were (no run state, lease, protection file, key or notification).

Bad configuration exits 2; so do bad options (click's usage errors); a value that fails a check once read
(an unknown environment, a region it does not run in) exits 2 as well, since it is bad input, not a failure."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import ROOT, Gantry, repository_state, tree

from gantry import runrecord

Edit = Callable[[dict[str, Any]], Any]


def env(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda d: d["environments"][name]


# (id, edit of the example environment file, arguments, exit code, fragments of the one error line)
CONFIG_CASES: list[tuple[str, Edit, tuple[str, ...], int, tuple[str, ...]]] = [
    (
        "signers outside",
        lambda d: d["approvals"].update(allowed_signers="../../../../etc/passwd"),
        ("approvers",),
        2,
        ("approvals.allowed_signers", "leaves the repository"),
    ),
    (
        "signers absolute",
        lambda d: d["approvals"].update(allowed_signers="/etc/passwd"),
        ("approvers",),
        2,
        ("approvals.allowed_signers", "'/etc/passwd' leaves the repository"),
    ),
    (
        "committers outside",
        lambda d: d["approvals"].update(committers_allowed_signers="x/../../y"),
        ("status",),
        2,
        ("approvals.committers_allowed_signers", "leaves the repository"),
    ),
    (
        "notifications file path",
        lambda d: d["notifications"].update(file="../../x.jsonl"),
        ("status",),
        2,
        ("notifications.file", "'../../x.jsonl' is not allowed here"),
    ),
    (
        "notifications file absolute",
        lambda d: d["notifications"].update(file="/tmp/x.jsonl"),
        ("status",),
        2,
        ("notifications.file",),
    ),
    (
        "webhook off the machine in plain http",
        lambda d: d["notifications"].update(webhook_urls=["http://x.example/h"]),
        ("status",),
        2,
        ("notifications.webhook_urls.0", "is not allowed here"),
    ),
    (
        "webhook with a newline",
        lambda d: d["notifications"].update(webhook_urls=["https://x.example/h\nX: y"]),
        ("status",),
        2,
        ("notifications.webhook_urls.0", "\\n"),
    ),
    (
        "slack variable name",
        lambda d: d["notifications"].update(slack_webhook_url_env="slack url"),
        ("status",),
        2,
        ("notifications.slack_webhook_url_env",),
    ),
    ("no service", lambda d: d.update(services=[]), ("status",), 2, ("services", "at least 1")),
    ("service name", lambda d: d.update(services=["Cart"]), ("status",), 2, ("services.0", "'Cart' is invalid")),
    ("service path", lambda d: d.update(services=["../cart"]), ("status",), 2, ("services.0",)),
    (
        "service missing",
        lambda d: d.update(services=["basket"]),
        ("status",),
        2,
        ("services/basket/service.yaml is not a file",),
    ),
    ("two services", lambda d: d.update(services=["cart", "cart"]), ("status",), 2, ("one service per environment",)),
    ("old service section", lambda d: d.update(service={"name": "cart"}), ("status",), 2, ("service", "unknown field")),
    (
        "replicas a boolean",
        lambda d: env("staging")(d).update(replicas=True),
        ("status",),
        2,
        ("environments.staging.replicas", "valid integer"),
    ),
    (
        "replicas a string",
        lambda d: env("staging")(d).update(replicas="2"),
        ("status",),
        2,
        ("environments.staging.replicas", "valid integer"),
    ),
    ("replicas zero", lambda d: env("staging")(d).update(replicas=0), ("status",), 2, ("greater than or equal to 1",)),
    (
        "replicas eleven",
        lambda d: env("production")(d).update(replicas=11),
        ("status",),
        2,
        ("less than or equal to 10",),
    ),
    (
        "a region twice",
        lambda d: env("production")(d).update(regions=["primary", "primary"]),
        ("status",),
        2,
        ("a region may appear only once",),
    ),
    ("no regions", lambda d: env("production")(d).update(regions=[]), ("status",), 2, ("at least 1",)),
    (
        "unknown region role",
        lambda d: env("production")(d).update(regions=["tertiary"]),
        ("status",),
        2,
        ("environments.production.regions.0",),
    ),
    (
        "unknown exception",
        lambda d: env("staging")(d).update(task_definition_exceptions=["root"]),
        ("status",),
        2,
        ("task_definition_exceptions.0",),
    ),
    (
        "infinite health timeout",
        lambda d: d["local"].update(health_timeout_seconds=float("inf")),
        ("status",),
        2,
        ("local.health_timeout_seconds", "finite"),
    ),
    (
        "NaN health timeout",
        lambda d: d["local"].update(health_timeout_seconds=float("nan")),
        ("status",),
        2,
        ("local.health_timeout_seconds", "finite"),
    ),
    (
        "huge health timeout",
        lambda d: d["local"].update(health_timeout_seconds=1e300),
        ("status",),
        2,
        ("local.health_timeout_seconds", "less than or equal to 3600"),
    ),
    (
        "huge scrape interval",
        lambda d: d["local"].update(scrape_interval_seconds=10**20),
        ("status",),
        2,
        ("local.scrape_interval_seconds",),
    ),
    ("zero time scale", lambda d: d["local"].update(time_scale=0), ("status",), 2, ("local.time_scale",)),
    (
        "port as a string",
        lambda d: d["local"].update(prometheus_port="19090"),
        ("status",),
        2,
        ("local.prometheus_port", "valid integer"),
    ),
    ("privileged port", lambda d: d["local"].update(prometheus_port=80), ("status",), 2, ("local.prometheus_port",)),
    (
        "port used twice",
        lambda d: d["local"].update(alertmanager_port=d["local"]["prometheus_port"]),
        ("status",),
        2,
        ("ports used twice",),
    ),
    (
        "protection switched off in local",
        lambda d: d["local"].update(protected=[]),
        ("status",),
        2,
        ("local.protected", "unknown field"),
    ),
    (
        "production unprotected",
        lambda d: d["approvals"].update(protected=[]),
        ("status",),
        2,
        ("production must be protected",),
    ),
    (
        "staging protected",
        lambda d: d["approvals"].update(protected=["staging", "production"]),
        ("status",),
        2,
        ("is the staging environment",),
    ),
    (
        "protected unknown",
        lambda d: d["approvals"].update(protected=["production", "prod"]),
        ("status",),
        2,
        ("approvals.protected", "'prod'"),
    ),
    (
        "approval age NaN",
        lambda d: d["approvals"].update(max_age_hours=float("nan")),
        ("status",),
        2,
        ("approvals.max_age_hours",),
    ),
    (
        "approval timeout infinite",
        lambda d: d["approvals"].update(timeout_seconds=float("inf")),
        ("status",),
        2,
        ("approvals.timeout_seconds", "finite"),
    ),
    (
        "rollback age",
        lambda d: d["approvals"].update(rollback_max_age_days=1000),
        ("status",),
        2,
        ("approvals.rollback_max_age_days",),
    ),
    (
        "branch with a newline",
        lambda d: d["approvals"].update(protected_branch="main\n"),
        ("status",),
        2,
        ("approvals.protected_branch", "'main\\n'"),
    ),
    (
        "branch as an option",
        lambda d: d["approvals"].update(protected_branch="--upload-pack=x"),
        ("status",),
        2,
        ("approvals.protected_branch",),
    ),
    (
        "separation of duties a string",
        lambda d: d["approvals"].update(separation_of_duties="yes"),
        ("status",),
        2,
        ("approvals.separation_of_duties", "valid boolean"),
    ),
    (
        "unknown approvals field",
        lambda d: d["approvals"].update(approvers=["a"]),
        ("status",),
        2,
        ("approvals.approvers", "unknown field"),
    ),
    ("customer name", lambda d: d.update(customer="A"), ("status",), 2, ("customer 'A' is invalid",)),
    ("customer with a newline", lambda d: d.update(customer="acme\n"), ("status",), 2, ("customer",)),
    ("unknown target", lambda d: d.update(target="k8s"), ("status",), 2, ("target 'k8s' is not one of",)),
    ("target without its section", lambda d: d.update(target="aws"), ("status",), 2, ("needs a 'aws' section",)),
    (
        "same regions",
        lambda d: d["regions"].update(secondary=d["regions"]["primary"]),
        ("status",),
        2,
        ("must be different regions",),
    ),
    ("unknown region", lambda d: d["regions"].update(primary="mars-1"), ("status",), 2, ("regions.primary",)),
    (
        "no production",
        lambda d: d["environments"].pop("production"),
        ("status",),
        2,
        ("environments must define 'production'",),
    ),
    ("unknown top-level field", lambda d: d.update(servce={}), ("status",), 2, ("servce: unknown field",)),
    ("target section not a mapping", lambda d: d.update(local=["x"]), ("status",), 2, ("local: must be a mapping",)),
    (
        "staging environment unknown",
        lambda d: d["approvals"].update(staging_environment="qa"),
        ("status",),
        2,
        ("approvals.staging_environment",),
    ),
    (
        "lb port missing",
        lambda d: d["local"]["regions"]["us-west-2"]["lb_ports"].pop("production"),
        ("status",),
        2,
        ("needs a port for 'production'",),
    ),
]


@pytest.mark.parametrize(
    ("edit", "args", "code", "fragments"),
    [pytest.param(*case[1:], id=case[0]) for case in CONFIG_CASES],
)
def test_bad_configuration_is_refused_and_changes_nothing(
    gantry: Gantry, edit: Edit, args: tuple[str, ...], code: int, fragments: tuple[str, ...]
) -> None:
    gantry.configure(edit)
    refused(gantry, args, code, fragments)


# (id, arguments, exit code, fragments), with the example environment file as it is.
COMMAND_CASES: list[tuple[str, tuple[str, ...], int, tuple[str, ...]]] = [
    ("deploy to an unknown environment", ("deploy", "--env", "prodd"), 2, ("unknown environment 'prodd'",)),
    ("recover an unknown environment", ("recover", "--env", "prod"), 2, ("unknown environment 'prod'",)),
    ("migrate an unknown environment", ("migrate", "--env", "prod"), 2, ("unknown environment 'prod'",)),
    ("smoke an unknown environment", ("smoke", "--env", "qa"), 2, ("unknown environment 'qa'",)),
    ("verify an unknown environment", ("verify", "--env", "qa"), 2, ("unknown environment 'qa'",)),
    ("roll back an unknown environment", ("rollback", "--env", "qa"), 2, ("unknown environment 'qa'",)),
    ("drill an unknown environment", ("dr", "drill", "--env", "prod"), 2, ("unknown environment 'prod'",)),
    (
        "a region the environment does not run in",
        ("deploy", "--env", "staging", "--region", "secondary"),
        2,
        ("does not run in region 'us-west-2'",),
    ),
    (
        "an unknown region",
        ("deploy", "--env", "production", "--region", "mars-1"),
        2,
        ("does not run in region 'mars-1'",),
    ),
    ("an unknown notification status", ("notify", "--status", "great"), 2, ("--status",)),
    ("an unknown command", ("deplyo",), 2, ("No such command",)),
    ("a missing option", ("deploy",), 2, ("--env",)),
    ("a run id with a path", ("run", "show", "--run-id", "../x"), 2, ("run id",)),
]


@pytest.mark.parametrize(
    ("args", "code", "fragments"),
    [pytest.param(*case[1:], id=case[0]) for case in COMMAND_CASES],
)
def test_bad_arguments_are_refused_and_change_nothing(
    gantry: Gantry, args: tuple[str, ...], code: int, fragments: tuple[str, ...]
) -> None:
    refused(gantry, args, code, fragments)


FILE_CASES = [
    ("config missing", None, 2, ("not found", "--config")),
    ("config not YAML", "customer: [\n", 2, ("is not valid YAML",)),
    ("config a list", "- a\n- b\n", 2, ("expected a mapping at the top level",)),
    ("config empty", "", 2, ("expected a mapping at the top level",)),
]


@pytest.mark.parametrize(("text", "code", "fragments"), [pytest.param(*c[1:], id=c[0]) for c in FILE_CASES])
def test_a_bad_environment_file_is_refused_and_changes_nothing(
    gantry: Gantry, text: str | None, code: int, fragments: tuple[str, ...]
) -> None:
    if text is None:
        gantry.config.unlink()
    else:
        gantry.configure(text=text)
    refused(gantry, ("status",), code, fragments)


def refused(gantry: Gantry, args: tuple[str, ...], code: int, fragments: tuple[str, ...]) -> None:
    home, repository = tree(gantry.home), repository_state()
    outcome = gantry(*args)
    assert outcome.code == code, outcome
    assert len(outcome.errors) == 1, outcome.errors
    [line] = outcome.errors
    assert "Traceback" not in outcome.stderr and line.lower().startswith(("error:", "usage:")), line
    for fragment in fragments:
        assert fragment in line, line
    assert tree(gantry.home) == home, "the run directory changed"
    assert repository_state() == repository, "the repository changed"


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("deploy", "--env", "prodd"), id="unknown environment"),
        pytest.param(("deploy", "--env", "staging", "--region", "secondary"), id="region it does not run in"),
        pytest.param(("smoke", "--env", "staging", "--regin", "primary"), id="misspelt option"),
        pytest.param(("approve", "--approver", "alice@example.com", "--key", "/nonexistent/key"), id="missing key"),
    ],
)
def test_a_typo_during_a_run_leaves_the_run_going(gantry: Gantry, args: tuple[str, ...]) -> None:
    """A run driven step by step (Jenkins) meets a refused command: the run is not marked failed and no failure
    notice goes out; the outcome that really happens later is the one notified."""
    gantry("status")  # the configuration is valid
    runrecord.create("run-typo", customer="example", service="cart", config=str(gantry.config), target="local")
    notices = gantry.home / "notifications.jsonl"
    outcome = gantry(*args, env={"GANTRY_RUN_ID": "run-typo"})
    assert outcome.code != 0 and len(outcome.errors) == 1, outcome
    record = runrecord.load("run-typo")
    assert (record.result, record.notification) == ("running", None)
    assert not notices.exists()
    # The run's real end is notified, once.
    assert gantry("notify", "--status", "success", env={"GANTRY_RUN_ID": "run-typo"}).code == 0
    [event] = [json.loads(line) for line in notices.read_text().splitlines()]
    assert event["status"] == "success" and event["run_id"] == "run-typo"
    assert runrecord.load("run-typo").result == "success"


def _file_as_home(home: Path) -> dict[str, str]:
    home.parent.mkdir(parents=True, exist_ok=True)
    home.write_text("not a directory\n")
    return {}


def _run_id(value: str) -> Callable[[Path], dict[str, str]]:
    return lambda _home: {"GANTRY_RUN_ID": value}


def _damaged(relative: str, text: str) -> Callable[[Path], dict[str, str]]:
    def make(home: Path) -> dict[str, str]:
        (home / relative).parent.mkdir(parents=True, exist_ok=True)
        (home / relative).write_text(text)
        return {}

    return make


# (id, what is in the run directory or the environment, arguments, exit code, fragments)
STATE_CASES: list[tuple[str, Callable[[Path], dict[str, str]], tuple[str, ...], int, tuple[str, ...]]] = [
    ("run directory is a file", _file_as_home, ("status",), 2, ("is not a directory", "GANTRY_HOME")),
    ("run directory is a file, deploy", _file_as_home, ("deploy", "--env", "staging"), 2, ("is not a directory",)),
    ("run id with a newline", _run_id("run1\n"), ("run", "show"), 2, ("invalid run id 'run1\\n'",)),
    ("run id with a path", _run_id("../../etc"), ("deploy", "--env", "staging"), 2, ("invalid run id",)),
    ("damaged latest run", _damaged("runs/LATEST", "../x\n"), ("run", "show"), 2, ("LATEST names no valid run",)),
    (
        "damaged run record",
        _damaged("runs/run-1.json", "{"),
        ("run", "show", "--run-id", "run-1"),
        1,
        ("run-1.json is not valid JSON", "move it aside"),
    ),
    (
        "run record of another shape",
        _damaged("runs/run-1.json", '{"run_id": 5}'),
        ("run", "show", "--run-id", "run-1"),
        1,
        ("run-1.json is not a valid RunRecord record",),
    ),
    (
        "damaged release",
        _damaged("regions/us-east-1/release-staging.json", '{"sha": '),
        ("status", "--json"),
        1,
        ("release-staging.json is not valid JSON",),
    ),
    (
        "release of another shape",
        _damaged("regions/us-west-2/release-production.json", "[]"),
        ("status",),
        1,
        ("release-production.json is not a valid RegionRecord record",),
    ),
    (
        "damaged lease",
        _damaged("leases/production.json", "{"),
        ("recover", "--env", "production"),
        1,
        ("production.json is not valid JSON", "gantry did not write this production lease"),
    ),
]


@pytest.mark.parametrize(("setup", "args", "code", "fragments"), [pytest.param(*c[1:], id=c[0]) for c in STATE_CASES])
def test_bad_state_or_environment_is_refused_in_one_line(
    gantry: Gantry,
    setup: Callable[[Path], dict[str, str]],
    args: tuple[str, ...],
    code: int,
    fragments: tuple[str, ...],
) -> None:
    """A damaged state file, or a bad GANTRY_HOME or GANTRY_RUN_ID: one line naming it and the fix, nothing
    changed (status still shows everything it can read)."""
    for key, value in setup(gantry.home).items():
        gantry.monkeypatch.setenv(key, value)
    refused(gantry, args, code, fragments)


def new_env(**changes: str) -> tuple[str, ...]:
    """`gantry new-env` for a new customer, with `changes` (option name without dashes -> value)."""
    options = {"customer": "acme", "env": "prod", "primary": "us-east-1", "secondary": "us-west-2"}
    options |= {"cidr": "10.40.0.0/16", "service": "api", **changes}
    return ("new-env", *(part for name, value in options.items() for part in (f"--{name}", value)))


MORE_COMMAND_CASES: list[tuple[str, tuple[str, ...], int, tuple[str, ...]]] = [
    (
        "smoke a region it does not run in",
        ("smoke", "--env", "staging", "--region", "us-west-2"),
        2,
        ("does not run in region 'us-west-2'",),
    ),
    (
        "roll back a region it does not run in",
        ("rollback", "--env", "staging", "--region", "secondary"),
        2,
        ("does not run in region",),
    ),
    ("drill with no writers", ("dr", "drill", "--writers", "0"), 2, ("--writers",)),
    ("drill with a thousand writers", ("dr", "drill", "--writers", "1000"), 2, ("--writers",)),
    ("drill of an unknown mode", ("dr", "drill", "--mode", "chaos"), 2, ("--mode",)),
    ("unplanned drill without consent", ("dr", "drill", "--mode", "unplanned"), 1, ("--allow-data-loss",)),
    (
        "failover of an unknown environment",
        ("dr", "failover", "--env", "prod", "--region", "us-east-1"),
        2,
        ("unknown environment 'prod'",),
    ),
    (
        "rejoin of an unknown environment",
        ("dr", "rejoin", "--env", "prod", "--region", "us-east-1"),
        2,
        ("unknown environment 'prod'",),
    ),
    ("operation approval of an unknown kind", ("dr", "approve", "--operation", "drill"), 2, ("--operation",)),
    (
        "approve with a directory as key",
        ("approve", "--approver", "alice@example.com", "--key", "/tmp"),
        2,
        ("--key", "is a directory"),
    ),
    ("approve an unknown environment", ("approve", "--env", "prod", "--check"), 2, ("unknown environment 'prod'",)),
    ("approve importing a missing file", ("approve", "--import", "/nonexistent/approval.json"), 2, ("--import",)),
    ("approvers of an unknown environment", ("approvers", "--env", "prod"), 2, ("unknown environment 'prod'",)),
    ("change of an unknown environment", ("change", "--env", "prod"), 2, ("unknown environment 'prod'",)),
    ("bake of an unknown target", ("bake", "--target", "vm"), 2, ("--target",)),
    ("bake with a bad variable", ("bake", "--target", "container", "--var", "novalue"), 2, ("--var",)),
    ("import of a missing directory", ("aws-import", "/nonexistent/terraform"), 2, ("/nonexistent/terraform",)),
    ("new service with a bad name", ("new-service", "Bad_Name"), 2, ("service 'Bad_Name' is invalid",)),
    ("new service that exists", ("new-service", "cart"), 2, ("services/cart exists",)),
    ("new service on a privileged port", ("new-service", "shop", "--port", "0"), 2, ("--port",)),
    ("new environment for a bad customer", new_env(customer="A"), 2, ("customer 'A' is invalid",)),
    ("new environment with a public range", new_env(cidr="8.8.0.0/16"), 2, ("--cidr",)),
    ("new environment with one region twice", new_env(secondary="us-east-1"), 2, ("pick two different regions",)),
    (
        "new environment with an injected bucket",
        (*new_env(), "--state-bucket", 'b"\nendpoint="x'),
        2,
        ("is not an S3 bucket name",),
    ),
    (
        "maintenance of an unknown playbook path",
        (
            "maintenance",
            "approve",
            "--playbook",
            "../site.yml",
            "--limit",
            "web",
            "--sha",
            "a" * 40,
            "--approver",
            "alice@example.com",
            "--key",
            "/tmp/k",
        ),
        2,
        ("playbook: '../site.yml'",),
    ),
    (
        "maintenance with a shell in the limit",
        ("maintenance", "check", "--playbook", "patch.yml", "--limit", "web;reboot", "--sha", "a" * 40),
        2,
        ("limit: 'web;reboot'",),
    ),
    (
        "maintenance at no commit",
        ("maintenance", "check", "--playbook", "patch.yml", "--limit", "web", "--sha", "zz"),
        2,
        ("'zz' is not a commit",),
    ),
    (
        "maintenance of an unknown environment",
        ("maintenance", "check", "--env", "prod", "--playbook", "patch.yml", "--limit", "web", "--sha", "a" * 40),
        2,
        ("unknown environment 'prod'",),
    ),
    (
        "jenkins deploy of a bad customer",
        ("jenkins", "deploy", "--customer", "Acme", "--service", "api", "--env", "production"),
        2,
        ("--customer",),
    ),
    (
        "jenkins deploy of a bad sha",
        ("jenkins", "deploy", "--customer", "acme", "--service", "api", "--env", "production", "--sha", "xyz"),
        2,
        ("is not a commit SHA",),
    ),
    ("an unknown run field", ("run", "show", "--run-id", "run-none", "--field", "password"), 1, ("run-none",)),
    ("notify without a run", ("notify", "--status", "success", "--run-id", "no run"), 2, ("--run-id",)),
]


@pytest.mark.parametrize(
    ("args", "code", "fragments"),
    [pytest.param(*case[1:], id=case[0]) for case in MORE_COMMAND_CASES],
)
def test_more_bad_arguments_are_refused_and_change_nothing(
    gantry: Gantry, args: tuple[str, ...], code: int, fragments: tuple[str, ...]
) -> None:
    refused(gantry, args, code, fragments)


# (id, change to the cart's contract, fragments); each refused with its file and field before anything runs.
CONTRACT_CASES: list[tuple[str, Callable[[dict[str, Any]], Any], tuple[str, ...]]] = [
    ("unknown field", lambda c: c.update(replica=3), ("replica: unknown field",)),
    ("name of another folder", lambda c: c.update(name="basket"), ("is not its folder's name",)),
    ("port zero", lambda c: c.update(container_port=0), ("container_port",)),
    ("port a string", lambda c: c.update(container_port="80"), ("container_port", "valid integer")),
    ("cpu out of range", lambda c: c.update(cpu=10**30), ("cpu",)),
    ("memory a boolean", lambda c: c.update(memory=True), ("memory", "valid integer")),
    (
        "dockerfile outside its folder",
        lambda c: c["build"].update(dockerfile="x/../../../Dockerfile"),
        ("build.dockerfile", "leaves the service's folder"),
    ),
    ("dockerfile absolute", lambda c: c["build"].update(dockerfile="/etc/hostname"), ("build.dockerfile",)),
    ("dockerfile missing", lambda c: c["build"].update(dockerfile="Containerfile"), ("is not a file",)),
    (
        "template outside its folder",
        lambda c: c.update(task_definition="a/../../../etc/x.tpl"),
        ("task_definition", "leaves the service's folder"),
    ),
    ("template missing", lambda c: c.update(task_definition="none.tpl"), ("task_definition", "is not a file")),
    (
        "migrations outside its folder",
        lambda c: c["database"].update(migrations="m/../../../x"),
        ("database.migrations", "leaves the service's folder"),
    ),
    ("no test command", lambda c: c["tests"].pop("command"), ("tests.command", "Field required")),
    ("empty test command", lambda c: c["tests"].update(command=[]), ("tests.command",)),
    ("test timeout infinite", lambda c: c["tests"].update(timeout_seconds=float("inf")), ("tests.timeout_seconds",)),
    ("smoke path without a slash", lambda c: c["smoke"][0].update(path="carts"), ("smoke.0.path",)),
    ("smoke method unknown", lambda c: c["smoke"][0].update(method="TRACE"), ("smoke.0.method",)),
    ("smoke check named twice", lambda c: c["smoke"][1].update(name="add item"), ("two checks are named",)),
    ("metric with a space", lambda c: c["metrics"].update(requests="cart requests"), ("metrics.requests",)),
    ("traffic without its group", lambda c: c["traffic"]["read"].update(path="/carts"), ("name the group",)),
    ("traffic group size zero", lambda c: c["traffic"].update(per_group=0), ("traffic.per_group",)),
]


@pytest.mark.parametrize(("change", "fragments"), [pytest.param(*c[1:], id=c[0]) for c in CONTRACT_CASES])
def test_a_bad_service_contract_is_refused_and_changes_nothing(
    gantry: Gantry, tmp_path: Path, change: Callable[[dict[str, Any]], Any], fragments: tuple[str, ...]
) -> None:
    """A checkout whose services/cart/service.yaml is bad: every command refuses it, naming the file."""
    checkout = tmp_path / "checkout"
    for path in ("services/cart", "environments/example", "config"):
        shutil.copytree(ROOT / path, checkout / path, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    contract = checkout / "services/cart/service.yaml"
    declared = yaml.safe_load(contract.read_text())
    change(declared)
    contract.write_text(yaml.safe_dump(declared))
    gantry.monkeypatch.setenv("GANTRY_ROOT", str(checkout))
    before = tree(checkout)
    refused(gantry, ("status",), 2, (str(contract), *fragments))
    assert tree(checkout) == before


AWS_EXAMPLE = ROOT / "environments/example/aws.yaml"


def aws(change: Edit) -> Edit:
    """The aws example, pointed at a closed port on this machine (a case that got through would fail there,
    never reach AWS), with `change` applied."""

    def edit(data: dict[str, Any]) -> None:
        data.clear()
        data.update(yaml.safe_load(AWS_EXAMPLE.read_text()))
        data["aws"]["endpoint_url"] = "http://127.0.0.1:9"
        data["notifications"].pop("sns_topic_arn")
        change(data)

    return edit


AWS_CASES: list[tuple[str, Edit, tuple[str, ...]]] = [
    (
        "endpoint in plain http off the machine",
        lambda d: d["aws"].update(endpoint_url="http://aws.example.com"),
        ("aws.endpoint_url",),
    ),
    ("account id of letters", lambda d: d["aws"].update(account_id="1111222233x3"), ("aws.account_id",)),
    ("account id a number", lambda d: d["aws"].update(account_id=111122223333), ("aws.account_id",)),
    (
        "role that is no role",
        lambda d: d["aws"]["roles"].update(build="arn:aws:iam::111122223333:user/x"),
        ("aws.roles.build",),
    ),
    ("records path with spaces", lambda d: d["aws"].update(records_path="/gantry records"), ("aws.records_path",)),
    (
        "deploy timeout infinite",
        lambda d: d["aws"].update(deploy_timeout_seconds=float("inf")),
        ("aws.deploy_timeout_seconds", "finite"),
    ),
    ("poll interval huge", lambda d: d["aws"].update(poll_seconds=1e9), ("aws.poll_seconds",)),
    ("no attempts", lambda d: d["aws"].update(max_attempts=0), ("aws.max_attempts",)),
    ("attempts a boolean", lambda d: d["aws"].update(max_attempts=True), ("aws.max_attempts", "valid integer")),
    ("lease too short", lambda d: d["aws"].update(lease_seconds=1), ("aws.lease_seconds",)),
    ("unknown image source", lambda d: d["aws"].update(image_source="registry"), ("aws.image_source",)),
    ("unknown aws field", lambda d: d["aws"].update(regoins={}), ("aws.regoins", "unknown field")),
    (
        "registry endpoint off the machine",
        lambda d: d["aws"].update(registry_endpoints={"x": "10.0.0.1:5000"}),
        ("registry_endpoints",),
    ),
    (
        "registry endpoint with a newline",
        lambda d: d["aws"].update(registry_endpoints={"x": "127.0.0.1:5000\n"}),
        ("registry_endpoints",),
    ),
    (
        "base image not pinned",
        lambda d: d["aws"].update(base_image={"reference": "debian:bookworm"}),
        ("aws.base_image.reference",),
    ),
    (
        "database on plain text off the machine",
        lambda d: d["aws"]["database"].update(sslmode="disable"),
        ("sslmode 'disable'",),
    ),
    ("database port zero", lambda d: d["aws"]["database"].update(port=0), ("aws.database.port",)),
    (
        "cluster of another region",
        lambda d: d["aws"]["dr"]["cluster_arns"].update(
            {"us-west-2": "arn:aws:rds:us-east-1:111122223333:cluster:example-prod-us-west-2"}
        ),
        ("cluster_arns.us-west-2",),
    ),
    (
        "cluster name with a newline",
        lambda d: d["aws"]["dr"]["cluster_arns"].update(
            {"us-west-2": "arn:aws:rds:us-west-2:111122223333:cluster:x\n"}
        ),
        ("cluster_arns.us-west-2",),
    ),
    ("drill timeout NaN", lambda d: d["aws"]["dr"].update(timeout_seconds=float("nan")), ("aws.dr.timeout_seconds",)),
    ("hosted zone lower case", lambda d: d["aws"]["dr"].update(hosted_zone_id="z123"), ("aws.dr.hosted_zone_id",)),
    (
        "topic with a newline",
        lambda d: d["notifications"].update(sns_topic_arn="arn:aws:sns:us-east-1:111122223333:t\n"),
        ("notifications.sns_topic_arn",),
    ),
    ("demo signer on aws", lambda d: d["approvals"].update(demo_signer="demo@gantry.invalid"), ("demo_signer",)),
]


@pytest.mark.parametrize(("change", "fragments"), [pytest.param(*c[1:], id=c[0]) for c in AWS_CASES])
def test_a_bad_aws_section_is_refused_before_any_call(gantry: Gantry, change: Edit, fragments: tuple[str, ...]) -> None:
    gantry.monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    gantry.monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    gantry.configure(aws(change))
    refused(gantry, ("deploy", "--env", "staging"), 2, fragments)


def test_the_aws_cases_start_from_a_valid_file(gantry: Gantry) -> None:
    """Without a change, the same file gets past its checks (to the missing run), so each case above is refused
    for its own change."""
    gantry.monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    gantry.monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    gantry.configure(aws(lambda _d: None))
    outcome = gantry("deploy", "--env", "staging")
    assert outcome.code == 1 and "no pipeline run yet" in outcome.stderr, outcome


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        pytest.param(("deploy", "--env", "prod\nuction"), "unknown environment 'prod\\nuction'", id="environment"),
        pytest.param(("deploy", "--env", "staging", "--region", "us\x1b[2J"), "region 'us\\x1b[2J'", id="region"),
        pytest.param(("approvers", "--env", "x" * 5000), "unknown environment 'xxx", id="long environment"),
    ],
)
def test_echoed_input_stays_one_short_line(gantry: Gantry, args: tuple[str, ...], fragment: str) -> None:
    """Control characters in what a refusal echoes are escaped, and long input is cut."""
    outcome = gantry(*args)
    assert outcome.code == 2 and len(outcome.errors) == 1 and fragment in outcome.errors[0], outcome
    assert "\x1b" not in outcome.stderr and len(outcome.errors[0]) < 400


LAST_COMMAND_CASES: list[tuple[str, tuple[str, ...], int, tuple[str, ...]]] = [
    (
        "pipeline with an approver that is no identity",
        ("pipeline", "run", "--approver", "alice example"),
        2,
        ("is not an approver identity",),
    ),
    (
        "pipeline with a 10 kB approver",
        ("pipeline", "run", "--approver", "a" * 10_000),
        2,
        ("is not an approver identity",),
    ),
    (
        "pipeline with a key that is no key",
        ("pipeline", "run", "--approver", "alice@example.com", "--key", "/etc/hostname"),
        2,
        ("is not an SSH private key",),
    ),
    (
        "pipeline with a missing key",
        ("pipeline", "run", "--approver", "alice@example.com", "--key", "/no/key"),
        2,
        ("signing key /no/key not found",),
    ),
    ("pipeline with an unknown option", ("pipeline", "run", "--approvr", "alice@example.com"), 2, ("--approvr",)),
    ("up with an unknown option", ("up", "--fast"), 2, ("--fast",)),
    ("down with an unknown option", ("down", "--force"), 2, ("--force",)),
    ("base image with an unknown option", ("base-image", "--pull"), 2, ("--pull",)),
    ("build with an argument", ("build", "now"), 2, ("now",)),
    ("push with an argument", ("push", "now"), 2, ("now",)),
    ("mirror with an argument", ("mirror", "now"), 2, ("now",)),
    ("jenkins status of a bad customer", ("jenkins", "status", "--customer", "Acme"), 2, ("--customer",)),
    ("jenkins sync into a file", ("jenkins", "sync", "--render-to", "/etc/hostname"), 2, ("--render-to",)),
]


@pytest.mark.parametrize(
    ("args", "code", "fragments"),
    [pytest.param(*case[1:], id=case[0]) for case in LAST_COMMAND_CASES],
)
def test_the_remaining_commands_refuse_bad_arguments_and_start_no_run(
    gantry: Gantry, args: tuple[str, ...], code: int, fragments: tuple[str, ...]
) -> None:
    refused(gantry, args, code, fragments)
