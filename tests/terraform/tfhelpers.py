"""Shared helpers for the Terraform tests: parsed HCL of modules and roots, and tool discovery."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from gantry.newenv.hcl import load_tf

REPO = Path(__file__).resolve().parents[2]
TERRAFORM = REPO / "terraform"
MODULES = TERRAFORM / "modules"
LIVE = TERRAFORM / "live"
TEMPLATE = REPO / "gantry" / "newenv" / "templates" / "env_root"
TOOLS = Path(os.environ.get("GANTRY_TOOLS_CACHE", Path.home() / ".cache" / "gantry-tools")) / "terraform"


def module_dirs() -> list[Path]:
    return sorted(p for p in MODULES.iterdir() if p.is_dir())


def env_roots() -> list[Path]:
    return sorted(p.parent for p in LIVE.glob("*/*/environment.auto.tfvars.json"))


def all_roots() -> list[Path]:
    """Every directory Terraform can init: live roots, global, bootstrap and module examples."""
    roots = [*env_roots(), TERRAFORM / "global", TERRAFORM / "bootstrap"]
    roots += sorted(p for p in MODULES.glob("*/examples/*") if p.is_dir())
    return roots


def tf_files(base: Path = TERRAFORM) -> list[Path]:
    return sorted(p for p in base.rglob("*.tf") if ".terraform" not in p.parts)


@cache
def parsed(path: Path) -> dict[str, Any]:
    return load_tf(path)


def merged(directory: Path) -> dict[str, list[Any]]:
    """All top-level blocks of the .tf files in one directory, concatenated per block kind."""
    result: dict[str, list[Any]] = {}
    for path in sorted(directory.glob("*.tf")):
        for kind, entries in parsed(path).items():
            result.setdefault(kind, []).extend(entries)
    return result


def resources(document: dict[str, list[Any]], kind: str = "resource") -> Iterator[tuple[str, str, dict[str, Any]]]:
    for entry in document.get(kind, []):
        for type_name, named in entry.items():
            for name, body in named.items():
                yield type_name, name, body


def labelled(document: dict[str, list[Any]], kind: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for entry in document.get(kind, []):
        found.update(entry)
    return found


PROVIDER_GLOB = "registry.terraform.io/hashicorp/aws/*/linux_amd64/terraform-provider-aws*"


def _mirror(name: str) -> Path | None:
    mirror = TOOLS / name
    return mirror if any(mirror.glob(PROVIDER_GLOB)) else None


def provider_mirror() -> Path | None:
    """The real AWS provider's filesystem mirror, when `make terraform-provider` has built it."""
    return _mirror("mirror")


def provider_layer() -> tuple[str, Path] | None:
    """Which AWS provider the validate and test checks run against: the real one where it is built, else the
    schema-only one (terraform/schema-provider) that scripts/setup-terraform.sh always builds."""
    if (real := provider_mirror()) is not None:
        return "real", real
    if (schema_only := _mirror("schema-mirror")) is not None:
        return "schema-only", schema_only
    return None


def terraform_env(tmp: Path, mirror: Path) -> dict[str, str]:
    config = tmp / "terraformrc"
    config.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path = "{mirror}"\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }}\n'
        '  direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n'
    )
    env = dict(os.environ)
    env.update(
        TF_CLI_CONFIG_FILE=str(config),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
        TF_PLUGIN_CACHE_DIR="",
    )
    return env


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    found = shutil.which("terraform") or str(TOOLS / "bin" / "terraform")
    if not Path(found).exists():
        pytest.skip("terraform is not installed: run scripts/setup-terraform.sh")
    return found


REAL_PROVIDER_SKIP = (
    "needs the real AWS provider, which is not built here (validate and terraform test ran against the "
    "schema-only provider): HashiCorp's registry is unreachable, and building it from its Go module, cut to the "
    "service packages used here, took 377 s on 2 cores (2026-12-08), too long to add to every make test within "
    "its 40-minute budget; run `make terraform-provider` once and it is cached in the tools cache"
)


def require_provider() -> Path:
    """The mirror of the provider validate and test run against (real or schema-only); fails without one, since
    scripts/setup-terraform.sh always builds the schema-only provider."""
    layer = provider_layer()
    if layer is None:
        pytest.fail("no AWS provider in the tools cache, not even the schema-only one: run scripts/setup-terraform.sh")
    return layer[1]


def require_real_provider() -> Path:
    """The real provider's mirror; skips without it, unless the caller asked for these checks explicitly."""
    if (mirror := provider_mirror()) is not None:
        return mirror
    if os.environ.get("GANTRY_TF_VALIDATE") == "1":
        pytest.fail("GANTRY_TF_VALIDATE=1 but no AWS provider in the mirror: run scripts/setup-terraform.sh")
    pytest.skip(REAL_PROVIDER_SKIP)


# `gantry new-env` for a new customer (acme, prod, one service), without --cidr.
NEW_CUSTOMER = [
    *("--customer", "acme", "--env", "prod"),
    *("--primary", "us-east-1", "--secondary", "eu-west-1"),
    *("--service", "cart"),
]
