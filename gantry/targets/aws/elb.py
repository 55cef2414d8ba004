"""The ALB in front of each environment: its URL, and whether its targets are healthy.

moto reports every registered target as healthy, so the unhealthy branch is tested only through the shape of
describe_target_health answers; real AWS proves the health checks themselves.
"""

from __future__ import annotations

from typing import Any

from gantry.errors import GantryError
from gantry.targets.aws.clients import Clients, aws_errors
from gantry.targets.aws.settings import AwsServiceSettings


def endpoint(clients: Clients, region: str, service: AwsServiceSettings) -> str:
    if service.url:
        return service.url.rstrip("/")
    with aws_errors(f"ALB {service.load_balancer} in {region}", "apply the Terraform stack"):
        found = clients("elbv2", region).describe_load_balancers(Names=[service.load_balancer])
    return f"https://{found['LoadBalancers'][0]['DNSName']}"


def unhealthy(descriptions: list[dict[str, Any]]) -> list[str]:
    return [
        f"{d['Target']['Id']}:{d['Target'].get('Port', '')}={d['TargetHealth'].get('State', '?')}"
        for d in descriptions
        if d.get("TargetHealth", {}).get("State") != "healthy"
    ]


def target_health(clients: Clients, region: str, service: AwsServiceSettings) -> tuple[int, list[str]]:
    """(healthy targets, the others as `id:port=state`) of the service's target group."""
    if service.target_group_arn is None:
        raise GantryError(f"no target_group_arn for {service.service} in {region}: re-import terraform outputs")
    with aws_errors(f"target health of {service.service} in {region}"):
        found = clients("elbv2", region).describe_target_health(TargetGroupArn=service.target_group_arn)
    descriptions: list[dict[str, Any]] = found.get("TargetHealthDescriptions", [])
    bad = unhealthy(descriptions)
    return len(descriptions) - len(bad), bad
