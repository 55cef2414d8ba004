"""Fast checks of the Ansible tree that need no containers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ANSIBLE_DIR = Path(__file__).resolve().parents[2] / "ansible"
ROLES_DIR = ANSIBLE_DIR / "roles"
MOLECULE_DIR = ANSIBLE_DIR / "molecule"
ROLES = sorted(p.name for p in ROLES_DIR.iterdir() if p.is_dir())
EXPECTED_ROLES = {
    "common",
    "docker",
    "ecs_agent",
    "node_exporter",
    "prometheus",
    "alertmanager",
    "grafana",
    "logrotate",
}


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def test_all_roles_present() -> None:
    assert set(ROLES) >= EXPECTED_ROLES


@pytest.mark.parametrize("role", ROLES)
def test_role_layout(role: str) -> None:
    base = ROLES_DIR / role
    for part in (
        "defaults/main.yml",
        "meta/main.yml",
        "meta/argument_specs.yml",
        "README.md",
        "tasks/main.yml",
        "tasks/preflight.yml",
        "tasks/install.yml",
        "tasks/configure.yml",
        "vars/Debian.yml",
        "vars/RedHat.yml",
    ):
        if part.startswith("vars/") and role == "logrotate":
            continue  # logrotate has the same package name and paths on both families
        assert (base / part).is_file(), f"{role}: missing {part}"


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_match_defaults(role: str) -> None:
    defaults = load(ROLES_DIR / role / "defaults" / "main.yml") or {}
    options = load(ROLES_DIR / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert set(defaults) == set(options), f"{role}: defaults and argument_specs differ"
    for name, spec in options.items():
        value = defaults[name]
        templated = isinstance(value, str) and "{{" in value
        if "default" in spec:
            assert spec["default"] == value, f"{role}: {name} default differs"
        else:
            # Omitted only for computed defaults, or long structures the spec describes in words.
            assert templated or isinstance(value, list | dict), f"{role}: {name} needs a default in the spec"


@pytest.mark.parametrize("role", ROLES)
def test_role_has_its_own_molecule_scenario(role: str) -> None:
    """A role added without a scenario of the same name, converging it, fails here."""
    scenario = MOLECULE_DIR / role
    assert (scenario / "molecule.yml").is_file(), f"{role}: no molecule scenario ansible/molecule/{role}/"
    assert load(scenario / "molecule.yml")["scenario"]["name"] == role
    plays = load(scenario / "converge.yml")
    applied = [r["role"] if isinstance(r, dict) else r for play in plays for r in play.get("roles", [])]
    assert role in applied, f"{role}: ansible/molecule/{role}/converge.yml does not apply the role"


def test_golden_image_contract() -> None:
    plays = load(ANSIBLE_DIR / "playbooks" / "golden-image.yml")
    assert all(play["hosts"] == "all" for play in plays)
    roles = [r["role"] for r in plays[1]["roles"]]
    assert roles == ["common", "docker", "ecs_agent", "node_exporter", "logrotate"]


def test_local_inventory_ports_in_range() -> None:
    text = "\n".join(p.read_text() for p in (ANSIBLE_DIR / "inventories" / "local").rglob("*.yml"))
    ports = [int(port) for port in re.findall(r"127\.0\.0\.1:(\d+)", text)]
    assert ports
    assert all(21000 <= p <= 21999 for p in ports), ports
