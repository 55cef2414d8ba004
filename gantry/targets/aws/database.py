"""The service's Aurora PostgreSQL database on the aws target: the URL its tasks use, the runtime role and the
environment's database made by the master user, and the migrations run as a one-off task of the release's image.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg

from gantry.config import GantryConfig
from gantry.database import ensure_database, ensure_role
from gantry.errors import ConfigError, GantryError
from gantry.targets.aws.clients import Clients, aws_errors
from gantry.targets.aws.settings import AwsDatabaseSettings, AwsSettings


class AuroraDatabase:
    def __init__(self, cfg: GantryConfig, settings: AwsSettings, clients: Clients) -> None:
        self.cfg = cfg
        self.settings = settings
        self.clients = clients

    def endpoint(self, env: str, region: str) -> tuple[AwsDatabaseSettings, str]:
        database = self.settings.database
        endpoint = (
            self.settings.service(env, region).database_endpoint or self.settings.region(region).database_endpoint
        )
        if database is None or endpoint is None:
            raise ConfigError(
                f"{self.cfg.source}: aws.database and aws.regions.{region}.database_endpoint are needed: the service "
                "has a database (import the aurora_global outputs with gantry aws-import)"
            )
        return database, endpoint

    @property
    def runtime_role(self) -> str:
        """The role the tasks connect as: aws.database.user, else the service's name."""
        database = self.settings.database
        return (database.user if database else None) or self.cfg.service.name.replace("-", "_")

    def name(self, env: str) -> str:
        database = self.settings.database
        prefix = (database.name_prefix if database else None) or self.cfg.service.name.replace("-", "_")
        return f"{prefix}_{env.replace('-', '_')}"

    def url(self, env: str, region: str, user: str | None = None) -> str:
        """DATABASE_URL for `env` in `region` (the runtime role, or `user`), without a password."""
        database, endpoint = self.endpoint(env, region)
        return (
            f"host={endpoint} port={database.port} dbname={self.name(env)} user={user or self.runtime_role} "
            f"sslmode={database.sslmode}"
        )

    def app_secret(self, env: str, region: str) -> str | None:
        """The tasks' secret of `env` in `region`."""
        return (
            self.settings.service(env, region).database_secret_arn or self.settings.region(region).database_secret_arn
        )

    def owner_secret(self, env: str, region: str) -> str:
        """The master credentials' secret of `env` in `region`."""
        database, _ = self.endpoint(env, region)
        arn = self.settings.service(env, region).owner_secret_arn or database.owner_secret_arn
        if arn is None:
            raise ConfigError(
                f"aws.regions.{region}.environments.{env}.owner_secret_arn is needed: import the aurora_global outputs"
            )
        return arn

    def prepare(self, env: str, region: str) -> str:
        """The runtime role (with the password of the tasks' secret) and `env`'s database, made (or the password
        rotated) by the master user on `region`'s writer; returns the master user's name."""
        database, endpoint = self.endpoint(env, region)
        owner = self._secret(self.owner_secret(env, region), region)
        secret_arn = self.app_secret(env, region)
        if secret_arn is None:
            raise ConfigError(f"aws.regions.{region}.database_secret_arn is needed: import the aurora_global outputs")
        app = self._secret(secret_arn, region)
        if app.get("username") != self.runtime_role:
            raise ConfigError(
                f"{secret_arn} is for {app.get('username')!r}, not the runtime role {self.runtime_role!r} "
                "(aws.database.user, else the service's name)"
            )
        try:
            with psycopg.connect(
                host=endpoint,
                port=database.port,
                dbname=str(owner.get("dbname") or "postgres"),
                user=str(owner["username"]),
                password=str(owner["password"]),
                sslmode=database.sslmode,
                connect_timeout=10,
                autocommit=True,
            ) as conn:
                ensure_role(conn, self.runtime_role, str(app["password"]))
                ensure_database(conn, self.name(env), owner=str(owner["username"]), app_role=self.runtime_role)
        except psycopg.Error as exc:  # the driver's message names the host, never the password
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
            raise GantryError(
                f"cannot prepare database {self.name(env)} on {endpoint} ({reason}): check the cluster, its security "
                "group and the master secret"
            ) from None
        return str(owner["username"])

    def _secret(self, arn: str, region: str) -> dict[str, Any]:
        with aws_errors(f"reading {arn}", "check the secret and the role's access to it"):
            raw = self.clients("secretsmanager", region).get_secret_value(SecretId=arn)
        value: dict[str, Any] = json.loads(raw["SecretString"])
        return value


def password_key(secret_arn: str | None) -> str:
    """ECS `secrets[].valueFrom` for the `password` key of a JSON secret (the RDS secret layout)."""
    if not secret_arn:
        return ""
    return secret_arn if secret_arn.count(":") > 6 else f"{secret_arn}:password::"
