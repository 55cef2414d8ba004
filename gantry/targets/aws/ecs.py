"""ECS per region: register a task definition pinned by digest, roll the service, restore on failure.

What moto cannot show: it runs no tasks, so a service's deployment never reaches COMPLETED for a new task
definition (its deployment list keeps naming the first one). Against moto the real RolloutWaiter therefore
always times out, which is exactly how the timeout-and-restore path is tested; a successful rollout, the
circuit breaker's FAILED state and its automatic rollback are only proven on real AWS.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from gantry.errors import DeployError, GantryError
from gantry.targets.aws.clients import aws_errors, one_line

CIRCUIT_BREAKER = {"enable": True, "rollback": True}


class RolloutFailed(Exception):
    """The new deployment failed or did not finish in time; the message says which."""


class RolloutWaiter(Protocol):
    def __call__(self, ecs: Any, cluster: str, service: str, task_definition: str, timeout: float) -> None:
        """Return when `service` runs `task_definition` at full count; raise RolloutFailed otherwise."""


def rollout_state(service: dict[str, Any], task_definition: str) -> tuple[str, str]:
    """(state, reason) of the deployment of `task_definition`: COMPLETED, FAILED or IN_PROGRESS."""
    ours = [d for d in service.get("deployments", []) if d.get("taskDefinition") == task_definition]
    if not ours:
        if service.get("taskDefinition") != task_definition:
            # With rollback=True the circuit breaker replaces our failed deployment with the previous one.
            return "FAILED", "the ECS circuit breaker rolled the service back"
        return "IN_PROGRESS", "no deployment for the new task definition yet"
    deployment = ours[0]
    state = deployment.get("rolloutState", "IN_PROGRESS")
    reason = deployment.get("rolloutStateReason", "")
    if state == "FAILED":
        return "FAILED", reason or "deployment failed"
    complete = (
        state == "COMPLETED"
        and deployment.get("status") == "PRIMARY"
        and deployment.get("runningCount", 0) >= deployment.get("desiredCount", 1)
        and len(service.get("deployments", [])) == 1
    )
    return ("COMPLETED", reason) if complete else ("IN_PROGRESS", reason)


@dataclass
class PollingWaiter:
    """Polls describe_services until our deployment is COMPLETED (or FAILED, or the timeout passes)."""

    poll_seconds: float

    def __call__(self, ecs: Any, cluster: str, service: str, task_definition: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        reason = ""
        while time.monotonic() < deadline:
            try:
                found = ecs.describe_services(cluster=cluster, services=[service])["services"]
            except (ClientError, BotoCoreError) as exc:
                raise RolloutFailed(f"describe_services failed: {one_line(exc)}") from None
            if not found:
                raise RolloutFailed(f"service {service} not found in cluster {cluster}")
            state, reason = rollout_state(found[0], task_definition)
            if state == "COMPLETED":
                return
            if state == "FAILED":
                raise RolloutFailed(reason)
            time.sleep(min(self.poll_seconds, max(deadline - time.monotonic(), 0)))
        raise RolloutFailed(f"rollout not complete within {timeout:g}s ({reason or 'in progress'})")


def short(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


@dataclass
class ServiceRef:
    region: str
    cluster: str
    service: str


class EcsDeployer:
    """Rolls one service in one region; on failure puts the previous task definition back."""

    def __init__(self, ecs: Any, ref: ServiceRef, waiter: RolloutWaiter, timeout: float) -> None:
        self.ecs = ecs
        self.ref = ref
        self.waiter = waiter
        self.timeout = timeout

    def describe(self, *, tags: bool = False) -> dict[str, Any]:
        with aws_errors(f"ECS service {self.ref.service} in {self.ref.region}", "apply the Terraform stack"):
            found = self.ecs.describe_services(
                cluster=self.ref.cluster, services=[self.ref.service], include=["TAGS"] if tags else []
            )
        services: list[dict[str, Any]] = found.get("services", [])
        if not services or services[0].get("status") != "ACTIVE":
            raise GantryError(
                f"ECS service {self.ref.service} is not active in {self.ref.cluster} ({self.ref.region}): "
                "apply the Terraform stack"
            )
        return services[0]

    def register(self, task_definition: dict[str, Any]) -> str:
        with aws_errors(f"registering task definition in {self.ref.region}", "fix the task definition"):
            registered = self.ecs.register_task_definition(**task_definition)
        arn: str = registered["taskDefinition"]["taskDefinitionArn"]
        return arn

    def _update(self, service: dict[str, Any], task_definition: str) -> None:
        config = dict(service.get("deploymentConfiguration") or {})
        config["deploymentCircuitBreaker"] = CIRCUIT_BREAKER
        self.ecs.update_service(
            cluster=self.ref.cluster,
            service=self.ref.service,
            taskDefinition=task_definition,
            deploymentConfiguration=config,
        )

    def roll(self, new_arn: str) -> str:
        """Roll the service to `new_arn`; returns the previous task definition. Raises DeployError after
        restoring the previous task definition when the rollout fails."""
        where = f"{self.ref.service} in {self.ref.region}"
        service = self.describe()
        previous: str = service["taskDefinition"]
        try:
            self._update(service, new_arn)
        except (ClientError, BotoCoreError) as exc:
            raise DeployError(f"update_service {where} refused ({one_line(exc)}): nothing changed there") from None
        try:
            self.waiter(self.ecs, self.ref.cluster, self.ref.service, new_arn, self.timeout)
        except RolloutFailed as failure:
            outcome = self.restore(service, previous)
            raise DeployError(f"rollout of {short(new_arn)} failed for {where}: {failure}; {outcome}") from None
        return previous

    def restore(self, service: dict[str, Any], previous: str) -> str:
        """Put `previous` back and wait for it; returns one phrase for the error message."""
        try:
            self._update(service, previous)
        except (ClientError, BotoCoreError) as exc:
            return f"RESTORE FAILED ({one_line(exc)}): set the service to {short(previous)} by hand"
        try:
            self.waiter(self.ecs, self.ref.cluster, self.ref.service, previous, self.timeout)
        except RolloutFailed as failure:
            return f"restored {short(previous)} but its rollout is unconfirmed ({failure}): check ECS events"
        return f"restored {short(previous)}"
