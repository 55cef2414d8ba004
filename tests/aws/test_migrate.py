"""`gantry migrate` on the aws target: the master secret from Secrets Manager (moto), a real PostgreSQL 15 on
127.0.0.1 in place of the Aurora writer (moto runs no database; see aws_stack.aurora_stand_in). The target
creates the tasks' role with the password of their secret and the environment's database, then yoyo applies
the commit's migrations as the master user; the tasks' role can use the tables and nothing more."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aws_stack import PRIMARY, AuroraStandIn, _database_secrets, aurora_stand_in, client

from gantry.config import GantryConfig
from gantry.errors import GantryError
from gantry.stages import migrate
from gantry.targets.aws.settings import AwsSettings
from gantry.targets.aws.target import AwsTarget

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def aurora(tmp_path: Path) -> Any:
    with aurora_stand_in(tmp_path / "aurora") as database:
        yield database


def migrations() -> bytes:
    return subprocess.run(
        ["git", "-C", str(ROOT), "archive", "HEAD", "app/migrations"], capture_output=True, check=True
    ).stdout


def as_cart(database: AuroraStandIn, password: str) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host="127.0.0.1", port=database.port, dbname="cart_production", user="cart", password=password, autocommit=True
    )


def test_migrate_provisions_the_role_and_database_then_applies(stack: Any, aurora: AuroraStandIn) -> None:
    raw = {**stack.raw, "aws": {**stack.raw["aws"]}}
    raw["aws"]["regions"] = {k: dict(v) for k, v in raw["aws"]["regions"].items()}
    _database_secrets(stack.url, raw["aws"], aurora)
    raw["service"] = {**raw["service"], "database": {"migrations": "app/migrations"}}
    target = AwsTarget(GantryConfig.model_validate(raw))
    with target.migration_database("production") as url:
        assert aurora.master_password not in url  # the password stays in the 0600 passfile
        applied = migrate.apply(url, migrations(), "app/migrations")
    assert applied == ["0001.create-carts", "0002.cart-items-updated-at"]
    with as_cart(aurora, aurora.app_password) as conn:
        conn.execute("INSERT INTO carts (cart_id) VALUES ('c-1')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE sneaky (x int)")
    # The tasks' secret is rotated: the next migrate sets the new password; nothing is applied twice.
    secret = raw["aws"]["regions"][PRIMARY]["database_secret_arn"]
    client(stack.url, "secretsmanager", PRIMARY).put_secret_value(
        SecretId=secret, SecretString='{"username": "cart", "password": "rotated-password-5678"}'
    )
    with target.migration_database("production") as url:
        assert migrate.apply(url, migrations(), "app/migrations") == []
    with as_cart(aurora, "rotated-password-5678") as conn:
        assert conn.execute("SELECT count(*) FROM carts").fetchone() == (1,)
    with pytest.raises(psycopg.OperationalError):
        as_cart(aurora, aurora.app_password)


def test_tls_may_be_off_only_for_a_loopback_database(stack: Any) -> None:
    raw = {
        **stack.raw,
        "aws": {**stack.raw["aws"], "database": {"owner_secret_arn": "arn:aws:secretsmanager:x", "sslmode": "disable"}},
    }
    raw["aws"]["regions"] = {k: {**v, "database_endpoint": "db.example.com"} for k, v in raw["aws"]["regions"].items()}
    from gantry.config import GantryConfig

    with pytest.raises(GantryError, match="sslmode 'disable'"):
        AwsSettings.of(GantryConfig.model_validate(raw))
