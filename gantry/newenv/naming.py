"""Naming and region rules for customers and environments.

Limits come from AWS: `<customer>-<environment>` prefixes load balancer and target group names (32
characters with suffixes) and IAM role names, so customer names stop at 12 characters and environment
names at 10.
"""

from __future__ import annotations

import re

from gantry.config import AWS_REGIONS
from gantry.errors import ConfigError

CUSTOMER_RE = re.compile(r"^[a-z](?:[a-z0-9]|-(?!-)){0,10}[a-z0-9]$")
ENVIRONMENT_RE = re.compile(r"^[a-z][a-z0-9]{1,9}$")
SERVICE_RE = re.compile(r"^[a-z][a-z0-9-]{1,30}$")
DOMAIN_RE = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# Names that would read as AWS- or tool-owned, or collide with the layout's own directories.
RESERVED = frozenset({"aws", "amazon", "global", "default", "terraform", "modules", "bootstrap", "live"})


def check_customer(name: str) -> str:
    if not CUSTOMER_RE.match(name):
        raise ConfigError(
            f"customer '{name}' is invalid: use 2-12 lowercase letters, digits or single inner '-', "
            "starting with a letter (e.g. acme)"
        )
    if name in RESERVED:
        raise ConfigError(f"customer '{name}' is a reserved name: choose another (e.g. {name}co)")
    return name


def check_environment(name: str) -> str:
    if not ENVIRONMENT_RE.match(name):
        raise ConfigError(
            f"environment '{name}' is invalid: use 2-10 lowercase letters or digits, starting with a letter "
            "(e.g. prod, test)"
        )
    if name in RESERVED:
        raise ConfigError(f"environment '{name}' is a reserved name: choose another")
    return name


def check_service(name: str) -> str:
    if not SERVICE_RE.match(name):
        raise ConfigError(f"service '{name}' is invalid: use lowercase letters, digits and '-' (e.g. cart)")
    return name


def check_domain(name: str) -> str:
    if not DOMAIN_RE.match(name):
        raise ConfigError(f"domain '{name}' is not a DNS name: pass e.g. --domain acme.example.com")
    return name


def check_regions(primary: str, secondary: str) -> tuple[str, str]:
    for flag, region in (("--primary", primary), ("--secondary", secondary)):
        if region not in AWS_REGIONS:
            raise ConfigError(f"{flag} '{region}' is not an AWS region name: use one like us-east-1 or eu-west-1")
    if primary == secondary:
        raise ConfigError(f"--primary and --secondary are both '{primary}': pick two different regions")
    return primary, secondary
