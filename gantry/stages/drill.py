"""`gantry dr drill`: a region fails while clients read and write through the global entry point, as the
service's traffic profile (its contract: gantry.contract.TrafficProfile) says. RTO
and RPO are measured as those clients see them; then the failed region rejoins as the standby and the drill
runs the other way, so the environment ends as it started. One JSON evidence record per drill.

- RTO: from the first failed request after the fault to the first write that succeeds after the last failed
  write (reads are reported on their own: a standby region serves them before the writer moves).
- RPO: writes acknowledged to a client (the profile's status) and missing once the new writer serves, counted and as
  seconds of writes lost (the fault time minus the oldest lost write's acknowledgement).

The target does the failing (the RegionFailover contract); this module only generates load, watches and
measures, so the numbers mean the same on every target.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import requests

from gantry.contract import TrafficCall, TrafficProfile
from gantry.errors import GantryError
from gantry.jsonfile import write_atomic
from gantry.paths import run_dir
from gantry.stages import interrupts
from gantry.stages.deploy import leased
from gantry.stages.progress import stage
from gantry.targets.base import RegionFailover, Target

Mode = Literal["planned", "unplanned"]
# The goals of the DR runbook (docs/runbooks/disaster-recovery.md); a drill that misses one fails.
RTO_GOAL_SECONDS = 10.0
UNPLANNED_RPO_GOAL_SECONDS = 1.0
REQUEST_TIMEOUT = 2.0
SETTLE_SECONDS = 3.0  # writes must succeed this long without a failure for the drill to call it recovered
RECOVERY_TIMEOUT = 90.0


@dataclass(frozen=True)
class Request:
    kind: Literal["read", "write"]
    started: float  # time.monotonic()
    ended: float
    ok: bool
    status: int | None  # None: no HTTP answer (connection refused, reset, timeout)
    key: tuple[str, str] | None = None  # a write's (group, item) in the traffic profile


class Load:
    """Steady reads and writes through one URL from a few threads, every request and acknowledgement kept."""

    def __init__(
        self, url: str, profile: TrafficProfile, *, writers: int = 4, readers: int = 2, pause: float = 0.02
    ) -> None:
        self.url = url.rstrip("/")
        self.profile = profile
        self.writers, self.readers, self.pause = writers, readers, pause
        self.prefix = f"drill-{secrets.token_hex(3)}"
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _call(self, session: requests.Session, method: str, url: str, **kwargs: Any) -> tuple[int | None, float]:
        started = time.monotonic()
        try:
            return session.request(method, url, timeout=REQUEST_TIMEOUT, **kwargs).status_code, started
        except requests.RequestException:
            return None, started

    def _write(self, worker: int) -> None:
        with requests.Session() as session:
            sequence = 0
            call = self.profile.write
            while not self._stop.is_set():
                group, item = self.profile.key(f"{self.prefix}-{worker}", sequence)
                method, path, body = call.render(group, item)
                status, started = self._call(session, method, self.url + path, json=body)
                self._record(Request("write", started, time.monotonic(), status == call.status, status, (group, item)))
                sequence += 1
                time.sleep(self.pause)

    def _read(self, worker: int) -> None:
        with requests.Session() as session:
            call = self.profile.read
            while not self._stop.is_set():
                group, item = self.profile.key(f"{self.prefix}-{worker % max(self.writers, 1)}", 0)
                method, path, body = call.render(group, item)
                status, started = self._call(session, method, self.url + path, json=body)
                self._record(Request("read", started, time.monotonic(), status == call.status, status))
                time.sleep(self.pause)

    def start(self) -> None:
        for index in range(self.writers):
            self._threads.append(threading.Thread(target=self._write, args=(index,), daemon=True))
        for index in range(self.readers):
            self._threads.append(threading.Thread(target=self._read, args=(index,), daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=REQUEST_TIMEOUT + 1)

    def since(self, moment: float) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.ended >= moment]

    def acknowledged(self) -> dict[tuple[str, str], float]:
        with self._lock:
            return {r.key: r.ended for r in self.requests if r.kind == "write" and r.ok and r.key}


@dataclass
class Direction:
    """One failover: the writer moves from `source` to `destination`."""

    mode: Mode
    source: str
    destination: str
    recovered: bool = False
    rto_seconds: float | None = None
    read_rto_seconds: float | None = None
    rpo_writes: int | None = None
    rpo_seconds: float | None = None
    requests: dict[str, int] = field(default_factory=dict)
    replication_under_load: dict[str, Any] = field(default_factory=dict)
    fail_steps: dict[str, Any] = field(default_factory=dict)
    rejoin_steps: dict[str, Any] = field(default_factory=dict)
    goals_met: bool = False
    problems: list[str] = field(default_factory=list)

    def judge(self) -> None:
        if not self.recovered:
            self.problems.append(f"writes did not recover within {RECOVERY_TIMEOUT:g} s")
        if self.rto_seconds is not None and self.rto_seconds > RTO_GOAL_SECONDS:
            self.problems.append(f"RTO {self.rto_seconds:.2f} s is above the {RTO_GOAL_SECONDS:g} s goal")
        if self.mode == "planned" and self.rpo_writes:
            self.problems.append(f"a planned switchover lost {self.rpo_writes} acknowledged write(s)")
        if self.mode == "unplanned" and (self.rpo_seconds or 0) > UNPLANNED_RPO_GOAL_SECONDS:
            self.problems.append(f"RPO {self.rpo_seconds:.2f} s is above the {UNPLANNED_RPO_GOAL_SECONDS:g} s goal")
        self.goals_met = not self.problems


def recovery_time(requests_after: list[Request], kind: Literal["read", "write"]) -> float | None:
    """First failure (of any kind) to the first `kind` success after the last `kind` failure; 0 without a
    failure; None when `kind` never succeeded after failing."""
    failures = [r for r in requests_after if not r.ok]
    if not failures:
        return 0.0
    first_failure = min(r.ended for r in failures)
    own = [r.ended for r in failures if r.kind == kind]
    last_failure = max(own) if own else first_failure
    successes = [r.ended for r in requests_after if r.kind == kind and r.ok and r.started >= last_failure]
    return round(min(successes) - first_failure, 3) if successes else None


def _wait_recovered(load: Load, since: float) -> bool:
    """Writes succeed for SETTLE_SECONDS with no failure, within RECOVERY_TIMEOUT of `since`."""
    while time.monotonic() - since < RECOVERY_TIMEOUT:
        recent = load.since(time.monotonic() - SETTLE_SECONDS)
        writes = [r for r in recent if r.kind == "write"]
        settled = time.monotonic() - since > SETTLE_SECONDS
        if settled and writes and all(r.ok for r in recent) and min(r.started for r in writes) >= since:
            return True
        time.sleep(0.2)
    return False


def lost_writes(
    url: str, profile: TrafficProfile, acknowledged: dict[tuple[str, str], float]
) -> dict[tuple[str, str], float]:
    """The acknowledged writes the service no longer has, its groups read back through `url`."""
    by_group: dict[str, set[str]] = {}
    for group, item in acknowledged:
        by_group.setdefault(group, set()).add(item)
    lost: dict[tuple[str, str], float] = {}
    with requests.Session() as session:
        for group, items in by_group.items():
            reply = _read_back(session, url.rstrip("/"), profile.read, group)
            lost.update({(group, i): acknowledged[(group, i)] for i in items if not profile.found(reply, group, i)})
    return lost


def _read_back(session: requests.Session, url: str, call: TrafficCall, group: str) -> Any:
    method, path, body = call.render(group, "")
    for _ in range(20):
        with contextlib.suppress(requests.RequestException, ValueError):
            response = session.request(method, url + path, json=body, timeout=REQUEST_TIMEOUT)
            if response.status_code == call.status:
                return response.json()
        time.sleep(0.25)
    raise GantryError(f"cannot read {url + path} back after the drill: the RPO is unknown; see `gantry status`")


class DrillRun:
    def __init__(
        self, target: Target, env: str, profile: TrafficProfile, *, writers: int = 4, readers: int = 2
    ) -> None:
        self.target = target
        self.profile = profile
        self.failover: RegionFailover = target.failover()
        self.env = env
        self.writers, self.readers = writers, readers
        url = target.global_endpoint(env)
        if url is None:
            raise GantryError(
                f"{env} has no global entry point: a drill measures through it (see the environment file)"
            )
        self.url = url

    def run(self, modes: list[Mode], admit: Callable[[], None] | None = None) -> dict[str, Any]:
        """The drills of `modes`; `admit` runs once the drill may start (leases held, preflight passed): on a
        protected environment it uses the drill's approval, so a refused drill never spends one."""
        evidence: dict[str, Any] = {
            "kind": "gantry-dr-drill",
            "target": self.target.cfg.target,
            "customer": self.target.cfg.customer,
            "environment": self.env,
            "global_entry": self.url,
            "goals": {
                "rto_seconds": RTO_GOAL_SECONDS,
                "planned_rpo_writes": 0,
                "unplanned_rpo_seconds": UNPLANNED_RPO_GOAL_SECONDS,
            },
            "load": {"writers": self.writers, "readers": self.readers},
            "simulated": self.failover.simulated(),
            "started_at": datetime.now(UTC).isoformat(),
            "drills": [],
        }
        self._preflight()  # a drill that cannot start is refused before it takes (and so writes) any lease
        with self._leases():
            self._preflight()  # again under the leases: nothing changed the regions in between
            if admit is not None:
                admit()
            for mode in modes:
                for _ in range(2):  # fail the writer's region, rejoin it, then the same the other way
                    direction = self._direction(mode)
                    evidence["drills"].append(asdict(direction))
                    if not direction.recovered:
                        break
        evidence["finished_at"] = datetime.now(UTC).isoformat()
        evidence["ok"] = bool(evidence["drills"]) and all(d["goals_met"] for d in evidence["drills"])
        return evidence

    def _preflight(self) -> None:
        problems = self.failover.preflight(self.env)
        if problems:
            raise GantryError(f"the drill cannot start: {'; '.join(problems)}")

    @contextlib.contextmanager
    def _leases(self) -> Iterator[None]:
        """Every environment's lease: no deploy, rollback or replica repair acts while regions are failed."""
        run_id = f"dr-drill-{secrets.token_hex(3)}"
        with contextlib.ExitStack() as stack:
            for env in self.target.cfg.environments:
                stack.enter_context(leased(self.target, env, run_id, f"dr drill ({self.env})"))
            yield

    def _direction(self, mode: Mode) -> Direction:
        source = self.failover.writer()
        destination = next(r for r in self.target.cfg.regions_of(self.env) if r != source)
        direction = Direction(mode, source, destination)
        load = Load(self.url, self.profile, writers=self.writers, readers=self.readers)
        with stage(f"dr {mode} {source} → {destination}", None) as step:
            load.start()
            failed = False
            try:
                time.sleep(2.0)  # steady load before the fault
                direction.replication_under_load = self.failover.replication()
                fault_at = time.monotonic()
                failed = True
                direction.fail_steps = self.failover.fail(self.env, source, planned=mode == "planned", note=step.note)
                step.note("waiting until writes succeed through the global entry")
                direction.recovered = _wait_recovered(load, fault_at)
            finally:
                load.stop()
                if failed:
                    with interrupts.shielded():  # a region left failed is worse than a late Ctrl-C
                        direction.rejoin_steps = self.failover.rejoin(self.env, source, note=step.note)
            after = load.since(fault_at)
            direction.rto_seconds = recovery_time(after, "write")
            direction.read_rto_seconds = recovery_time(after, "read")
            direction.requests = {
                "total": len(load.requests),
                "during_drill": len(after),
                "failed": sum(not r.ok for r in after),
                "failed_writes": sum(not r.ok for r in after if r.kind == "write"),
                "failed_reads": sum(not r.ok for r in after if r.kind == "read"),
            }
            step.note("reading every acknowledged write back")
            acknowledged = load.acknowledged()
            lost = lost_writes(self.url, self.profile, acknowledged)
            direction.rpo_writes = len(lost)
            direction.rpo_seconds = round(max(0.0, fault_at - min(lost.values())), 3) if lost else 0.0
            direction.requests["acknowledged_writes"] = len(acknowledged)
            direction.judge()
            step.detail = (
                f"RTO {direction.rto_seconds} s, RPO {direction.rpo_writes} write(s) / {direction.rpo_seconds} s, "
                f"{direction.requests['failed']} of {direction.requests['during_drill']} requests failed"
            )
        return direction


def write_evidence(evidence: dict[str, Any], path: Path | None = None) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path or run_dir() / "dr" / f"drill-{evidence['customer']}-{evidence['environment']}-{stamp}.json"
    write_atomic(target, evidence)
    return target
