"""Replicas of the task definition's container, run by the container engine on 127.0.0.1 ports."""

from __future__ import annotations

import contextlib
import secrets
import time

import requests
from docker import DockerClient
from docker.errors import APIError, NotFound
from docker.models.containers import Container

from gantry.errors import DeployError
from gantry.host.engine import CONTAINER_LABEL
from gantry.host.images import ENGINE_ERRORS
from gantry.targets.base import Release
from gantry.taskdef import ContainerSpec

# A read-only root filesystem still needs a scratch /tmp: a private tmpfs inside the container.
PRIVATE_TMP = {"/tmp": "rw,size=16m"}  # noqa: S108


def labels_for(home: str, customer: str, region: str, env: str) -> dict[str, str]:
    return {CONTAINER_LABEL: home, "gantry.customer": customer, "gantry.region": region, "gantry.env": env}


def running(client: DockerClient, labels: dict[str, str]) -> list[Container]:
    """The containers with `labels`, each inspected. One removed between the list and its inspection (by another
    run's rollout, the supervisor or `gantry down`) is left out: podman's Docker API reports that as a 500 "...
    does not exist in database: no such container", not the 404 docker's own `ignore_removed` handles; any other
    error is raised."""
    filters = {"label": [f"{key}={value}" for key, value in labels.items()]}
    found: list[Container] = []
    for listed in client.containers.list(all=True, filters=filters, sparse=True):
        try:
            found.append(client.containers.get(listed.id))
        except NotFound:
            continue
        except APIError as exc:
            if "no such container" not in str(exc).lower():
                raise
    return found


def start(
    client: DockerClient,
    spec: ContainerSpec,
    labels: dict[str, str],
    release: Release,
    count: int,
    mounts: dict[str, str] | None = None,
) -> list[Container]:
    """`count` replicas of `spec`. `mounts` (host path -> container path) are read-only; each of the task
    definition's `secrets` is a host file here, mounted read-only under /run/secrets and named in <NAME>_FILE."""
    started: list[Container] = []
    suffix = secrets.token_hex(3)
    environment = dict(spec.environment)
    volumes = {host: {"bind": inside, "mode": "ro"} for host, inside in (mounts or {}).items()}
    for name, source in spec.secrets.items():
        inside = f"/run/secrets/{name.lower()}"
        volumes[source] = {"bind": inside, "mode": "ro"}
        environment[f"{name}_FILE"] = inside
    try:
        for index in range(count):
            name = (
                f"gantry-{labels['gantry.customer']}-{labels['gantry.region']}-{labels['gantry.env']}-{suffix}-{index}"
            )
            started.append(
                client.containers.run(
                    spec.image,
                    detach=True,
                    name=name,
                    labels={**labels, "gantry.digest": release.digest, "gantry.sha": release.sha},
                    environment=environment,
                    volumes=volumes or None,
                    ports={f"{spec.container_port}/tcp": ("127.0.0.1", None)},
                    read_only=spec.read_only,
                    tmpfs=PRIVATE_TMP if spec.read_only else None,
                    mem_limit=f"{spec.memory}m" if spec.memory else None,
                    cpu_shares=spec.cpu or None,
                )
            )
    except BaseException as exc:
        remove(started)  # an interrupt mid-way must not leave the replicas started so far
        if not isinstance(exc, ENGINE_ERRORS):
            raise
        raise DeployError(f"the engine refused to start a replica: {_short(exc)}") from None
    return started


def host_port(container: Container, container_port: int) -> int:
    container.reload()
    bindings = container.attrs["NetworkSettings"]["Ports"].get(f"{container_port}/tcp") or []
    if not bindings:
        raise DeployError(f"replica {container.name} publishes no port {container_port}")
    return int(bindings[0]["HostPort"])


def wait_healthy(
    containers: list[Container], spec: ContainerSpec, release: Release, version_path: str, timeout: float
) -> None:
    """Every replica passes the task definition's health check (exec in the container, with its interval,
    retries and start period) and serves the expected digest on its version path; else DeployError."""
    for container in containers:
        _wait_one(container, spec, release, version_path, timeout)


def _wait_one(container: Container, spec: ContainerSpec, release: Release, version_path: str, timeout: float) -> None:
    started = time.monotonic()
    health = spec.health
    interval = min(health.interval, 1.0) if health else 0.5
    failures = 0
    reason = "no answer yet"
    while time.monotonic() - started < timeout:
        container.reload()
        if container.status in ("exited", "dead"):
            raise DeployError(f"replica {container.name} exited: {_last_log_line(container)}")
        if container.status == "running":
            healthy, reason = _probe(container, spec, release, version_path)
            if healthy:
                return
            in_grace = health is not None and time.monotonic() - started < health.start_period
            failures = 0 if in_grace else failures + 1
            if health is not None and failures > health.retries * max(1, int(health.interval / interval)):
                raise DeployError(f"replica {container.name} failed its health check: {reason}")
        time.sleep(interval)
    raise DeployError(f"replica {container.name} not healthy after {timeout:.0f} s: {reason}")


def _probe(container: Container, spec: ContainerSpec, release: Release, version_path: str) -> tuple[bool, str]:
    if spec.health is not None:
        try:
            code, output = container.exec_run(spec.health.shell_command(), demux=False)
        except APIError as exc:
            return False, f"health check could not run: {_short(exc)}"
        if code != 0:
            text = (output or b"").decode(errors="replace").strip().splitlines()
            return False, f"health check exit {code}: {text[-1] if text else ''}"
    try:
        port = host_port(container, spec.container_port)
        version = requests.get(f"http://127.0.0.1:{port}{version_path}", timeout=2).json()
    except (requests.RequestException, ValueError) as exc:
        return False, f"{version_path} unreachable: {exc.__class__.__name__}"
    if not isinstance(version, dict) or version.get("digest") != release.digest:
        reported = version.get("digest") if isinstance(version, dict) else None
        return False, f"{version_path} reports digest {reported}, expected {release.digest}"
    return True, "healthy"


def remove(containers: list[Container]) -> None:
    for container in containers:
        with contextlib.suppress(NotFound, APIError):
            container.remove(force=True)


def stop_gracefully(containers: list[Container], timeout: int = 10) -> None:
    for container in containers:
        with contextlib.suppress(NotFound, APIError):
            container.stop(timeout=timeout)
    remove(containers)


def _last_log_line(container: Container) -> str:
    with contextlib.suppress(*ENGINE_ERRORS):
        raw: bytes = container.logs(tail=5)
        lines = raw.decode(errors="replace").strip().splitlines()
        if lines:
            return lines[-1][:300]
    return "no output"


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:300]
