"""The golden container base image: pulled from a configured upstream, else built from Debian's archive
with debootstrap (no registry needed), then pushed to the primary region's registry and pinned by digest."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from docker import DockerClient
from docker.errors import DockerException, ImageNotFound

from gantry import jsonfile
from gantry.config import GantryConfig
from gantry.errors import EngineError, GantryError
from gantry.paths import cache_dir, run_dir
from gantry.stages.progress import Step

BASE_REPOSITORY = "gantry/debian-base"


def local_name(cfg: GantryConfig) -> str:
    settings = cfg.local_settings.base_image
    return settings.local_image or f"localhost/{BASE_REPOSITORY}:{settings.suite}"


def _repository_and_tag(name: str) -> tuple[str, str]:
    """localhost/gantry/golden-base:bookworm -> (gantry/golden-base, bookworm)."""
    path, tag = name.rsplit(":", 1) if ":" in name.rsplit("/", 1)[-1] else (name, "latest")
    first, _, rest = path.partition("/")
    is_registry_host = rest and ("." in first or ":" in first or first == "localhost")
    return (rest if is_registry_host else path), tag


def _apt_mirror() -> str:
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.is_file() and (match := re.search(r"^URIs:\s*(\S+/debian)/?\s*$", sources.read_text(), re.M)):
        return match.group(1)
    legacy = Path("/etc/apt/sources.list")
    if legacy.is_file() and (match := re.search(r"^deb\s+(\S+/debian)/?\s", legacy.read_text(), re.M)):
        return match.group(1)
    return "http://deb.debian.org/debian"


def _rootfs_tar(suite: str, mirror: str, step: Step) -> Path:
    """debootstrap once, then reuse the cached tarball (it survives `gantry down`)."""
    tarball = cache_dir() / f"rootfs-{suite}.tar"
    if tarball.is_file():
        return tarball
    debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
    if not Path(debootstrap).exists():
        raise GantryError("debootstrap is not installed: run `make bootstrap`")
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tarball.parent) as scratch:
        rootfs = Path(scratch) / "rootfs"
        step.note(f"debootstrap {suite} from {mirror} (about 30 s)")
        result = subprocess.run(
            [*sudo, debootstrap, "--variant=minbase", suite, str(rootfs), mirror], capture_output=True, text=True
        )
        if result.returncode != 0:
            raise GantryError(
                f"debootstrap failed: {result.stdout.strip().splitlines()[-1:]}: check the Debian "
                "mirror (local.base_image.mirror) and that this user may run debootstrap"
            )
        partial = tarball.with_suffix(".partial")
        subprocess.run([*sudo, "tar", "-C", str(rootfs), "-cf", str(partial), "."], check=True)
        partial.replace(tarball)
        subprocess.run([*sudo, "rm", "-rf", str(rootfs)], check=True)
    return tarball


def ensure_local(cfg: GantryConfig, client: DockerClient, step: Step) -> str:
    """The base image in the engine's store, made if missing; returns its local name."""
    settings = cfg.local_settings.base_image
    name = local_name(cfg)
    try:
        client.images.get(name)
        return name
    except ImageNotFound:
        if settings.local_image:
            raise GantryError(f"base image {name} not found: run `gantry bake --target container`") from None
    try:
        if settings.upstream:
            step.note(f"pulling {settings.upstream}")
            client.images.pull(settings.upstream).tag(name)
            return name
        tarball = _rootfs_tar(settings.suite, settings.mirror or _apt_mirror(), step)
        step.note("importing the root filesystem")
        repository, tag = name.rsplit(":", 1)
        with tarball.open("rb") as handle:
            client.api.import_image(src=handle, repository=repository, tag=tag)
        client.images.get(name)
    except DockerException as exc:
        raise EngineError(f"could not make the base image {name}: {str(exc).splitlines()[0][:200]}") from None
    return name


def publish(cfg: GantryConfig, client: DockerClient, name: str, registry_host: str) -> str:
    """Push to the primary registry; returns the reference pinned by digest that builds use."""
    repository, tag = _repository_and_tag(name)
    remote = f"{registry_host}/{repository}"
    try:
        client.images.get(name).tag(remote, tag)
        for line in client.images.push(remote, tag=tag, stream=True, decode=True):
            if "error" in line:
                raise EngineError(f"pushing the base image failed: {line['error']}: check `gantry status`")
    except DockerException as exc:
        raise EngineError(f"pushing the base image failed: {str(exc).splitlines()[0][:200]}") from None
    from gantry.local.registry import manifest_digest

    digest = manifest_digest(registry_host, repository, tag)
    if digest is None:
        raise EngineError(f"the registry {registry_host} does not list {repository}:{tag} after the push")
    reference = f"{remote}@{digest}"
    jsonfile.write_atomic(record_path(), {"reference": reference, "local": name})
    return reference


def record_path() -> Path:
    return run_dir() / "base-image.json"


def pinned_reference() -> str:
    path = record_path()
    if not path.is_file():
        raise GantryError("no base image published yet: run `gantry base-image`")
    reference: str = jsonfile.read(path)["reference"]
    return reference
