"""Naming and region rules for `gantry new-env`: the shared rules of gantry.names, plus DNS domains and the
pair of regions a stack spans."""

from __future__ import annotations

import re

from gantry import names
from gantry.errors import ConfigError
from gantry.names import AWS_REGIONS

DOMAIN_RE = re.compile(r"(?=.{4,253}\Z)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
# S3 bucket names (general purpose buckets) and SSM parameter paths, as AWS accepts them: both are written into
# HCL (backend.hcl, tfvars), so nothing else may get through.
BUCKET_RE = re.compile(r"(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
SSM_PATH_RE = re.compile(r"(?=.{2,1011}\Z)(/[A-Za-z0-9_.-]+)+")
check_customer = names.check_customer
check_service = names.check_service
check_environment = names.check_stack


def check_domain(name: str) -> str:
    if not DOMAIN_RE.fullmatch(name):
        raise ConfigError(f"domain {name!r} is not a DNS name: pass e.g. --domain acme.example.com")
    return name


def check_bucket(name: str) -> str:
    if not BUCKET_RE.fullmatch(name):
        raise ConfigError(
            f"--state-bucket {name!r} is not an S3 bucket name: use 3-63 lowercase letters, digits, '.' and '-'"
        )
    return name


def check_ssm_path(name: str) -> str:
    if not SSM_PATH_RE.fullmatch(name):
        raise ConfigError(
            f"--ami-parameter {name!r} is not an SSM parameter path: use e.g. /gantry/acme/golden-ami (letters, "
            "digits, '_', '.', '-')"
        )
    return name


def check_regions(primary: str, secondary: str) -> tuple[str, str]:
    for flag, region in (("--primary", primary), ("--secondary", secondary)):
        if region not in AWS_REGIONS:
            raise ConfigError(f"{flag} '{region}' is not an AWS region name: use one like us-east-1 or eu-west-1")
    if primary == secondary:
        raise ConfigError(f"--primary and --secondary are both '{primary}': pick two different regions")
    return primary, secondary
