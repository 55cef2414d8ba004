"""`gantry migrate` on the aws target: the master secret from Secrets Manager (moto), a real PostgreSQL 15 on
127.0.0.1 in place of the Aurora writer (moto runs no database; see aws_stack.aurora_stand_in). The target
creates the tasks' role with the password of their secret and the environment's database, then runs the
migrations as a one-off ECS task of the release's image (RunTask against moto) with the master credentials
injected by ECS. moto runs no task: the waiter here stands in for ECS running it (it reports the task stopped
with the exit code a test chooses and writes its output to the task's log stream, as awslogs would). The real
image running its real migrations as that task is tests/aws/test_e2e.py's."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aws_stack import PRIMARY, AuroraStandIn, _database_secrets, aurora_stand_in, client, service_files

from gantry.config import GantryConfig
from gantry.errors import GantryError
from gantry.targets.aws.settings import AwsSettings
from gantry.targets.aws.target import AwsTarget
from gantry.targets.base import Release

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
DIGEST = "sha256:" + "9" * 64


@pytest.fixture
def aurora(tmp_path: Path) -> Any:
    with aurora_stand_in(tmp_path / "aurora") as database:
        yield database


def as_cart(database: AuroraStandIn, password: str) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host="127.0.0.1", port=database.port, dbname="cart_production", user="cart", password=password, autocommit=True
    )


class ScriptedTask:
    """What ECS would report for the one-off task: stopped with `exit_code`; its output in the task's stream."""

    def __init__(self, moto: str, exit_code: int, lines: list[str]) -> None:
        self.moto, self.exit_code, self.lines = moto, exit_code, lines
        self.seen: list[dict[str, Any]] = []

    def __call__(self, ecs: Any, cluster: str, task_arn: str, timeout: float) -> dict[str, Any]:
        task = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0]
        definition = ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])["taskDefinition"]
        self.seen.append({"cluster": cluster, "task": task, "definition": definition})
        container = definition["containerDefinitions"][0]
        options = container["logConfiguration"]["options"]
        logs = client(self.moto, "logs", PRIMARY)
        group, stream = (
            options["awslogs-group"],
            f"{options['awslogs-stream-prefix']}/{container['name']}/{task_arn.rsplit('/', 1)[-1]}",
        )
        if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
            logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        now = int(time.time() * 1000)
        events = [{"timestamp": now + i, "message": line} for i, line in enumerate(self.lines)]
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
        return {
            **task,
            "lastStatus": "STOPPED",
            "containers": [{"name": container["name"], "exitCode": self.exit_code}],
        }


def migration_target(stack: Any, aurora: AuroraStandIn, waiter: ScriptedTask) -> tuple[AwsTarget, dict[str, Any]]:
    raw = {**stack.raw, "aws": {**stack.raw["aws"]}}
    raw["aws"]["regions"] = {
        k: {**v, "environments": {e: dict(s) for e, s in v["environments"].items()}}
        for k, v in raw["aws"]["regions"].items()
    }
    _database_secrets(stack.url, raw["aws"], aurora)
    service_files(stack.tmp / "source-work", database=True)  # the checkout's contract now declares it
    return AwsTarget(GantryConfig.model_validate(raw), task_waiter=waiter), raw


def test_migrate_provisions_the_role_and_database_then_runs_the_one_off_task(stack: Any, aurora: AuroraStandIn) -> None:
    waiter = ScriptedTask(stack.url, 0, ["applied 0001.create-carts", "applied 0002.cart-items-updated-at"])
    target, raw = migration_target(stack, aurora, waiter)
    release = Release(stack.sha, DIGEST)
    lines = target.migrate("production", release, ["python3", "/app/migrate.py"], lambda _text: None)
    assert lines == ["applied 0001.create-carts", "applied 0002.cart-items-updated-at"]
    [run] = waiter.seen
    definition, container = run["definition"], run["definition"]["containerDefinitions"][0]
    assert run["cluster"] == "example-prod" and definition["family"] == "example-prod-cart-migrate"
    assert container["image"].endswith(f"@{DIGEST}") and container["command"] == ["python3", "/app/migrate.py"]
    environment = {e["name"]: e["value"] for e in container["environment"]}
    url = f"host=127.0.0.1 port={aurora.port} dbname=cart_production user={aurora.master_user} sslmode=disable"
    assert environment == {"DATABASE_URL": url}
    master = raw["aws"]["regions"][PRIMARY]["environments"]["production"]["owner_secret_arn"]
    assert container["secrets"] == [{"name": "DATABASE_PASSWORD", "valueFrom": f"{master}:password::"}]
    assert not container.get("portMappings") and not container.get("healthCheck")
    assert aurora.master_password not in str(definition)  # ECS injects it; no argument or override holds it
    # The environment's database and the tasks' role exist, with what the role may do and nothing more.
    with as_cart(aurora, aurora.app_password) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("cart",)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE sneaky (x int)")
    # The tasks' secret is rotated: the next migrate sets the new password.
    secret = raw["aws"]["regions"][PRIMARY]["environments"]["production"]["database_secret_arn"]
    client(stack.url, "secretsmanager", PRIMARY).put_secret_value(
        SecretId=secret, SecretString='{"username": "cart", "password": "rotated-password-5678"}'
    )
    target.migrate("production", release, ["python3", "/app/migrate.py"], lambda _text: None)
    with as_cart(aurora, "rotated-password-5678"):
        pass
    with pytest.raises(psycopg.OperationalError):
        as_cart(aurora, aurora.app_password)


def test_a_failed_migration_task_is_one_line_with_its_exit_code(stack: Any, aurora: AuroraStandIn) -> None:
    waiter = ScriptedTask(stack.url, 1, ["migrate: failed (UndefinedColumn: column x does not exist)"])
    target, _ = migration_target(stack, aurora, waiter)
    with pytest.raises(GantryError, match=r"`python3 /app/migrate.py` exited 1 \(migrate: failed \(UndefinedColumn"):
        target.migrate("staging", Release(stack.sha, DIGEST), ["python3", "/app/migrate.py"], lambda _text: None)
    assert waiter.seen[0]["cluster"] == "example-test"  # staging's own cluster and database


def test_tls_may_be_off_only_for_a_loopback_database(stack: Any) -> None:
    raw = {**stack.raw, "aws": {**stack.raw["aws"], "database": {"sslmode": "disable"}}}
    raw["aws"]["regions"] = {k: {**v, "database_endpoint": "db.example.com"} for k, v in raw["aws"]["regions"].items()}
    with pytest.raises(GantryError, match="sslmode 'disable'"):
        AwsSettings.of(GantryConfig.model_validate(raw))
