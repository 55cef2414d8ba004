"""The customer environment file (environments/<customer>/<env>.yaml), validated with pydantic.

The local and aws targets read the same file; `target` picks which one runs the stages. This module knows the
parts every target shares. Each target owns the section named after it (`local:`, `aws:`) and validates it
with its own settings model (gantry.targets.<name>.settings) when the target is made.
Unknown fields are errors, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import os
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from gantry import contract
from gantry.approvals import ApprovalPolicy, Hours, Principal
from gantry.contract import ServiceContract
from gantry.errors import ConfigError
from gantry.names import CustomerName, EnvironmentName, RegionName, ServiceName, printable
from gantry.paths import project_root
from gantry.schema import Strict, describe, inside

if TYPE_CHECKING:
    import click

DEFAULT_CONFIG = "environments/example/local.yaml"
TARGETS_GROUP = "gantry.targets"
RegionRole = Literal["primary", "secondary"]


def registered_targets() -> list[str]:
    """Target names installed as `gantry.targets` entry points (pyproject.toml)."""
    return sorted(entry.name for entry in entry_points(group=TARGETS_GROUP))


class RegionsConfig(Strict):
    primary: RegionName
    secondary: RegionName

    @model_validator(mode="after")
    def distinct(self) -> RegionsConfig:
        if self.primary == self.secondary:
            raise ValueError("primary and secondary must be different regions")
        return self

    def resolve(self, role: RegionRole) -> str:
        return self.primary if role == "primary" else self.secondary

    @property
    def names(self) -> list[str]:
        return [self.primary, self.secondary]


# What a task definition may hold only when its environment allows it by name (gantry.taskdef.check_policy):
# each one gives a container root on the host, or runs something other than the approved image and its command.
TaskDefinitionException = Literal[
    "privileged",
    "host-volumes",
    "host-network",
    "host-pid",
    "host-ipc",
    "capabilities",
    "devices",
    "command",
    "other-images",
]


class EnvironmentConfig(Strict):
    # Order matters: production deploys region by region in this order. Whether an environment needs an
    # approval is approvals.protected (and, whatever this file says, the target's own protection).
    regions: list[RegionRole] = Field(min_length=1)
    replicas: int = Field(default=2, ge=1, le=10)
    # Task-definition settings refused unless listed here (an approver sees the list in what they sign).
    task_definition_exceptions: list[TaskDefinitionException] = Field(default_factory=list)

    @field_validator("regions")
    @classmethod
    def no_repeats(cls, value: list[RegionRole]) -> list[RegionRole]:
        if len(set(value)) != len(value):
            raise ValueError("a region may appear only once")
        return value


class ApprovalConfig(Strict):
    """What the approval policy of a protected target is made from when the target is set up (the local
    target's load balancers; on AWS the stack's policy parameter). A deploy checks the target's copy, never
    this file, so editing it cannot loosen a running target's policy."""

    # Environments whose targets must be protected: a deploy there without the target's protection is refused
    # (fail closed), never treated as unprotected. Production is always among them unless the loud setting
    # below says otherwise.
    protected: list[EnvironmentName] = Field(default_factory=lambda: ["production"])
    allow_unprotected_production: bool = False
    # Production runs only commits that are ancestors of this branch in the repository gantry runs from (the
    # release agent's checkout of the trusted branch).
    protected_branch: str = Field(default="main", pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")
    # Who may approve, with the SSH public key each signs with: an allowed-signers file (the format of git's
    # gpg.ssh.allowedSignersFile), relative to the repository.
    allowed_signers: str = Field(default="environments/example/allowed_signers", pattern=r"^[A-Za-z0-9_./-]+$")
    # Wildcard principals ("*@example.com") and cert-authority lines let one key sign as many approvers.
    allow_wildcard_signers: bool = False
    # Where set, every commit between what production runs and the release must carry a valid SSH signature
    # by its committer's key listed here (git's gpg.ssh.allowedSignersFile format).
    committers_allowed_signers: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_./-]+$")
    # A rollback goes only to a release this target ran, and no older than this.
    rollback_max_age_days: float = Field(default=30, gt=0, le=365, allow_inf_nan=False)
    # How long an approval holds, and how long after staging passed an approver may still approve.
    max_age_hours: Hours = 24
    timeout_seconds: float = Field(default=3600, gt=0, le=7 * 24 * 3600)
    separation_of_duties: bool = True
    # The environment whose smoke pass opens the approval window.
    staging_environment: EnvironmentName = "staging"
    # Local target only: a key generated into the run directory signs as this approver, so `make demo` runs
    # unattended. Never set it in a real environment; the aws target refuses it.
    demo_signer: Principal | None = None

    @model_validator(mode="after")
    def production_is_protected(self) -> ApprovalConfig:
        if "production" not in self.protected and not self.allow_unprotected_production:
            raise ValueError(
                "protected: production must be protected (list it, or set allow_unprotected_production: true "
                "to deploy it without approvals: never for a customer)"
            )
        if self.staging_environment in self.protected:
            raise ValueError(
                f"protected: {self.staging_environment} is the staging environment, whose pass opens the approval "
                "window: protect production, not staging"
            )
        if len(set(self.protected)) != len(self.protected):
            raise ValueError("protected: an environment may appear only once")
        return self

    def policy(self, root: Path) -> ApprovalPolicy:
        path = inside(root, self.allowed_signers, "approvals.allowed_signers")
        if not path.is_file():
            raise ConfigError(f"approvals.allowed_signers: {path} {_missing(path)}: list the approvers' SSH keys there")
        try:
            return ApprovalPolicy(
                allowed_signers=path.read_text(),
                max_age_hours=self.max_age_hours,
                separation_of_duties=self.separation_of_duties,
                allow_wildcard_signers=self.allow_wildcard_signers,
            )
        except ValidationError as exc:
            raise ConfigError(f"approvals.allowed_signers: {path}: {describe(exc)}") from None

    def committers(self, root: Path) -> str | None:
        """The committers' allowed-signers list, when the customer configures one."""
        if self.committers_allowed_signers is None:
            return None
        path = inside(root, self.committers_allowed_signers, "approvals.committers_allowed_signers")
        if not path.is_file():
            raise ConfigError(
                f"approvals.committers_allowed_signers: {path} {_missing(path)}: list the committers' SSH keys there"
            )
        return path.read_text()


