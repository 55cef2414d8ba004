"""Naming rules shared by every entry point (the environment file, `gantry new-env`, the Terraform roots).

One rule per kind of name, so a name one command accepts is never rejected by another. Limits come from AWS:
`<customer>-<environment>` prefixes load balancer and target group names (32 characters with suffixes) and IAM
role names, so customer names stop at 12 characters.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

from gantry.errors import ConfigError

CUSTOMER = re.compile(r"[a-z](?:[a-z0-9]|-(?!-)){0,10}[a-z0-9]")
SERVICE = re.compile(r"[a-z](?:[a-z0-9]|-(?!-)){0,30}[a-z0-9]")
# A pipeline environment (staging, production...) in the environment file.
ENVIRONMENT = re.compile(r"[a-z](?:[a-z0-9]|-(?!-)){0,30}[a-z0-9]")
# A Terraform stack environment (terraform/live/<customer>/<stack>): short, it is part of resource names.
STACK = re.compile(r"[a-z][a-z0-9]{1,9}")
# A commit id and an image digest, always in full: a prefix or a ref name could be made to name something else.
SHA = re.compile(r"[0-9a-f]{40}")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# Names that would read as AWS- or tool-owned, or collide with the layout's own directories.
RESERVED = frozenset({"aws", "amazon", "global", "default", "terraform", "modules", "bootstrap", "live"})

# Commercial AWS regions; the local target mirrors these names so one file describes both targets.
AWS_REGIONS = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "af-south-1",
        "ap-east-1",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ca-central-1",
        "ca-west-1",
        "eu-central-1",
        "eu-central-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "sa-east-1",
    }
)


def check_customer(name: str) -> str:
    if not CUSTOMER.fullmatch(name):
        raise ConfigError(
            f"customer {name!r} is invalid: use 2-12 lowercase letters, digits or single inner '-', "
            "starting with a letter (e.g. acme)"
        )
    if name in RESERVED:
        raise ConfigError(f"customer {name!r} is a reserved name: choose another (e.g. {name}co)")
    return name


def check_service(name: str) -> str:
    if not SERVICE.fullmatch(name):
        raise ConfigError(
            f"service {name!r} is invalid: use 2-32 lowercase letters, digits or single inner '-' (e.g. api)"
        )
    return name


def check_environment(name: str) -> str:
    if not ENVIRONMENT.fullmatch(name):
        raise ConfigError(
            f"environment {name!r} is invalid: use 2-32 lowercase letters, digits or single inner '-' "
            "(e.g. staging, production)"
        )
    return name


def check_stack(name: str) -> str:
    if not STACK.fullmatch(name):
        raise ConfigError(
            f"environment {name!r} is invalid: use 2-10 lowercase letters or digits, starting with a letter "
            "(e.g. prod, test)"
        )
    if name in RESERVED:
        raise ConfigError(f"environment {name!r} is a reserved name: choose another")
    return name


def check_region(name: str) -> str:
    if name not in AWS_REGIONS:
        raise ConfigError(f"{name!r} is not an AWS region name (e.g. us-east-1, eu-west-1)")
    return name


def check_sha(value: str) -> str:
    if not isinstance(value, str) or not SHA.fullmatch(value):
        raise ConfigError(f"{printable(value)} is not a commit id: give the 40 lowercase hex digits, in full")
    return value


def check_digest(value: str) -> str:
    if not isinstance(value, str) or not DIGEST.fullmatch(value):
        raise ConfigError(f"{printable(value)} is not an image digest (sha256: and 64 lowercase hex digits, in full)")
    return value


def printable(value: object, limit: int = 80) -> str:
    """`value` for a one-line message: quoted, control characters escaped, cut at `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def _validator(check: object) -> AfterValidator:
    def validate(value: str) -> str:
        try:
            return check(value)  # type: ignore[operator,no-any-return]
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    return AfterValidator(validate)


CustomerName = Annotated[str, _validator(check_customer)]
ServiceName = Annotated[str, _validator(check_service)]
EnvironmentName = Annotated[str, _validator(check_environment)]
RegionName = Annotated[str, _validator(check_region)]
Sha = Annotated[str, _validator(check_sha)]
Digest = Annotated[str, _validator(check_digest)]
