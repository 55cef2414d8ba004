"""Deploy leases on this machine: a kernel file lock per environment (dropped by the kernel when its process
dies, however it dies) and a JSON file beside it with the holder and the deploy's intent."""

from __future__ import annotations

import contextlib
from pathlib import Path

from filelock import FileLock, Timeout

from gantry import jsonfile
from gantry.errors import GantryError
from gantry.leases import Holder, Intent, LeaseHeldError, LeaseState, held_error


class FileLease:
    def __init__(self, path: Path, lock: FileLock, holder: Holder, found: LeaseState) -> None:
        self.env = found.env
        self.holder = holder
        self.found = found
        self._path = path
        self._lock = lock
        self._intent = found.intent

    def save(self, intent: Intent) -> None:
        self._intent = intent
        self._write(self.holder)

    def release(self) -> None:
        if not self._lock.is_locked:
            return
        self._write(None)
        self._lock.release()

    def _write(self, holder: Holder | None) -> None:
        state = LeaseState(env=self.env, holder=holder, intent=self._intent)
        jsonfile.write_atomic(self._path, state.model_dump(mode="json"))


class FileLeaseStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _paths(self, env: str) -> tuple[Path, FileLock]:
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root / f"{env}.json", FileLock(str(self.root / f"{env}.lock"), timeout=0)

    def acquire(self, env: str, holder: Holder) -> FileLease:
        path, lock = self._paths(env)
        try:
            lock.acquire()
        except Timeout:
            state = self.peek(env)
            if state.holder is not None:
                raise held_error(env, state.holder) from None
            raise LeaseHeldError(f"{env} is being deployed by another process: wait for it and retry") from None
        found = self.peek(env)
        # A holder recorded in a lease nobody locks never released it: its process died.
        found = found.model_copy(update={"holder": None, "abandoned_by": found.holder})
        lease = FileLease(path, lock, holder, found)
        lease._write(holder)
        return lease

    def peek(self, env: str) -> LeaseState:
        path = self.root / f"{env}.json"
        if not path.is_file():
            return LeaseState(env=env)
        # Malformed JSON, or fields gantry never writes (a sha that is no commit id): refused, naming the file.
        return jsonfile.load(
            path, LeaseState, fix=f"gantry did not write this {env} lease; nothing was done: inspect it, then remove it"
        )

    def live_holders(self) -> dict[str, Holder]:
        found: dict[str, Holder] = {}
        for path in sorted(self.root.glob("*.json")) if self.root.is_dir() else []:
            env = path.stem
            try:
                state = self.peek(env)
            except GantryError:
                continue  # unreadable: no live holder can be known from it (`gantry down` removes it anyway)
            if state.holder is None:
                continue
            probe = FileLock(str(self.root / f"{env}.lock"), timeout=0)
            try:
                probe.acquire()
            except Timeout:
                found[env] = state.holder  # the lock is held: its holder lives
                continue
            with contextlib.suppress(Exception):
                probe.release()
        return found