# A webhook: TLS, or plain HTTP to this machine only (the local target's inbox, tests).
WebhookUrl = Annotated[
    str,
    Field(
        pattern=r"^(https://[A-Za-z0-9.-]+|http://(127\.0\.0\.1|localhost))(:[0-9]{1,5})?(/[^\s]*)?$", max_length=2048
    ),
]


class NotificationConfig(Strict):
    # A file in the run directory that each run's event is appended to (a name, never a path).
    file: str | None = Field(default="notifications.jsonl", pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
    webhook_urls: list[WebhookUrl] = Field(default_factory=list, max_length=20)
    # Names of environment variables holding secrets, never the secrets themselves.
    slack_webhook_url_env: str | None = Field(default=None, pattern=r"^[A-Z_][A-Z0-9_]{0,63}$")
    sns_topic_arn: str | None = None


class GantryConfig(BaseModel):
    """The shared part of the file. Target sections (`local:`, `aws:`) are kept as data for their target."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True, allow_inf_nan=False)

    customer: CustomerName
    target: str = "local"
    # The services this environment file ships, by name: each one's contract is services/<name>/service.yaml
    # in the checkout gantry runs from (gantry.contract).
    services: list[ServiceName] = Field(min_length=1)
    regions: RegionsConfig
    environments: dict[EnvironmentName, EnvironmentConfig]
    approvals: ApprovalConfig
    notifications: NotificationConfig = NotificationConfig()
    _source: Path | None = PrivateAttr(default=None)
    _contracts: dict[str, ServiceContract] = PrivateAttr(default_factory=dict)

    @field_validator("services")
    @classmethod
    def one_service(cls, value: list[str]) -> list[str]:
        # Releases, leases, load balancer routes and records are still kept per environment, not per service.
        if len(value) > 1:
            raise ValueError(
                "one service per environment file for now: keep one name here and ship another service with an "
                "environment file of its own"
            )
        return value

    @model_validator(mode="after")
    def consistent(self) -> GantryConfig:
        for required in ("staging", "production"):
            if required not in self.environments:
                raise ValueError(f"environments must define '{required}'")
        if self.approvals.staging_environment not in self.environments:
            raise ValueError(f"approvals.staging_environment: no environment '{self.approvals.staging_environment}'")
        for env_name in self.approvals.protected:
            if env_name not in self.environments:
                raise ValueError(f"approvals.protected: no environment '{env_name}'")
        known = registered_targets()
        if self.target not in known:
            raise ValueError(f"target {printable(self.target)} is not one of {known}")
        if self.target not in (self.model_extra or {}):
            raise ValueError(f"target '{self.target}' needs a '{self.target}' section")
        root = project_root()
        for field, value in (
            ("approvals.allowed_signers", self.approvals.allowed_signers),
            ("approvals.committers_allowed_signers", self.approvals.committers_allowed_signers),
        ):
            if value is not None:
                try:
                    inside(root, value, field)
                except ConfigError as exc:
                    raise ValueError(str(exc)) from None
        # A bad contract is refused here, naming its own file, before any command starts.
        self._contracts = {name: contract.load(name, root) for name in self.services}
        for declared in self._contracts.values():
            if unknown := sorted(set(declared.environments) - set(self.environments)):
                raise ConfigError(
                    f"{declared.file}: environments.{unknown[0]}: no such environment in {self.source.name}: "
                    f"use one of {', '.join(self.environments)}"
                )
        return self

    def replicas(self, env: str) -> int:
        """Replicas per region of `env`: the service contract's for that environment, else the environment
        file's."""
        return self.service.replicas_in(env) or self.environment(env).replicas

    @property
    def service(self) -> ServiceContract:
        """The service this file ships (one per environment file)."""
        return self._contracts[self.services[0]]

    @property
    def source(self) -> Path:
        """The file this configuration came from (for messages and the run record)."""
        return self._source or Path("<memory>")

    def section(self, target: str) -> dict[str, Any]:
        """The raw settings a target validates itself; {} when the file has none for it."""
        value = (self.model_extra or {}).get(target)
        return dict(value) if isinstance(value, dict) else {}

    def has_section(self, target: str) -> bool:
        return target in (self.model_extra or {})

    def environment(self, name: str) -> EnvironmentConfig:
        try:
            return self.environments[name]
        except KeyError:
            raise ConfigError(
                f"unknown environment {printable(name)}: choose one of {', '.join(self.environments)}"
            ) from None

    def regions_of(self, env: str) -> list[str]:
        return [self.regions.resolve(role) for role in self.environment(env).regions]

    def check_region(self, env: str, region: str) -> str:
        if region not in self.regions_of(env):
            raise ConfigError(
                f"environment '{env}' does not run in region {printable(region)}: use one of {self.regions_of(env)}"
            )
        return region

    def is_protected(self, env: str) -> bool:
        """The configuration marks `env` protected: its targets must carry a protection (fail closed)."""
        return env in self.approvals.protected

    def resolve_region(self, env: str, name: str | None) -> list[str] | None:
        """--region takes a role (primary/secondary) or a region name; None means every region of env."""
        if name is None:
            return None
        resolved = {"primary": self.regions.primary, "secondary": self.regions.secondary}.get(name, name)
        return [self.check_region(env, resolved)]


def _missing(path: Path) -> str:
    """Why `path` is no file, in words that do not mislead."""
    return "is a directory, not a file" if path.is_dir() else "not found"


def root_config_option(ctx: click.Context) -> str | None:
    """The environment file the root command's --config (or GANTRY_CONFIG) names, for a command registered by a
    plugin; None means the default."""
    value = ctx.find_root().params.get("config")
    return str(value) if value else None


def config_path(explicit: str | None = None) -> Path:
    raw = explicit or os.environ.get("GANTRY_CONFIG") or DEFAULT_CONFIG
    path = Path(raw)
    return path if path.is_absolute() else project_root() / path


def parse(raw: Any, source: Path) -> GantryConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    shared, targets = set(GantryConfig.model_fields), set(registered_targets())
    for key, value in raw.items():
        if key not in shared and key not in targets:
            raise ConfigError(f"{source}: {key}: unknown field (remove it or fix its spelling)")
        if key in targets and not isinstance(value, dict):
            raise ConfigError(f"{source}: {key}: must be a mapping (the {key} target's settings)")
    try:
        cfg = GantryConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {describe(exc)}") from None
    cfg._source = source
    return cfg


def load_config(explicit: str | None = None) -> GantryConfig:
    """Load and validate; raises ConfigError with one line naming the file, the field and the fix."""
    path = config_path(explicit)
    if not path.is_file():
        raise ConfigError(f"config file {path} not found: pass --config environments/<customer>/<env>.yaml")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} is not valid YAML: fix the syntax") from None
    return parse(raw, path)
