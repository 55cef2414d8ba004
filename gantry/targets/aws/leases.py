"""Deploy leases on AWS: one item per environment in the DynamoDB table that locks the Terraform state
(hash key LockID, items `gantry/<customer>/<env>`), taken and given up with conditional writes.

A lease expires `lease_seconds` after its last renewal; its holder renews it from a background thread, so a
dead holder (a lost Jenkins agent) is recognised by expiry and taken over safely: the conditional write
admits exactly one new holder, and hands it the intent the dead one left. Every write of the intent is
conditional on the holder's token, so a holder that lost its lease can no longer write.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from typing import Any

from botocore.exceptions import ClientError

from gantry.errors import GantryError
from gantry.leases import Holder, Intent, LeaseHeldError, LeaseState, held_error
from gantry.targets.aws.clients import Clients, aws_errors, error_code

CONDITION_FAILED = "ConditionalCheckFailedException"


class DynamoLease:
    def __init__(self, store: DynamoLeaseStore, env: str, holder: Holder, token: str, found: LeaseState) -> None:
        self.env = env
        self.holder = holder
        self.found = found
        self._store = store
        self._token = token
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._renew, name=f"lease-{env}", daemon=True)
        self._renewer.start()

    def _renew(self) -> None:
        while not self._stop.wait(self._store.seconds / 3):
            try:
                self._store.write(self.env, self._token, "SET expires_at = :e", {":e": self._store.expiry()})
            except GantryError:
                return  # the next save() fails and says the lease was lost

    def save(self, intent: Intent) -> None:
        self._store.write(self.env, self._token, "SET intent = :i", {":i": {"S": intent.model_dump_json()}})

    def release(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._store.write(self.env, self._token, "REMOVE holder, lease_token, expires_at", {})


class DynamoLeaseStore:
    def __init__(self, clients: Clients, region: str, table: str, customer: str, seconds: float) -> None:
        self.clients = clients
        self.region = region
        self.table = table
        self.prefix = f"gantry/{customer}/"
        self.seconds = seconds

    def _ddb(self) -> Any:
        return self.clients("dynamodb", self.region)

    def _key(self, env: str) -> dict[str, dict[str, str]]:
        return {"LockID": {"S": self.prefix + env}}

    def expiry(self) -> dict[str, str]:
        return {"N": f"{time.time() + self.seconds:.3f}"}

    def write(self, env: str, token: str, update: str, values: dict[str, Any]) -> None:
        try:
            with aws_errors(f"writing the {env} lease in {self.table}"):
                self._ddb().update_item(
                    TableName=self.table,
                    Key=self._key(env),
                    UpdateExpression=update,
                    ConditionExpression="lease_token = :t",
                    ExpressionAttributeValues={":t": {"S": token}, **values},
                )
        except GantryError as exc:
            if isinstance(exc.__context__, ClientError) and error_code(exc.__context__) == CONDITION_FAILED:
                raise GantryError(
                    f"the {env} lease was taken over (this process did not renew it in time): "
                    f"check `gantry status`, then `gantry recover --env {env}`"
                ) from None
            raise

    def acquire(self, env: str, holder: Holder) -> DynamoLease:
        token = secrets.token_hex(16)
        try:
            with aws_errors(f"taking the {env} lease in {self.table}", "apply the state backend stack"):
                reply = self._ddb().update_item(
                    TableName=self.table,
                    Key=self._key(env),
                    UpdateExpression="SET holder = :h, lease_token = :t, expires_at = :e",
                    ConditionExpression="attribute_not_exists(lease_token) OR expires_at < :now",
                    ExpressionAttributeValues={
                        ":h": {"S": holder.model_dump_json()},
                        ":t": {"S": token},
                        ":e": self.expiry(),
                        ":now": {"N": f"{time.time():.3f}"},
                    },
                    ReturnValues="ALL_OLD",
                )
        except GantryError as exc:
            if isinstance(exc.__context__, ClientError) and error_code(exc.__context__) == CONDITION_FAILED:
                current = self.peek(env)
                if current.holder is not None:
                    raise held_error(env, current.holder) from None
                raise LeaseHeldError(f"{env} is being deployed by another process: wait for it and retry") from None
            raise
        old = reply.get("Attributes", {})
        found = _state(env, old)
        if "lease_token" in old and "holder" in old:  # taken over after expiry: the old holder never released
            found = found.model_copy(update={"abandoned_by": Holder.model_validate(json.loads(old["holder"]["S"]))})
        return DynamoLease(self, env, holder, token, found)

    def peek(self, env: str) -> LeaseState:
        with aws_errors(f"reading the {env} lease in {self.table}", "apply the state backend stack"):
            item = self._ddb().get_item(TableName=self.table, Key=self._key(env), ConsistentRead=True).get("Item", {})
        return _state(env, item)

    def live_holders(self) -> dict[str, Holder]:
        with aws_errors(f"listing leases in {self.table}"):
            items = (
                self._ddb()
                .scan(
                    TableName=self.table,
                    FilterExpression="begins_with(LockID, :p) AND attribute_exists(lease_token)",
                    ExpressionAttributeValues={":p": {"S": self.prefix}},
                )
                .get("Items", [])
            )
        found = {}
        for item in items:
            env = item["LockID"]["S"].removeprefix(self.prefix)
            state = _state(env, item)
            if state.holder is not None:
                found[env] = state.holder
        return found


def _state(env: str, item: dict[str, Any]) -> LeaseState:
    """The lease as an item describes it; a holder whose lease expired is no holder."""
    alive = "lease_token" in item and float(item.get("expires_at", {}).get("N", "0")) >= time.time()
    holder = Holder.model_validate(json.loads(item["holder"]["S"])) if alive and "holder" in item else None
    intent = Intent.model_validate_json(item["intent"]["S"]) if "intent" in item else None
    return LeaseState(env=env, holder=holder, intent=intent)
