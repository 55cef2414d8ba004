"""The project's podman configuration: an image store that belongs to the checkout.

Every podman process gantry starts or the Makefile runs (the API service, the CLI, molecule, Packer) reads the
same two files through environment variables, so all of them see one store and none touches the system's:
- CONTAINERS_CONF: config/podman/containers.conf (runc, explicit ulimits; see the comments there);
- CONTAINERS_STORAGE_CONF: <cache>/containers/storage.conf, written here, with graphroot and runroot under
  <cache>/containers/. A fresh clone therefore starts with an empty store, exactly like a new machine.
podman keeps its volatile tmp_dir (/run/libpod): socket paths stay short and a reboot is still detected.
With a real Docker engine (DOCKER_HOST) none of this applies: the store is the daemon's.

`python -m gantry.host.podman write` writes the files (bootstrap), `env` prints the variables as shell
assignments, `remove-store` deletes the store (make clean).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
from pathlib import Path

from gantry.paths import cache_dir, project_root

CONTAINERS_CONF = "CONTAINERS_CONF"
STORAGE_CONF = "CONTAINERS_STORAGE_CONF"


def store_dir() -> Path:
    return cache_dir() / "containers"


def storage_conf_text(store: Path) -> str:
    return (
        "# Written by gantry (gantry/host/podman.py): the project's own image store; `make clean` removes it.\n"
        "[storage]\n"
        'driver = "overlay"\n'
        f'graphroot = "{store / "storage"}"\n'
        f'runroot = "{store / "run"}"\n'
    )


def containers_conf() -> Path:
    return Path(os.environ.get(CONTAINERS_CONF) or project_root() / "config" / "podman" / "containers.conf")


def storage_conf() -> Path:
    """The storage.conf podman must read: $CONTAINERS_STORAGE_CONF when set, else the project's. The
    project's file is (re)written here, so it exists before the first podman process reads it."""
    store = store_dir()
    default = store / "storage.conf"
    path = Path(os.environ.get(STORAGE_CONF) or default)
    if path.resolve() == default.resolve():
        text = storage_conf_text(store)
        if not default.is_file() or default.read_text() != text:
            store.mkdir(parents=True, exist_ok=True)
            default.write_text(text)
    return path


def environment() -> dict[str, str]:
    """The variables every podman child process needs (merge into its environment)."""
    return {CONTAINERS_CONF: str(containers_conf()), STORAGE_CONF: str(storage_conf())}


def cli_environment() -> dict[str, str]:
    return {**os.environ, **environment()}


def _mounts_under(root: Path) -> list[str]:
    prefix = str(root.resolve())
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mount_point = line.split()[4].replace("\\040", " ")
        if mount_point == prefix or mount_point.startswith(prefix + "/"):
            found.append(mount_point)
    return sorted(found, key=len, reverse=True)  # innermost first


def remove_store() -> Path:
    """Remove the project's image store: its containers first, then any mount left inside, then the files."""
    store = store_dir()
    if not store.exists():
        return store
    if podman := shutil.which("podman"):
        subprocess.run([podman, "rm", "--all", "--force", "--time", "2"], env=cli_environment(), capture_output=True)
    for mount_point in _mounts_under(store):
        subprocess.run(["umount", "--lazy", mount_point], capture_output=True)
    shutil.rmtree(store)
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description="The project's podman configuration.")
    parser.add_argument("action", choices=["write", "env", "remove-store"])
    action = parser.parse_args().action
    if action == "write":
        print(f"podman store: {store_dir()} (storage.conf {storage_conf()})")
    elif action == "env":
        for name, value in environment().items():
            print(f"export {name}={shlex.quote(value)}")
    else:
        print(f"removed {remove_store()}")


if __name__ == "__main__":
    main()
