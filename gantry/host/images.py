"""Images in the container engine, checked by their exact name right after every engine call.

Some engines do not store what they were asked for: Debian 12's podman (4.3) drops the tag of an import made
through the Docker-compatible API and stores `<repository>:latest`. So every import, build, tag and pull goes
through here and is followed by a lookup of the exact name; a known drop is fixed up by tagging the image the
engine reported, anything else is one error line that names the fix.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import requests
import urllib3
from docker import DockerClient
from docker.errors import DockerException, ImageNotFound
from docker.models.images import Image

from gantry.errors import EngineError

# What the Docker SDK raises when the engine refuses, or when its socket goes away mid-call (a stream cut off
# surfaces as urllib3's own error, not wrapped by requests).
ENGINE_ERRORS = (DockerException, requests.RequestException, urllib3.exceptions.HTTPError)


def split(name: str) -> tuple[str, str]:
    """`registry/path:tag` -> (`registry/path`, `tag`); a name without a tag is `latest`."""
    last = name.rsplit("/", 1)[-1]
    if "@" in last:
        raise ValueError(f"{name} is pinned by digest: it has no tag")
    repository, _, tag = name.rpartition(":") if ":" in last else (name, "", "latest")
    return repository, tag


def short(exc: BaseException) -> str:
    """The engine's error on one line; a full disk said plainly (the engine buries it deep in a long message)."""
    text = str(exc).strip()
    if "no space left on device" in text.lower():
        return "no space left on device"
    return (text.splitlines() or [type(exc).__name__])[0][:240]


def find(client: DockerClient, name: str) -> Image | None:
    try:
        return client.images.get(name)
    except ImageNotFound:
        return None
    except ENGINE_ERRORS as exc:
        raise EngineError(f"the container engine cannot look up {name}: {short(exc)}: check `gantry status`") from None


def require(client: DockerClient, name: str, *, after: str, fix: str) -> Image:
    """The image called exactly `name`; EngineError naming `fix` when the engine does not have it."""
    image = find(client, name)
    if image is None:
        raise EngineError(f"{after} but the engine has no image named {name}: {fix}")
    return image


def tag(client: DockerClient, image: Image, name: str, *, fix: str) -> Image:
    repository, wanted = split(name)
    try:
        image.tag(repository, wanted)
    except ENGINE_ERRORS as exc:
        raise EngineError(f"tagging {image.short_id} as {name} failed: {short(exc)}: {fix}") from None
    return require(client, name, after=f"the engine accepted the tag {name}", fix=fix)


def _imported_id(replies: Iterable[Any]) -> str | None:
    """The image id an import reported: the Docker API streams JSON lines whose last `status` is the id."""
    found = None
    for reply in replies:
        for line in str(reply).splitlines():
            try:
                status = json.loads(line).get("status", "")
            except (ValueError, AttributeError):
                continue
            if isinstance(status, str) and status.startswith("sha256:"):
                found = status
    return found


def import_rootfs(client: DockerClient, tarball: Path, name: str, *, fix: str) -> Image:
    """Import a root filesystem tarball as `name`; repairs the tag an engine dropped."""
    repository, wanted = split(name)
    try:
        with tarball.open("rb") as handle:
            reply = client.api.import_image(src=handle, repository=repository, tag=wanted)
    except ENGINE_ERRORS as exc:
        raise EngineError(f"importing {tarball.name} as {name} failed: {short(exc)}: {fix}") from None
    if (image := find(client, name)) is not None:
        return image
    image_id = _imported_id(reply if isinstance(reply, list) else [reply])
    stray = f"{repository}:latest"
    dropped = find(client, image_id) if image_id else find(client, stray)
    if dropped is None:
        raise EngineError(f"the engine imported {tarball.name} but lists no image {name} (nor its id): {fix}")
    fixed = tag(client, dropped, name, fix=fix)
    if wanted != "latest" and stray in (dropped.tags or []):
        with contextlib.suppress(*ENGINE_ERRORS):
            client.images.remove(stray)  # only the stray name goes; the image keeps `name`
    return fixed


def build(
    client: DockerClient, name: str, *, fix: str, on_line: Callable[[str], None] | None = None, **options: Any
) -> Image:
    """client.api.build(tag=name, **options), streaming each log line to `on_line`; the built image."""
    try:
        for chunk in client.api.build(tag=name, decode=True, **options):
            if "error" in chunk:
                raise EngineError(f"image build of {name} failed: {str(chunk['error']).strip()[:300]}: {fix}")
            if on_line is not None and (text := str(chunk.get("stream", "")).strip()):
                on_line(text.splitlines()[-1])
    except ENGINE_ERRORS as exc:
        raise EngineError(f"image build of {name} failed in the engine: {short(exc)}: {fix}") from None
    return require(client, name, after=f"the build of {name} finished", fix=fix)


def pull(client: DockerClient, reference: str, *, fix: str) -> Image:
    """Pull `reference` (a tag or a digest) and check the engine then holds exactly it."""
    try:
        client.images.pull(reference)
    except ENGINE_ERRORS as exc:
        raise EngineError(f"pulling {reference} failed: {short(exc)}: {fix}") from None
    return require(client, reference, after=f"the pull of {reference} finished", fix=fix)
