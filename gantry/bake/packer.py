"""Running the project's Packer (built by scripts/setup-packer.sh) on the templates in packer/."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from gantry.errors import GantryError
from gantry.paths import project_root

# `gantry bake --target` -> the Packer build/source it selects in packer/build.pkr.hcl.
SOURCES = {"ami": "golden.amazon-ebs.ecs-host", "container": "golden.docker.golden-base"}


def tools_dir() -> Path:
    base = os.environ.get("GANTRY_TOOLS_CACHE") or str(Path.home() / ".cache" / "gantry-tools")
    return Path(base) / "packer"


def template_dir() -> Path:
    return project_root() / "packer"


def packer_binary() -> Path:
    binary = tools_dir() / "bin" / "packer"
    if not os.access(binary, os.X_OK):
        raise GantryError(f"Packer not found at {binary}: run scripts/setup-packer.sh")
    return binary


def packer_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PACKER_PLUGIN_PATH"] = str(tools_dir() / "plugins")
    # Packer otherwise calls HashiCorp's checkpoint service on every run; nothing may leave this machine.
    env["CHECKPOINT_DISABLE"] = "1"
    env.setdefault("PACKER_NO_COLOR", "1")
    env.update(extra or {})
    return env


def var_args(variables: Mapping[str, str]) -> list[str]:
    args: list[str] = []
    for name, value in sorted(variables.items()):
        args += ["-var", f"{name}={value}"]
    return args


def build(target: str, variables: Mapping[str, str], env: Mapping[str, str], log: Path) -> None:
    """`packer build` for one target; its output goes to stderr (stdout carries only the result) and `log`."""
    command = [
        str(packer_binary()),
        "build",
        "-color=false",
        "-timestamp-ui",
        f"-only={SOURCES[target]}",
        *var_args(variables),
        str(template_dir()),
    ]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as sink:
        process = subprocess.Popen(
            command, env=packer_env(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for line in process.stdout or ():
            sink.write(line)
            print(line, end="", file=sys.stderr, flush=True)
        code = process.wait()
    if code != 0:
        raise GantryError(f"packer build -only={SOURCES[target]} failed (exit {code}): see {log}")
