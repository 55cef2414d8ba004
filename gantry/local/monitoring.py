"""Prometheus file_sd target lists: gantry rewrites them as replicas come and go."""

from __future__ import annotations

from gantry import jsonfile
from gantry.local.layout import Layout


def write_targets(layout: Layout, name: str, addresses: list[str], labels: dict[str, str]) -> None:
    groups = [{"targets": addresses, "labels": labels}] if addresses else []
    jsonfile.write_atomic(layout.targets_file(name), groups)
