"""VPC address plan: the two regions of an environment, and every environment, use disjoint ranges.

Peering refuses overlapping VPCs, and a customer's environments may be peered or reached over VPN later,
so ranges are kept unique across the whole repository, not only inside one environment.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from gantry.errors import ConfigError

PRIVATE_RANGES = tuple(ipaddress.IPv4Network(block) for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
MIN_PREFIX = 16
MAX_PREFIX = 24


@dataclass(frozen=True)
class Allocation:
    """A CIDR already used by an existing environment, and where it was found."""

    network: ipaddress.IPv4Network
    owner: str


def parse(flag: str, text: str) -> ipaddress.IPv4Network:
    try:
        network = ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        raise ConfigError(f"{flag} '{text}' is not an IPv4 CIDR: pass e.g. 10.40.0.0/16") from None
    if str(network) != text:
        raise ConfigError(f"{flag} '{text}' has host bits set: did you mean {network}?")
    if not MIN_PREFIX <= network.prefixlen <= MAX_PREFIX:
        raise ConfigError(f"{flag} '{text}': the prefix must be between /{MIN_PREFIX} and /{MAX_PREFIX}")
    if not any(network.subnet_of(block) for block in PRIVATE_RANGES):
        raise ConfigError(f"{flag} '{text}' is not a private (RFC 1918) range: use 10.x, 172.16-31.x or 192.168.x")
    return network


def next_block(network: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
    """The block of the same size right after `network`, if it is still private."""
    start = int(network.network_address) + network.num_addresses
    following = ipaddress.IPv4Network((start, network.prefixlen))
    if not any(following.subnet_of(block) for block in PRIVATE_RANGES):
        raise ConfigError(f"no private block follows {network}: pass --secondary-cidr explicitly")
    return following


def first_conflict(network: ipaddress.IPv4Network, allocations: Iterable[Allocation]) -> Allocation | None:
    return next((a for a in allocations if a.network.overlaps(network)), None)


def suggest_pair(prefix: int, allocations: list[Allocation]) -> str:
    """Two adjacent free blocks of the given size inside 10.0.0.0/8, for the error message."""
    for candidate in ipaddress.IPv4Network("10.0.0.0/8").subnets(new_prefix=prefix - 1):
        halves = list(candidate.subnets(new_prefix=prefix))
        if all(first_conflict(half, allocations) is None for half in halves):
            return f"--cidr {halves[0]} (secondary {halves[1]})"
    return "a range in 172.16.0.0/12"


def plan(
    primary_text: str, secondary_text: str | None, allocations: list[Allocation]
) -> tuple[ipaddress.IPv4Network, ipaddress.IPv4Network]:
    """Validate the primary and secondary VPC ranges against each other and every existing one."""
    primary = parse("--cidr", primary_text)
    secondary = parse("--secondary-cidr", secondary_text) if secondary_text else next_block(primary)
    if primary.overlaps(secondary):
        raise ConfigError(
            f"primary {primary} and secondary {secondary} overlap: peered regions need disjoint ranges, "
            f"e.g. --secondary-cidr {next_block(primary)}"
        )
    for role, network in (("primary", primary), ("secondary", secondary)):
        clash = first_conflict(network, allocations)
        if clash is not None:
            raise ConfigError(
                f"{role} range {network} overlaps {clash.network} of {clash.owner}: "
                f"choose a free range, e.g. {suggest_pair(primary.prefixlen, allocations)}"
            )
    return primary, secondary
