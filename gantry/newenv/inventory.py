"""What already exists under terraform/live: customers, environments and the address ranges they use.

CIDRs come from each environment's `environment.auto.tfvars.json` and, so that a hand-edited root cannot
hide a range, from every literal CIDR assigned to a `*cidr*` attribute in its .tf and .tfvars files.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gantry.errors import ConfigError
from gantry.newenv.cidrs import Allocation
from gantry.newenv.hcl import load_tf

CUSTOMER_FILE = "customer.json"
ENVIRONMENT_FILE = "environment.auto.tfvars.json"
# Parsing HCL is slow; files without anything that looks like a CIDR literal cannot hold a range.
CIDR_LITERAL = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}/\d{1,2}")


@dataclass(frozen=True)
class Customer:
    name: str
    primary_region: str
    secondary_region: str
    domain: str
    service_name: str
    ami_ssm_parameter: str
    state_bucket: str
    lock_table: str


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: unreadable JSON ({type(exc).__name__}): fix or remove the file") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return data


def load_customer(directory: Path) -> Customer | None:
    path = directory / CUSTOMER_FILE
    if not path.is_file():
        return None
    data = read_json(path)
    try:
        return Customer(
            name=data["name"],
            primary_region=data["primary_region"],
            secondary_region=data["secondary_region"],
            domain=data["domain"],
            service_name=data["service_name"],
            ami_ssm_parameter=data["ami_ssm_parameter"],
            state_bucket=data["state_bucket"],
            lock_table=data["lock_table"],
        )
    except KeyError as missing:
        raise ConfigError(f"{path}: missing key {missing}: restore it from the template") from None


def environment_roots(live: Path) -> Iterator[Path]:
    if not live.is_dir():
        return
    for customer_dir in sorted(p for p in live.iterdir() if p.is_dir() and not p.name.startswith(".")):
        yield from sorted(p for p in customer_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def _cidr_literals(value: Any, key: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for child_key, child in value.items():
            yield from _cidr_literals(child, child_key)
    elif isinstance(value, list):
        for item in value:
            yield from _cidr_literals(item, key)
    elif isinstance(value, str) and "cidr" in key.lower() and "${" not in value:
        yield value


def _networks(texts: Iterator[str]) -> Iterator[ipaddress.IPv4Network]:
    for text in texts:
        try:
            yield ipaddress.IPv4Network(text, strict=False)
        except ValueError:
            continue


def allocations(live: Path) -> list[Allocation]:
    """Every VPC range of every environment root under `live`."""
    found: dict[tuple[str, str], Allocation] = {}
    for root in environment_roots(live):
        owner = f"{root.parent.name}/{root.name}"
        sources: list[Any] = []
        env_file = root / ENVIRONMENT_FILE
        if env_file.is_file():
            sources.append(read_json(env_file))
        for pattern in ("*.tf", "*.tfvars"):
            paths = sorted(root.glob(pattern))
            sources.extend(load_tf(path) for path in paths if CIDR_LITERAL.search(path.read_text(encoding="utf-8")))
        for source in sources:
            for network in _networks(_cidr_literals(source)):
                found.setdefault((owner, str(network)), Allocation(network, owner))
    return list(found.values())
