"""Talking to the local OCI registries: manifest digests over the Registry HTTP API, copies with skopeo."""

from __future__ import annotations

import shutil
import subprocess

import requests
from docker import DockerClient
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from gantry.errors import EngineError, GantryError
from gantry.host import images

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


class RegistryUnavailable(GantryError):
    pass


@retry(
    retry=retry_if_exception_type(RegistryUnavailable),
    stop=stop_after_attempt(3),
    wait=wait_exponential(multiplier=0.5, max=4),
    reraise=True,
)
def _manifest(method: str, host: str, repository: str, reference: str) -> requests.Response | None:
    """The registry's answer for the manifest of `reference` (tag or digest); None when it has none."""
    url = f"http://{host}/v2/{repository}/manifests/{reference}"
    try:
        response = requests.request(method, url, headers={"Accept": MANIFEST_TYPES}, timeout=10)
    except requests.RequestException:
        raise RegistryUnavailable(f"registry {host} does not answer: run `gantry up` (or `gantry status`)") from None
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise GantryError(f"registry {host} answered HTTP {response.status_code} for {repository}:{reference}")
    return response


def manifest_digest(host: str, repository: str, reference: str) -> str | None:
    """The manifest digest the registry at `host` serves for `reference` (tag or digest), or None."""
    response = _manifest("HEAD", host, repository, reference)
    return response.headers.get("Docker-Content-Digest") if response is not None else None


def config_digest(host: str, repository: str, reference: str) -> str | None:
    """The image config digest (the image ID) of the manifest the registry serves for `reference`, or None:
    what identifies the image whatever manifest format or compression a push chose."""
    response = _manifest("GET", host, repository, reference)
    if response is None:
        return None
    try:
        found: str = response.json()["config"]["digest"]
    except (ValueError, KeyError, TypeError):
        return None  # an index or another kind of manifest: no single image config
    return found


def copy(source: str, destination: str, env: dict[str, str]) -> None:
    """Copy an image between the plain-HTTP loopback registries, keeping its manifest byte for byte."""
    skopeo = shutil.which("skopeo")
    if skopeo is None:
        raise GantryError("skopeo is not installed: run `make bootstrap`")
    result = subprocess.run(
        [
            skopeo,
            "copy",
            "--quiet",
            "--preserve-digests",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--retry-times",
            "2",
            f"docker://{source}",
            f"docker://{destination}",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise GantryError(f"replicating {source} to {destination} failed: {last[:300]}: check `gantry status`")


def push(client: DockerClient, local_image: str, host: str, repository: str, tag: str, what: str) -> str:
    """Push `local_image` to `host/repository:tag` through the engine and return the digest the registry then
    serves for the tag (checked over the registry API, not taken from the engine's word)."""
    remote = f"{host}/{repository}"
    fix = f"check the {what} registry (`gantry status`) and retry"
    image = images.require(client, local_image, after="the image was built", fix="run `gantry build`")
    images.tag(client, image, f"{remote}:{tag}", fix=fix)
    try:
        for line in client.images.push(remote, tag=tag, stream=True, decode=True):
            if "error" in line:
                raise EngineError(f"push to the {what} registry failed: {str(line['error'])[:200]}: {fix}")
    except images.ENGINE_ERRORS as exc:
        raise EngineError(f"push to the {what} registry failed: {images.short(exc)}: {fix}") from None
    digest = manifest_digest(host, repository, tag)
    if digest is None:
        raise EngineError(f"the {what} registry does not list {repository}:{tag} after the push: {fix}")
    return digest
