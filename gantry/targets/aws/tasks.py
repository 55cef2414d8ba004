"""One-off ECS tasks (RunTask): a command run once from a registered task definition, waited for, its output read
back from CloudWatch Logs. The migrations run this way, as a task of the release's own image with the database's
credentials injected by ECS (never in an argument, an override or a log).

What moto cannot show: it runs no task, so against moto the waiter is injected (tests/aws/standins.py runs the
task's container for real and reports it stopped with its exit code, and writes its output to the log stream).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any, Protocol

from gantry.errors import GantryError
from gantry.targets.aws.clients import Clients, aws_errors


class TaskWaiter(Protocol):
    def __call__(self, ecs: Any, cluster: str, task_arn: str, timeout: float) -> dict[str, Any]:
        """The task once it STOPPED; GantryError when it did not within `timeout`."""


@dataclass
class PollingTaskWaiter:
    poll_seconds: float

    def __call__(self, ecs: Any, cluster: str, task_arn: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with aws_errors(f"describe_tasks {task_arn[-36:]}"):
                found = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"]
            if found and found[0].get("lastStatus") == "STOPPED":
                task: dict[str, Any] = found[0]
                return task
            time.sleep(min(self.poll_seconds, max(deadline - time.monotonic(), 0)))
        raise GantryError(f"task {task_arn[-36:]} did not stop within {timeout:g} s: see it in the ECS console")


def one_off(
    service: dict[str, Any],
    *,
    family: str,
    command: list[str],
    environment: dict[str, str],
    secrets: dict[str, str],
    execution_role_arn: str | None,
    stream_prefix: str,
) -> dict[str, Any]:
    """A task definition for `command` made from the service's (its image, resources, logging and task role):
    no ports, no health check, only `environment` and `secrets` (NAME -> where ECS reads it)."""
    task = copy.deepcopy(service)
    task["family"] = family
    task.pop("tags", None)
    if execution_role_arn:
        task["executionRoleArn"] = execution_role_arn
    container = next(c for c in task["containerDefinitions"] if c.get("essential", True))
    container.pop("portMappings", None)
    container.pop("healthCheck", None)
    container["command"] = command
    container["environment"] = [{"name": k, "value": v} for k, v in sorted(environment.items())]
    container["secrets"] = [{"name": k, "valueFrom": v} for k, v in sorted(secrets.items())]
    options = container.get("logConfiguration", {}).get("options")
    if isinstance(options, dict):
        options["awslogs-stream-prefix"] = stream_prefix
    task["containerDefinitions"] = [container]
    return task


def run_once(
    clients: Clients, region: str, cluster: str, task_definition: dict[str, Any], waiter: TaskWaiter, timeout: float
) -> list[str]:
    """Register `task_definition`, run it once on `cluster`, wait for it to stop; its output lines, or
    GantryError naming the exit code and the last line."""
    ecs = clients("ecs", region)
    with aws_errors(f"register_task_definition {task_definition['family']} in {region}"):
        arn = ecs.register_task_definition(**task_definition)["taskDefinition"]["taskDefinitionArn"]
    with aws_errors(f"run_task {task_definition['family']} in {region}"):
        started = ecs.run_task(cluster=cluster, taskDefinition=arn, count=1, startedBy="gantry")
    if started.get("failures") or not started.get("tasks"):
        reason = (started.get("failures") or [{}])[0].get("reason", "no task started")
        raise GantryError(f"ECS could not start {task_definition['family']} in {region}: {reason}")
    task_arn = str(started["tasks"][0]["taskArn"])
    stopped = waiter(ecs, cluster, task_arn, timeout)
    container = (stopped.get("containers") or [{}])[0]
    lines = _output(clients, region, task_definition, task_arn)
    code = container.get("exitCode")
    if code != 0:
        why = container.get("reason") or stopped.get("stoppedReason") or (lines[-1] if lines else "no output")
        raise GantryError(f"`{' '.join(container_command(task_definition))}` exited {code} ({str(why)[:200]})")
    return lines


def container_command(task_definition: dict[str, Any]) -> list[str]:
    return list(task_definition["containerDefinitions"][0].get("command", []))


def _output(clients: Clients, region: str, task_definition: dict[str, Any], task_arn: str) -> list[str]:
    """The task's log lines (awslogs: <prefix>/<container>/<task id>); [] when it logs elsewhere."""
    container = task_definition["containerDefinitions"][0]
    options = container.get("logConfiguration", {}).get("options", {})
    if container.get("logConfiguration", {}).get("logDriver") != "awslogs":
        return []
    stream = f"{options.get('awslogs-stream-prefix')}/{container['name']}/{task_arn.rsplit('/', 1)[-1]}"
    with aws_errors(f"reading the task's log stream {stream}"):
        events = clients("logs", region).get_log_events(
            logGroupName=options["awslogs-group"], logStreamName=stream, startFromHead=True
        )["events"]
    return [str(event["message"]) for event in events]
