"""The local target's load balancers, named and configured in one place: per region and environment, and the
global entry point in front of an environment's two regions."""

from __future__ import annotations

from gantry.errors import GantryError
from gantry.targets.local import health
from gantry.targets.local.haproxy import Balancer
from gantry.targets.local.layout import Layout


def regional(layout: Layout, region: str, env: str) -> Balancer:
    check, deregistration = health.target_group(
        layout.settings.time_scale, layout.cfg.service.health.path, layout.cfg_root
    )
    return Balancer(
        f"lb-{region}-{env}",
        layout.lb(region, env),
        layout.lb_port(region, env),
        check,
        sockets=layout.sockets,
        deregistration_delay=deregistration,
    )


def global_entry(layout: Layout, env: str) -> Balancer:
    port = layout.global_port(env)
    if port is None:
        raise GantryError(f"{env} has no global entry point: set local.global_ports.{env} in the environment file")
    primary, secondary = layout.cfg.regions_of(env)
    service = layout.cfg.service
    primary_check, secondary_check = health.failover(
        layout.settings.time_scale, service.health.path, layout.cfg_root, has_database=service.database is not None
    )
    return Balancer(
        f"lb-global-{env}",
        layout.global_lb(env),
        port,
        secondary_check,  # the timings, which both share
        sockets=layout.sockets,
        kind="global",
        upstreams=(layout.lb_port(primary, env), layout.lb_port(secondary, env)),
        primary_expect=primary_check.expect_string,
    )
