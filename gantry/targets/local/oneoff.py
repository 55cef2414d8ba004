"""One-off containers: a command run once in a container of an image, the local target's ECS RunTask (the
service's schema migrations run this way, from the approved image, with the database's credentials only).

The container gets no network (the database is reached through its mounted socket directory), no engine
socket, no run directory and no environment but what the caller names; secrets are read-only files.
"""

from __future__ import annotations

import contextlib

from docker import DockerClient
from docker.errors import APIError, NotFound
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ReadTimeout

from gantry.errors import GantryError
from gantry.host.images import ENGINE_ERRORS, short

TIMEOUT_SECONDS = 600
# The unprivileged user the command runs as (nobody): secret files are 0444, sockets 0777.
USER = "65534:65534"


def run(
    client: DockerClient,
    image: str,
    command: list[str],
    *,
    labels: dict[str, str],
    environment: dict[str, str],
    secrets: dict[str, object],
    mounts: dict[str, str],
    timeout: float = TIMEOUT_SECONDS,
) -> list[str]:
    """Run `command` in `image` to completion; its output lines, or GantryError with its exit status and last
    line. `secrets`: NAME -> host file, mounted read-only and named in NAME_FILE."""
    volumes = {host: {"bind": inside, "mode": "ro"} for host, inside in mounts.items()}
    env = dict(environment)
    for name, source in secrets.items():
        inside = f"/run/secrets/{name.lower()}"
        volumes[str(source)] = {"bind": inside, "mode": "ro"}
        env[f"{name}_FILE"] = inside
    try:
        container = client.containers.run(
            image,
            command=command,
            detach=True,
            labels={**labels, "gantry.role": "one-off"},
            environment=env,
            volumes=volumes,
            network_mode="none",
            user=USER,
            read_only=True,
            tmpfs={"/tmp": "rw,size=16m"},  # noqa: S108 (a private tmpfs inside the container)
            security_opt=["no-new-privileges"],
            cap_drop=["ALL"],
        )
    except ENGINE_ERRORS as exc:
        raise GantryError(f"the engine refused to start {image[-30:]}: {short(exc)}") from None
    try:
        try:
            status = int(container.wait(timeout=timeout).get("StatusCode", 1))
        except (ReadTimeout, RequestsConnectionError):
            raise GantryError(f"`{' '.join(command)}` did not finish within {timeout:g} s: it was stopped") from None
        raw: bytes = container.logs()
        lines = raw.decode(errors="replace").strip().splitlines()
    finally:
        with contextlib.suppress(NotFound, APIError):
            container.remove(force=True)
    if status != 0:
        last = lines[-1][:200] if lines else "no output"
        raise GantryError(f"`{' '.join(command)}` exited {status} ({last})")
    return lines
