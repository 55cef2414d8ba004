"""The deployment unit: the ECS task definition template in the repository (app/task-definition.json.tpl),
rendered the same way for both targets. Placeholders are `${name}`, which both Python's string.Template and
Terraform's templatefile() understand.

What runs is bound to its approval: a deploy renders the template as committed in the release's commit (never
from the deployer's working tree), `fingerprint` hashes the result without the fields that differ between
regions, and an approval of a protected target names that hash. `check_policy` refuses what would give a
container the host (privileged mode, host namespaces, host paths by any volume driver, added capabilities,
devices) or run something other than the release's image and its own command, unless the environment lists the
exception by name.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from string import Template
from typing import Any

from gantry.config import GantryConfig
from gantry.errors import ConfigError


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


# Where the template comes from: the release's commit (`path` -> its text as committed there).
TemplateSource = Callable[[str], str]


def fill(template: str, values: dict[str, str | int], name: str = "the task definition template") -> dict[str, Any]:
    """The template with ${...} filled in (strings JSON-escaped); a placeholder without a value is an error."""
    try:
        text = Template(template).substitute(
            {k: json.dumps(v)[1:-1] if isinstance(v, str) else v for k, v in values.items()}
        )
    except KeyError as exc:
        raise ConfigError(f"{name} uses ${{{exc.args[0]}}}, which gantry does not provide: fix the template") from None
    except ValueError as exc:
        raise ConfigError(f"{name} has an invalid placeholder ({exc}): write placeholders as ${{name}}") from None
    try:
        rendered = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{name} is not valid JSON once rendered ({exc})") from None
    if not isinstance(rendered, dict) or not isinstance(rendered.get("containerDefinitions"), list):
        raise ConfigError(f"{name} is not a task definition (no containerDefinitions list)")
    return rendered


def render(
    cfg: GantryConfig,
    source: TemplateSource,
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
    password (database_url), and where the password comes from (database_secret). The template is read through
    `source`: the release's commit."""
    template_path = cfg.service.in_repo(cfg.service.task_definition)
    template = source(template_path)
    values: dict[str, str | int] = {
        "family": family or f"{cfg.customer}-{cfg.service.name}-{env}",
        "container_name": cfg.service.name,
        "image": image,
        "cpu": cfg.service.cpu_in(env),
        "memory": cfg.service.memory_in(env),
        "container_port": cfg.service.container_port,
        "git_sha": sha,
        "image_digest": digest,
        "deploy_env": env,
        "region": region,
        "log_group": log_group or f"/gantry/{cfg.customer}/{cfg.service.name}/{env}",
        "database_url": database_url,
        "database_secret_arn": database_secret,
    }
    rendered = fill(template, values, template_path)
    variables = cfg.service.variables_in(env)
    for container in rendered.get("containerDefinitions", []):
        if container.get("essential", True) and variables:  # the contract's variables, over the template's
            kept = [e for e in container.get("environment", []) if e.get("name") not in variables]
            container["environment"] = kept + [{"name": k, "value": v} for k, v in sorted(variables.items())]
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


# Fields that name a region's own resources (its registry, log region, database endpoint and secret): they
# differ between regions for one release, so the approval's hash leaves them out.
REGIONAL_ENVIRONMENT = {"REGION", "DATABASE_URL"}
REGIONAL_LOG_OPTIONS = {"awslogs-region", "awslogs-group"}


