"""The deployment unit: the ECS task definition template in the repository (app/task-definition.json.tpl),
rendered the same way for both targets. Placeholders are `${name}`, which both Python's string.Template and
Terraform's templatefile() understand."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

from gantry.config import GantryConfig
from gantry.errors import ConfigError
from gantry.paths import project_root


@dataclass(frozen=True)
class HealthCheck:
    command: list[str]
    interval: float
    timeout: float
    retries: int
    start_period: float

    def shell_command(self) -> list[str]:
        """The ECS form ["CMD-SHELL", "cmd"] or ["CMD", "exe", ...] as an argv to exec in the container."""
        kind, *rest = self.command
        return ["/bin/sh", "-c", rest[0]] if kind == "CMD-SHELL" else rest


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    container_port: int
    environment: dict[str, str]
    cpu: int
    memory: int
    read_only: bool
    health: HealthCheck | None
    # ECS `secrets`: environment variable name -> where the value comes from (an ARN on AWS; on the local
    # target the path of a file, which it mounts read-only and names in <NAME>_FILE instead).
    secrets: dict[str, str] = field(default_factory=dict)


def fill(template: Path, values: dict[str, str | int]) -> dict[str, Any]:
    """The template with ${...} filled in (strings JSON-escaped); a placeholder without a value is an error."""
    try:
        text = Template(template.read_text()).substitute(
            {k: json.dumps(v)[1:-1] if isinstance(v, str) else v for k, v in values.items()}
        )
    except KeyError as exc:
        raise ConfigError(
            f"{template} uses ${{{exc.args[0]}}}, which gantry does not provide: fix the template"
        ) from None
    try:
        rendered: dict[str, Any] = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"task definition template {template} is not valid JSON once rendered ({exc})") from None
    return rendered


def render(
    cfg: GantryConfig,
    *,
    image: str,
    sha: str,
    digest: str,
    env: str,
    region: str,
    family: str | None = None,
    log_group: str | None = None,
    database_url: str = "",
    database_secret: str = "",
) -> dict[str, Any]:
    """The service's task definition for one environment and region (both targets call this). The database
    settings are the target's: where the service's database of this environment and region is, without a
    password (database_url), and where the password comes from (database_secret)."""
    path = project_root() / cfg.service.task_definition
    if not path.is_file():
        raise ConfigError(f"task definition template {path} not found: fix service.task_definition")
    values: dict[str, str | int] = {
        "family": family or f"{cfg.customer}-{cfg.service.name}-{env}",
        "container_name": cfg.service.name,
        "image": image,
        "cpu": cfg.service.cpu,
        "memory": cfg.service.memory,
        "container_port": cfg.service.container_port,
        "git_sha": sha,
        "image_digest": digest,
        "deploy_env": env,
        "region": region,
        "log_group": log_group or f"/gantry/{cfg.customer}/{cfg.service.name}/{env}",
        "database_url": database_url,
        "database_secret_arn": database_secret,
    }
    rendered = fill(path, values)
    for container in rendered.get("containerDefinitions", []):
        # A service without a database: no secret without a source (ECS refuses one), no empty DATABASE_URL.
        container["secrets"] = [s for s in container.get("secrets", []) if s.get("valueFrom")]
        container["environment"] = [
            e for e in container.get("environment", []) if e.get("value") or e.get("name") != "DATABASE_URL"
        ]
    return rendered


def container_spec(task_definition: dict[str, Any]) -> ContainerSpec:
    """The essential container of a rendered task definition, in the shape the local target runs."""
    essential = [c for c in task_definition["containerDefinitions"] if c.get("essential", True)]
    if len(essential) != 1:
        raise ConfigError("the task definition must have exactly one essential container")
    container = essential[0]
    health = container.get("healthCheck")
    return ContainerSpec(
        name=container["name"],
        image=container["image"],
        container_port=container["portMappings"][0]["containerPort"],
        environment={item["name"]: item["value"] for item in container.get("environment", [])},
        cpu=int(container.get("cpu", 0)),
        memory=int(container.get("memory", 0)),
        read_only=bool(container.get("readonlyRootFilesystem", False)),
        secrets={item["name"]: item["valueFrom"] for item in container.get("secrets", []) if item.get("valueFrom")},
        health=HealthCheck(
            command=health["command"],
            interval=health.get("interval", 30),
            timeout=health.get("timeout", 5),
            retries=health.get("retries", 3),
            start_period=health.get("startPeriod", 0),
        )
        if health
        else None,
    )
