"""boto3 clients for every region with botocore's standard retry mode; AWS errors turned into one line."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from gantry.errors import GantryError
from gantry.targets.aws.settings import AwsSettings


class Clients:
    """One boto3 session; clients are cached per (service, region) because they are thread-safe and slow
    to build. Clients are typed Any: boto3 generates their methods at runtime."""

    def __init__(self, settings: AwsSettings) -> None:
        self.settings = settings
        self.config = Config(
            retries={"mode": "standard", "total_max_attempts": settings.max_attempts},
            connect_timeout=5,
            read_timeout=30,
            user_agent_extra="gantry",
        )
        kwargs: dict[str, Any] = {}
        if settings.profile:
            kwargs["profile_name"] = settings.profile
        if settings.endpoint_url and not os.environ.get("AWS_ACCESS_KEY_ID"):
            # A local AWS API (moto) accepts any key; never used against real endpoints.
            kwargs.update(aws_access_key_id="testing", aws_secret_access_key="testing")  # noqa: S106
        self.session = boto3.session.Session(**kwargs)
        self._cache: dict[tuple[str, str], Any] = {}

    def __call__(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._cache:
            self._cache[key] = self.session.client(  # type: ignore[call-overload]
                service, region_name=region, endpoint_url=self.settings.endpoint_url, config=self.config
            )
        return self._cache[key]


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def one_line(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        text = f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip().rstrip(":")
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())[:300]


@contextmanager
def aws_errors(what: str, fix: str = "check credentials, region and that the stack is deployed") -> Iterator[None]:
    """Turn botocore failures (after retries) into a GantryError: '<what> failed: <reason>: <fix>'."""
    try:
        yield
    except NoCredentialsError:
        raise GantryError(f"{what} failed: no AWS credentials: set AWS_PROFILE or aws.profile") from None
    except (ClientError, BotoCoreError) as exc:
        raise GantryError(f"{what} failed: {one_line(exc)}: {fix}") from None