def fingerprint(task_definition: dict[str, Any]) -> str:
    """sha256 of the task definition without its per-region fields: one value for a release in every region."""
    neutral = copy.deepcopy(task_definition)
    for key in ("family", "tags", "executionRoleArn", "taskRoleArn"):
        neutral.pop(key, None)
    for container in neutral.get("containerDefinitions", []):
        image = str(container.get("image", ""))
        container["image"] = image[image.rfind("@") + 1 :] if "@" in image else image
        container["environment"] = sorted(
            (e for e in container.get("environment", []) if e.get("name") not in REGIONAL_ENVIRONMENT),
            key=lambda e: str(e.get("name")),
        )
        container["secrets"] = sorted(str(s.get("name")) for s in container.get("secrets", []))
        options = container.get("logConfiguration", {}).get("options", {})
        for key in REGIONAL_LOG_OPTIONS:
            options.pop(key, None)
    text = json.dumps(neutral, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# The allow-list: every key a task definition and its containers may carry. Anything else is refused, so a new
# ECS setting is reviewed here before a template can use it.
TASK_KEYS = {
    "family", "networkMode", "requiresCompatibilities", "containerDefinitions", "cpu", "memory", "volumes",
    "executionRoleArn", "taskRoleArn", "tags", "runtimePlatform", "pidMode", "ipcMode",
}  # fmt: skip
CONTAINER_KEYS = {
    "name", "image", "essential", "cpu", "memory", "memoryReservation", "portMappings", "environment", "secrets",
    "healthCheck", "readonlyRootFilesystem", "logConfiguration", "stopTimeout", "startTimeout", "user",
    "workingDirectory", "ulimits", "dependsOn", "mountPoints", "dockerLabels", "linuxParameters", "privileged",
    "command", "entryPoint",
}  # fmt: skip
LINUX_KEYS = {"initProcessEnabled", "capabilities", "devices", "sharedMemorySize", "tmpfs"}
VOLUME_KEYS = {"name", "host", "dockerVolumeConfiguration"}


def check_policy(task_definition: dict[str, Any], digest: str, allowed: Collection[str] = ()) -> list[str]:
    """What the task definition holds beyond the policy, as '<exception>: <where>' lines; empty when it may run.
    `digest` is the release's image (every container runs it, pinned); `allowed` are the environment's exceptions
    (an unknown key is never allowed)."""
    found = _task_findings(task_definition)
    for container in task_definition.get("containerDefinitions", []):
        found += _container_findings(container if isinstance(container, dict) else {}, digest)
    return [f"{kind}: {where}" for kind, where in found if kind == "unknown" or kind not in allowed]


def _volume_findings(volume: dict[str, Any]) -> list[tuple[str, str]]:
    name = volume.get("name", "?")
    found = [
        ("unknown", f"volume '{name}' key '{key}' is not on gantry's allow-list")
        for key in sorted(set(volume) - VOLUME_KEYS)
    ]
    source = (volume.get("host") or {}).get("sourcePath")
    if source:
        found.append(("host-volumes", f"volume '{name}' mounts host path {source}"))
    docker = volume.get("dockerVolumeConfiguration") or {}
    # The local driver's options bind any host path (type=none, o=bind, device=/); other drivers reach further.
    if docker.get("driverOpts") or docker.get("driver") not in (None, "local"):
        found.append(("host-volumes", f"volume '{name}' sets a volume driver or its options"))
    return found


def _task_findings(task_definition: dict[str, Any]) -> list[tuple[str, str]]:
    found = [("unknown", f"task definition key '{k}' is not on gantry's allow-list") for k in task_definition]
    found = [item for item, key in zip(found, task_definition, strict=True) if key not in TASK_KEYS]
    if task_definition.get("networkMode") == "host":
        found.append(("host-network", "networkMode host"))
    for key, name in (("pidMode", "host-pid"), ("ipcMode", "host-ipc")):
        if task_definition.get(key) == "host":
            found.append((name, f"{key} host"))
    for volume in task_definition.get("volumes") or []:
        found += _volume_findings(volume if isinstance(volume, dict) else {})
    return found


def _container_findings(container: dict[str, Any], digest: str) -> list[tuple[str, str]]:
    name = container.get("name", "?")
    found = [
        ("unknown", f"container '{name}' key '{key}' is not on gantry's allow-list")
        for key in sorted(set(container) - CONTAINER_KEYS)
    ]
    if not str(container.get("image", "")).endswith(f"@{digest}"):
        found.append(("other-images", f"container '{name}' runs {container.get('image')!r}, not the release's image"))
    if container.get("privileged"):
        found.append(("privileged", f"container '{name}' is privileged"))
    found += [
        ("command", f"container '{name}' sets {key} (run the image's own command)")
        for key in ("command", "entryPoint")
        if container.get(key)
    ]
    linux = container.get("linuxParameters") or {}
    found += [
        ("unknown", f"container '{name}' linuxParameters.{key} is not on gantry's allow-list")
        for key in sorted(set(linux) - LINUX_KEYS)
    ]
    if (linux.get("capabilities") or {}).get("add"):
        found.append(("capabilities", f"container '{name}' adds capabilities {linux['capabilities']['add']}"))
    if linux.get("devices"):
        found.append(("devices", f"container '{name}' maps host devices"))
    return found
