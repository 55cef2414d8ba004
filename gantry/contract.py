"""What a service declares about itself for gantry to check it: its smoke checks (HTTP calls through the load
balancer and what their replies must hold) and the metric that counts its requests. The file lives with the
service's code (`service.contract` in the environment file names it); gantry's core reads it and names no
service itself."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from gantry.config import GantryConfig, Strict, describe, inside
from gantry.errors import ConfigError
from gantry.paths import project_root

# A JSON value a reply's field must equal (objects and lists are matched whole).
JsonValue = str | int | float | bool | None | list[Any] | dict[str, Any]
# `{token}` in a path becomes a fresh random token per smoke run, so runs never share (or collide on) data.
SmokePath = Annotated[str, Field(pattern=r"^/[A-Za-z0-9/_.~{}-]{0,199}$")]
MetricName = Annotated[str, Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]{0,199}$")]


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


class ServiceContract(Strict):
    metrics: MetricsContract
    smoke: list[SmokeCheck] = Field(min_length=1, max_length=50)
    # What a DR drill or a benchmark drives; a service without one takes no part in drills.
    traffic: TrafficProfile | None = None

    @model_validator(mode="after")
    def distinct_names(self) -> ServiceContract:
        names = [check.name for check in self.smoke]
        if len(set(names)) != len(names):
            raise ValueError(f"smoke: two checks are named {next(n for n in names if names.count(n) > 1)!r}")
        return self


def load(cfg: GantryConfig, root: Path | None = None) -> ServiceContract:
    """The service's contract from the checkout; ConfigError naming the file, the field and the fix."""
    path = inside(root or project_root(), cfg.service.contract, "service.contract")
    if not path.is_file():
        raise ConfigError(f"service.contract: {cfg.service.contract} is not a file: write the service's contract there")
    return read(path)


def read(path: Path) -> ServiceContract:
    """The contract in `path`; ConfigError naming the file, the field and the fix."""
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError:
        raise ConfigError(f"{path} is not valid YAML: fix the syntax") from None
    try:
        return ServiceContract.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {describe(exc)}") from None
