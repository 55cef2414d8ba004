"""Approval and staging records as SSM SecureString parameters, create-only, in both regions.

A record is written to the primary region first with Overwrite=False, which SSM turns into an atomic
create-if-absent (ParameterAlreadyExists otherwise); only the call that created it copies it to the
secondary region, again create-only. Reads go to the primary and fall back to the secondary when the primary
cannot be reached, so a production deploy in either region can check its approval during a regional outage.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError

from gantry.errors import GantryError
from gantry.records import check_key
from gantry.targets.aws.clients import Clients, aws_errors, error_code


class SsmRecordStore:
    def __init__(self, clients: Clients, regions: list[str], path: str, kms_key: str) -> None:
        self.clients = clients
        self.regions = regions
        self.path = path.rstrip("/")
        self.kms_key = kms_key

    def name(self, kind: str, key: str) -> str:
        check_key(kind, key)
        # ':' is not allowed in parameter names; the envelope keeps the real key, so a collision is caught.
        return f"{self.path}/{kind}/{key.replace(':', '_')}"

    def _read(self, region: str, kind: str, key: str) -> dict[str, Any] | None:
        ssm = self.clients("ssm", region)
        try:
            raw = ssm.get_parameter(Name=self.name(kind, key), WithDecryption=True)["Parameter"]["Value"]
        except ClientError as exc:
            if error_code(exc) == "ParameterNotFound":
                return None
            raise
        envelope = json.loads(raw)
        if envelope.get("kind") != kind or envelope.get("key") != key:
            raise GantryError(f"SSM parameter {self.name(kind, key)} holds record {envelope.get('key')}: rename")
        value: dict[str, Any] = envelope["value"]
        return value

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        last: Exception | None = None
        for region in self.regions:
            try:
                with aws_errors(f"reading record {kind}/{key} in {region}"):
                    return self._read(region, kind, key)
            except GantryError as exc:
                if not isinstance(exc.__context__, EndpointConnectionError):
                    raise
                last = exc
        raise GantryError(f"no region answered for record {kind}/{key}: {last}")

    def _create(self, region: str, name: str, body: str) -> bool:
        try:
            self.clients("ssm", region).put_parameter(
                Name=name,
                Value=body,
                Type="SecureString",
                KeyId=self.kms_key,
                Overwrite=False,
                Tier="Standard",
            )
        except ClientError as exc:
            if error_code(exc) == "ParameterAlreadyExists":
                return False
            raise
        return True

    def create(self, kind: str, key: str, value: dict[str, Any]) -> bool:
        name = self.name(kind, key)
        primary, *others = self.regions
        with aws_errors(f"storing record {kind}/{key} in {primary}"):
            created = self._create(primary, name, self._body(kind, key, value))
            stored = json.loads(json.dumps(value, default=str)) if created else self._read(primary, kind, key)
        # Also when the record existed: a copy interrupted last time is completed, never replaced.
        for region in others:
            with aws_errors(f"copying record {kind}/{key} to {region}", "re-run the command to copy it"):
                body = self._body(kind, key, stored or {})
                if not self._create(region, name, body) and self._read(region, kind, key) != stored:
                    raise GantryError(f"record {kind}/{key} differs between regions: inspect SSM {name}")
        return created

    def find(self, kind: str, prefix: str) -> list[dict[str, Any]]:
        """Records of `kind` whose key starts with `prefix`, from the first region that answers."""
        check_key(kind, prefix or "-")
        path = f"{self.path}/{kind}"
        start = f"{path}/{prefix.replace(':', '_')}"
        last: Exception | None = None
        for region in self.regions:
            try:
                with aws_errors(f"listing records {kind}/{prefix}* in {region}"):
                    pages = self.clients("ssm", region).get_paginator("get_parameters_by_path")
                    found = []
                    for page in pages.paginate(Path=path, WithDecryption=True):
                        for parameter in page["Parameters"]:
                            if parameter["Name"].startswith(start):
                                found.append((parameter.get("LastModifiedDate"), json.loads(parameter["Value"])))
                    found.sort(key=lambda item: str(item[0]))
                    return [envelope["value"] for _, envelope in found if envelope.get("kind") == kind]
            except GantryError as exc:
                if not isinstance(exc.__context__, EndpointConnectionError):
                    raise
                last = exc
        raise GantryError(f"no region answered for records {kind}/{prefix}*: {last}")

    @staticmethod
    def _body(kind: str, key: str, value: dict[str, Any]) -> str:
        return json.dumps({"kind": kind, "key": key, "value": value}, sort_keys=True, default=str)
