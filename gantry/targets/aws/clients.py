"""boto3 clients for every region with botocore's standard retry mode; AWS errors turned into one line."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from gantry.errors import GantryError
from gantry.targets.aws.settings import AwsSettings

SESSION_NAME = re.compile(r"[^A-Za-z0-9+=,.@_-]")


class Clients:
    """boto3 sessions: the agent's own credentials, and one per identity gantry acts as (`act_as`), each an
    assumed role whose credentials refresh themselves (a deploy may outlast one hour). Clients are cached per
    (identity, service, region) because they are thread-safe and slow to build; they are typed Any: boto3
    generates their methods at runtime."""

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
        self.base = boto3.session.Session(**kwargs)
        self.instrument(self.base, None)
        self.identity: str | None = None  # None: the agent's own credentials
        self.session_name = "gantry"
        self._sessions: dict[str, boto3.session.Session] = {}
        self._cache: dict[tuple[str | None, str, str], Any] = {}

    def act_as(self, identity: str | None, run_id: str | None) -> None:
        """Every client made from now on acts as `identity` (its role in aws.roles; None, or no roles configured:
        the agent's own credentials), in a session named after the run."""
        if identity is not None and self.settings.roles and identity not in self.settings.roles:
            raise GantryError(f"aws.roles has no role for '{identity}': import the stack's outputs (gantry aws-import)")
        self.identity = identity if self.settings.roles else None
        self.session_name = SESSION_NAME.sub("-", f"gantry-{run_id or 'cli'}")[:64]

    @property
    def session(self) -> boto3.session.Session:
        if self.identity is None:
            return self.base
        if self.identity not in self._sessions:
            self._sessions[self.identity] = self._assumed(self.settings.roles[self.identity])
        return self._sessions[self.identity]

    def _assumed(self, role_arn: str) -> boto3.session.Session:
        endpoint = self.settings.endpoint_url
        # STS of the customer's first region (its regional endpoint), not the global one.
        region = next(iter(self.settings.regions), "us-east-1")

        def sts(service: str, **kwargs: Any) -> Any:
            kwargs.setdefault("region_name", region)
            return self.base.client(service, endpoint_url=endpoint, config=self.config, **kwargs)  # type: ignore[call-overload]

        fetcher = AssumeRoleCredentialFetcher(
            client_creator=sts,
            source_credentials=self.base.get_credentials(),
            role_arn=role_arn,
            extra_args={"RoleSessionName": self.session_name, "DurationSeconds": 3600},
        )
        botocore_session = botocore.session.Session()
        # botocore has no public setter for refreshable credentials; this attribute is what its own assume-role
        # provider fills, and what get_credentials() returns.
        botocore_session._credentials = DeferredRefreshableCredentials(  # type: ignore[attr-defined]
            method="assume-role", refresh_using=fetcher.fetch_credentials
        )
        session = boto3.session.Session(botocore_session=botocore_session)
        self.instrument(session, role_arn)
        return session

    def instrument(self, session: boto3.session.Session, role_arn: str | None) -> None:
        """A new session (for the tests' request recorder, tests/aws/callrecorder); nothing here."""

    def __call__(self, service: str, region: str) -> Any:
        key = (self.identity, service, region)
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
