"""A service's contract with gantry, one file per service (`services/<name>/service.yaml`): how to build and test
it, what it needs to run (port, CPU, memory, its database and migrations), the smoke checks that show a release
works, the metrics that tell its request and error rates, and the load a DR drill or a benchmark may put on it.
The file lives with the service's code; gantry's core reads it and names no service itself. Paths in it are
relative to the service's folder, which is also the build context, and may not leave it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, PrivateAttr, ValidationError, model_validator

from gantry.errors import ConfigError
from gantry.names import EnvironmentName, ServiceName
from gantry.schema import Command, RepoPath, Strict, describe, inside

# Where a repository keeps its services: services/<name>/service.yaml.
SERVICES_DIR = "services"
CONTRACT_FILE = "service.yaml"

# A JSON value a reply's field must equal (objects and lists are matched whole).
JsonValue = str | int | float | bool | None | list[Any] | dict[str, Any]
# `{token}` in a path becomes a fresh random token per smoke run, so runs never share (or collide on) data.
SmokePath = Annotated[str, Field(pattern=r"^/[A-Za-z0-9/_.~{}-]{0,199}$")]
# A fixed path the platform probes (no placeholders).
ProbePath = Annotated[str, Field(pattern=r"^/[A-Za-z0-9/_.~-]{0,199}$")]
METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]{0,199}"
MetricName = Annotated[str, Field(pattern=f"^{METRIC_NAME}$")]


class SmokeCheck(Strict):
    name: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$")
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    path: SmokePath
    body: dict[str, JsonValue] | None = None
    status: int = Field(default=200, ge=100, le=599)
    # Top-level fields of the JSON reply that must equal these, and fields it must have (either means the reply
    # must be JSON, by its Content-Type).
    json_fields: dict[str, JsonValue] = Field(default_factory=dict)
    json_keys: list[str] = Field(default_factory=list)
    # The call writes: skipped in a region whose database is a standby (reads only until a failover).
    writes: bool = False

    @model_validator(mode="after")
    def token_only(self) -> SmokeCheck:
        if self.path.replace("{token}", "").count("{") or self.path.replace("{token}", "").count("}"):
            raise ValueError("path: the only placeholder is {token}")
        if self.body is not None and self.method == "GET":
            raise ValueError("body: a GET sends no body")
        return self


class HealthContract(Strict):
    """What the platform probes, as the service declares it (Kubernetes' readiness probe, the ALB target group's
    path): `path` answers 200 while the service can serve, and a service with a database says the database's role
    in its JSON (`"role":"primary"` or standby), which the DR entry point follows; `version` answers the release
    it runs as JSON, `{"sha": GIT_SHA, "digest": IMAGE_DIGEST}` from the variables gantry sets."""

    path: ProbePath = "/healthz"
    version: ProbePath = "/version"


class MetricsContract(Strict):
    path: SmokePath = "/metrics"
    # The counter of the service's HTTP requests, which its /metrics must expose, and its label holding the
    # response status (the error-rate alert counts the 5xx ones).
    requests: MetricName
    status_label: str = Field(default="status", pattern=r"^[a-zA-Z_][a-zA-Z0-9_]{0,63}$")
    # The histogram of its request durations in seconds (the latency alert reads `<duration>_bucket`), if any.
    duration: MetricName | None = None


# `{group}` and `{item}` name one write of a drill's or a benchmark's load (see TrafficProfile).
TrafficPath = Annotated[str, Field(pattern=r"^/[A-Za-z0-9/_.~{}-]{0,199}$")]
PLACEHOLDERS = ("{group}", "{item}")


def _render(value: Any, group: str, item: str) -> Any:
    if isinstance(value, str):
        return value.replace("{group}", group).replace("{item}", item)
    if isinstance(value, dict):
        return {key: _render(inner, group, item) for key, inner in value.items()}
    if isinstance(value, list):
        return [_render(inner, group, item) for inner in value]
    return value


class TrafficCall(Strict):
    method: Literal["GET", "POST", "PUT", "PATCH"] = "GET"
    path: TrafficPath
    body: dict[str, JsonValue] | None = None
    status: int = Field(default=200, ge=100, le=599)

    @model_validator(mode="after")
    def placeholders(self) -> TrafficCall:
        rest = self.path
        for placeholder in PLACEHOLDERS:
            rest = rest.replace(placeholder, "")
        if "{" in rest or "}" in rest:
            raise ValueError("path: the only placeholders are {group} and {item}")
        if "{group}" not in self.path:
            raise ValueError("path: name the group ({group}) the call writes or reads")
        return self

    def render(self, group: str, item: str) -> tuple[str, str, dict[str, Any] | None]:
        """(method, path, body) of the call for one write or read."""
        return self.method, _render(self.path, group, item), _render(self.body, group, item)


class TrafficProfile(Strict):
    """The load a DR drill or a benchmark puts on the service: writes in groups (`{item}` counts 000 to
    per_group - 1 within a `{group}`), reads of a group, and how a write is found again when its group is read
    back: an element of the reply's `items` list whose fields equal `match` (rendered for that write). A write
    acknowledged and not found is a lost write (the RPO)."""

    write: TrafficCall
    read: TrafficCall
    per_group: int = Field(ge=1, le=10000)
    items: str = Field(min_length=1, max_length=64)
    match: dict[str, str] = Field(min_length=1)

    def key(self, writer: str, sequence: int) -> tuple[str, str]:
        """The (group, item) of a writer's `sequence`-th write."""
        return f"{writer}-{sequence // self.per_group}", f"{sequence % self.per_group:03d}"

    def found(self, reply: Any, group: str, item: str) -> bool:
        """`reply` (the read of `group`) holds the write `item`."""
        elements = reply.get(self.items) if isinstance(reply, dict) else None
        wanted = _render(self.match, group, item)
        return isinstance(elements, list) and any(
            isinstance(element, dict) and all(element.get(k) == v for k, v in wanted.items()) for element in elements
        )


