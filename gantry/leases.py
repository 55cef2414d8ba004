"""Deploy leases: one deploy at a time per environment, and a journal of what that deploy intends.

A deploy takes its environment's lease before it touches a region and writes its intent (the release, and for
each region the release it served before) into the lease before the first region changes; each region's
progress is written as it happens. So whatever stops a deploy (an error, Ctrl-C, SIGTERM, SIGKILL, a lost
agent), the next command on that environment finds the unfinished intent and knows what to bring back.

A second deploy while the lease is held fails at once, naming the run that holds it. A lease held by a dead
process is taken over: locally the kernel drops the file lock of a dead process; on aws the lease expires
unless its holder renews it. Taking over never discards an unfinished intent of another run: the caller
must recover it first (`gantry recover`).
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from typing import Literal, Protocol

import psutil
from pydantic import BaseModel, ConfigDict, Field

from gantry.errors import GantryError
from gantry.names import EnvironmentName, RegionName
from gantry.runrecord import ReleaseRef

RegionState = Literal["pending", "rolling", "done", "failed", "restored"]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Holder(Model):
    run_id: str
    command: str
    # A repair (the local supervisor replacing a replica) holds a lease for seconds: deploys wait for it.
    repair: bool = False
    pid: int
    pid_started: float
    host: str
    acquired_at: datetime

    @classmethod
    def me(cls, run_id: str, command: str, *, repair: bool = False) -> Holder:
        process = psutil.Process(os.getpid())
        return cls(
            run_id=run_id,
            command=command,
            repair=repair,
            pid=process.pid,
            pid_started=process.create_time(),
            host=socket.gethostname(),
            acquired_at=datetime.now(UTC),
        )

    def describe(self) -> str:
        return f"run {self.run_id} ({self.command}, pid {self.pid} on {self.host}, since {self.acquired_at:%H:%M:%S})"


class RegionIntent(Model):
    region: RegionName
    previous: ReleaseRef | None
    state: RegionState = "pending"
    changed: bool = False


class Intent(Model):
    run_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,220}$")
    env: EnvironmentName
    release: ReleaseRef
    regions: list[RegionIntent]
    state: Literal["open", "finished", "recovered"] = "open"
    started_at: datetime
    updated_at: datetime
    # The approval that admitted the release into a protected target (SignedApproval.digest), so `gantry
    # recover` verifies it again before it rolls forward; None for an unprotected target.
    approval: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    def region(self, name: str) -> RegionIntent:
        for item in self.regions:
            if item.region == name:
                return item
        raise KeyError(name)

    @property
    def open(self) -> bool:
        return self.state == "open"

    def touched(self) -> list[RegionIntent]:
        """Regions this intent changed or may have half-changed."""
        return [r for r in self.regions if r.state in ("rolling", "failed") or r.changed]


class LeaseState(Model):
    env: str
    holder: Holder | None = None
    intent: Intent | None = None
    # Set on the state a new holder finds: the previous holder never released the lease (it was killed).
    abandoned_by: Holder | None = None


class LeaseHeldError(GantryError):
    """Another live process deploys this environment."""


class Lease(Protocol):
    env: str
    holder: Holder
    # What the lease held when this holder took it: the last intent (another run's, if it never finished).
    found: LeaseState

    def save(self, intent: Intent) -> None:
        """Persist the intent (before touching a region, and after each region changes)."""

    def release(self) -> None:
        """Give the lease up; the intent stays for the record."""


class LeaseStore(Protocol):
    def acquire(self, env: str, holder: Holder) -> Lease:
        """Take the lease of `env` or raise LeaseHeldError naming its live holder."""

    def peek(self, env: str) -> LeaseState:
        """The lease as it is now (holder None when free), without taking it."""

    def live_holders(self) -> dict[str, Holder]:
        """env -> holder for every lease a live process holds (for `gantry down`)."""


def held_error(env: str, holder: Holder) -> LeaseHeldError:
    return LeaseHeldError(
        f"{env} is being deployed by {holder.describe()}: wait for it to finish, or stop it "
        "(a stopped deploy rolls back) and retry"
    )


def unfinished_error(env: str, intent: Intent) -> GantryError:
    regions = ", ".join(f"{r.region} {r.state}" for r in intent.regions)
    return GantryError(
        f"{env} has an unfinished deploy of {intent.release.digest[:19]} by run {intent.run_id} ({regions}): "
        f"run `gantry recover --env {env}` to bring every region back to one release"
    )
