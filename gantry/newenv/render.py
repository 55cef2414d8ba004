"""Render the files of a new environment root (and of a new customer) from the one template.

Every environment root has the same .tf files, copied from templates/env_root; what differs lives in data
files Terraform reads: `environment.auto.tfvars.json`, `backend.hcl` and the customer's `customer.json`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from importlib import resources
from ipaddress import IPv4Network

from gantry.newenv.inventory import CUSTOMER_FILE, ENVIRONMENT_FILE, Customer

TEMPLATE_PACKAGE = "gantry.newenv"
TEMPLATE_DIR = "templates/env_root"


@dataclass(frozen=True)
class EnvironmentSpec:
    customer: Customer
    environment: str
    primary_cidr: IPv4Network
    secondary_cidr: IPv4Network
    production: bool


def template_files() -> dict[str, str]:
    """The .tf files every environment root carries, by file name."""
    folder = resources.files(TEMPLATE_PACKAGE).joinpath(TEMPLATE_DIR)
    return {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".tf")
    }


def _json(data: object) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _backend(customer: Customer, key: str) -> str:
    lines = [
        f'bucket         = "{customer.state_bucket}"',
        f'key            = "{key}"',
        f'region         = "{customer.primary_region}"',
        f'dynamodb_table = "{customer.lock_table}"',
        "encrypt        = true",
    ]
    return "\n".join(lines) + "\n"


def customer_files(customer: Customer) -> dict[str, str]:
    """Files at terraform/live/<customer>/ written once, when the customer is new."""
    return {
        CUSTOMER_FILE: _json(asdict(customer)),
        "global.backend.hcl": _backend(customer, f"global/{customer.name}/terraform.tfstate"),
    }


def environment_files(spec: EnvironmentSpec) -> dict[str, str]:
    """Files of terraform/live/<customer>/<environment>/."""
    files = dict(template_files())
    files[ENVIRONMENT_FILE] = _json(
        {
            "environment": spec.environment,
            "primary_cidr": str(spec.primary_cidr),
            "secondary_cidr": str(spec.secondary_cidr),
            "production": spec.production,
            "alarm_emails": [],
        }
    )
    files["backend.hcl"] = _backend(spec.customer, f"live/{spec.customer.name}/{spec.environment}/terraform.tfstate")
    return files