class BuildConfig(Strict):
    """The image: the service's folder (exactly as committed) is the build context."""

    dockerfile: RepoPath = "Dockerfile"
    # The Dockerfile stage that is the service's image (None: the last stage).
    target: str | None = Field(default="runtime", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class TestConfig(Strict):
    """The service's unit tests: its Dockerfile's `target` stage, run with `command` in a container with no
    network and no credentials (gantry.stages.build)."""

    target: str = Field(default="test", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    command: Command
    timeout_seconds: float = Field(default=900, gt=0, le=3600, allow_inf_nan=False)
    memory_mib: int = Field(default=1024, ge=64, le=16384)


class DatabaseConfig(Strict):
    # The service's schema migrations as the image carries them (for the reader: gantry never reads them).
    migrations: RepoPath = "migrations"
    # What applies them: run once, as a one-off task of the release's image, with the schema owner's
    # credentials (DATABASE_URL without password, DATABASE_PASSWORD_FILE) and nothing else.
    migrate_command: Command


# What gantry sets itself in every task definition (the release, where it runs, its database): a contract may
# not set these.
RESERVED_VARIABLES = frozenset(
    {"GIT_SHA", "IMAGE_DIGEST", "DEPLOY_ENV", "REGION", "DATABASE_URL", "DATABASE_PASSWORD", "DATABASE_PASSWORD_FILE"}
)
VariableName = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]{0,127}$")]
Variables = Annotated[dict[VariableName, Annotated[str, Field(max_length=4096)]], Field(max_length=100)]
Cpu = Annotated[int, Field(ge=128, le=16384)]
Memory = Annotated[int, Field(ge=64, le=122880)]


class EnvironmentOverrides(Strict):
    """What differs in one environment (Copilot's `environments:` overrides): replicas per region, the
    container's CPU and memory, and variables added to (or replacing) the service's own."""

    replicas: int | None = Field(default=None, ge=1, le=10)
    cpu: Cpu | None = None
    memory: Memory | None = None
    variables: Variables = Field(default_factory=dict)


class ServiceContract(Strict):
    name: ServiceName
    container_port: int = Field(default=80, ge=1, le=65535)
    cpu: Cpu = 256
    memory: Memory = 256
    # Plain environment variables of the container (no secrets: those come from the target's secret store).
    variables: Variables = Field(default_factory=dict)
    # Per pipeline environment (staging, production...): replicas, cpu, memory, variables.
    environments: dict[EnvironmentName, EnvironmentOverrides] = Field(default_factory=dict)
    build: BuildConfig = BuildConfig()
    # The ECS task definition template both targets render (gantry.taskdef), read from the release's commit.
    task_definition: RepoPath = "task-definition.json.tpl"
    tests: TestConfig
    # The paths the load balancers, rollouts, smoke checks and verify probe.
    health: HealthContract = HealthContract()
    # The service's PostgreSQL schema migrations, applied by `gantry migrate` before deploys; absent for a
    # service without a database.
    database: DatabaseConfig | None = None
    metrics: MetricsContract
    smoke: list[SmokeCheck] = Field(min_length=1, max_length=50)
    # What a DR drill or a benchmark drives; a service without one takes no part in drills.
    traffic: TrafficProfile | None = None
    # The folder the file came from, relative to the repository (set by `read`).
    _folder: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def distinct_names(self) -> ServiceContract:
        names = [check.name for check in self.smoke]
        if len(set(names)) != len(names):
            raise ValueError(f"smoke: two checks are named {next(n for n in names if names.count(n) > 1)!r}")
        for where, variables in (
            ("variables", self.variables),
            *((f"environments.{env}.variables", o.variables) for env, o in self.environments.items()),
        ):
            if reserved := sorted(RESERVED_VARIABLES & set(variables)):
                raise ValueError(f"{where}: {', '.join(reserved)} is set by gantry itself: remove it")
        return self

    def _override(self, env: str) -> EnvironmentOverrides:
        return self.environments.get(env) or EnvironmentOverrides()

    def cpu_in(self, env: str) -> int:
        return self._override(env).cpu or self.cpu

    def memory_in(self, env: str) -> int:
        return self._override(env).memory or self.memory

    def replicas_in(self, env: str) -> int | None:
        """The contract's replica count for `env`, or None (the environment file's)."""
        return self._override(env).replicas

    def variables_in(self, env: str) -> dict[str, str]:
        return {**self.variables, **self._override(env).variables}

    @property
    def folder(self) -> str:
        """The service's folder relative to the repository: its build context."""
        return self._folder

    @property
    def file(self) -> str:
        """The contract file relative to the repository (for messages)."""
        return f"{self._folder}/{CONTRACT_FILE}"

    def in_repo(self, path: str) -> str:
        """A path of this file (relative to the service's folder) relative to the repository."""
        return f"{self._folder}/{path}"


def folder(name: str) -> str:
    """Where the service `name` lives, relative to the repository."""
    return f"{SERVICES_DIR}/{name}"


def load(name: str, root: Path) -> ServiceContract:
    """The contract of the service `name` in the checkout at `root`; ConfigError naming the file, the field and
    the fix."""
    where = folder(name)
    path = inside(root, f"{where}/{CONTRACT_FILE}", f"services: {name}")
    if not path.is_file():
        raise ConfigError(
            f"services: {name}: {where}/{CONTRACT_FILE} is not a file: write the service's contract there "
            "(`gantry new-service` scaffolds one)"
        )
    declared = read(path)
    if declared.name != name:
        raise ConfigError(f"{path}: name: {declared.name!r} is not its folder's name {name!r}: make them equal")
    base = inside(root, where, f"services: {name}")
    for field, value in (
        ("build.dockerfile", declared.build.dockerfile),
        ("task_definition", declared.task_definition),
        *((("database.migrations", declared.database.migrations),) if declared.database else ()),
    ):
        resolved = (base / value).resolve()
        if not resolved.is_relative_to(base):
            raise ConfigError(f"{path}: {field}: {value!r} leaves the service's folder: give a path inside {where}")
        if field != "database.migrations" and not resolved.is_file():
            raise ConfigError(f"{path}: {field}: {where}/{value} is not a file: write it, or fix the path")
    declared._folder = where
    return declared


def read(path: Path) -> ServiceContract:
    """The contract in `path`; ConfigError naming the file, the field and the fix."""
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError:
        raise ConfigError(f"{path} is not valid YAML: fix the syntax") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror}): fix its permissions") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level (name, container_port, smoke, ...)")
    try:
        return ServiceContract.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {describe(exc)}") from None
