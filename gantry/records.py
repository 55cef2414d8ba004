"""Durable, create-only records (approvals, staging passes) behind one small interface.

The local target keeps them as files under the run directory; the aws target keeps them as encrypted SSM
parameters. Records are never overwritten, so an approval cannot be lost or silently replaced.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Protocol

from gantry import jsonfile

KEY = re.compile(r"[A-Za-z0-9_.:-]{1,200}")
# Releases that reached steady state on a target: what a rollback may return to (gantry.stages.approval).
RELEASES = "releases"


def release_prefix(identity: str) -> str:
    return hashlib.sha256(identity.encode()).hexdigest()[:16] + "--"


def release_key(identity: str, digest: str) -> str:
    return release_prefix(identity) + digest.replace(":", "-")


class RecordStore(Protocol):
    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        """The record, or None when there is none."""

    def create(self, kind: str, key: str, value: dict[str, Any]) -> bool:
        """Store `value` unless a record already exists; True when this call created it."""

    def find(self, kind: str, prefix: str) -> list[dict[str, Any]]:
        """Every record of `kind` whose key starts with `prefix` (oldest first where the store knows)."""


def check_key(kind: str, key: str) -> None:
    if not KEY.fullmatch(kind) or not KEY.fullmatch(key):
        raise ValueError(f"invalid record name {kind}/{key}")


class FileRecordStore:
    """Records as JSON files: <root>/<kind>/<key>.json."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, kind: str, key: str) -> Path:
        check_key(kind, key)
        return self.root / kind / f"{key.replace(':', '-')}.json"

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        path = self._path(kind, key)
        if not path.is_file():
            return None
        value = jsonfile.read(path)
        if not isinstance(value, dict):
            raise jsonfile.CorruptState(f"{path} is not a {kind} record (not a JSON object): {jsonfile.SET_ASIDE}")
        return value

    def create(self, kind: str, key: str, value: dict[str, Any]) -> bool:
        return jsonfile.create_once(self._path(kind, key), value)

    def find(self, kind: str, prefix: str) -> list[dict[str, Any]]:
        check_key(kind, prefix or "-")
        directory = self.root / kind
        if not directory.is_dir():
            return []
        stem = prefix.replace(":", "-")
        paths = sorted(
            (p for p in directory.glob("*.json") if p.name.startswith(stem)), key=lambda p: p.stat().st_mtime
        )
        found: list[dict[str, Any]] = [jsonfile.read(p) for p in paths]
        return found
