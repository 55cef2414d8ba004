"""What the local-target benchmarks (scripts/bench-*.py) share: the running stack they measure, HTTP load of three
kinds with every request kept, and the printed summary (a table, then one JSON line). Benchmarks print numbers;
none asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import requests
from rich.console import Console
from rich.table import Table

from gantry.config import config_path, load_config
from gantry.contract import TrafficProfile
from gantry.errors import GantryError
from gantry.host import podman
from gantry.paths import cache_dir, run_dir
from gantry.stages.drill import lost_writes
from gantry.targets.base import Release
from gantry.targets.local import webhook
from gantry.targets.local.target import LocalTarget

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("GANTRY_ROOT", str(ROOT))  # gantry resolves its paths at each call: this checkout's

GANTRY = Path(sys.executable).with_name("gantry")  # the virtualenv running this script
DEFAULT_CONFIG = "environments/example/local.yaml"
Kind = Literal["get-keepalive", "get-new-connection", "post-keepalive"]
KINDS: tuple[Kind, ...] = ("get-keepalive", "get-new-connection", "post-keepalive")
REQUEST_TIMEOUT = 5.0


def parser(description: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=os.environ.get("GANTRY_CONFIG", DEFAULT_CONFIG), help="environment file")
    return parser


def log(text: str) -> None:
    """Progress goes to stderr: stdout holds only the summary and its JSON line."""
    print(f"{time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Command:
    args: tuple[str, ...]
    seconds: float
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def summary(self) -> dict[str, Any]:
        return {"command": "gantry " + " ".join(self.args), "seconds": round(self.seconds, 2), "ok": self.ok}


class Stack:
    """The running local stack of one environment file, driven through the `gantry` CLI like an operator."""

    def __init__(self, config: str) -> None:
        self.config = config_path(config)
        self.cfg = load_config(str(self.config))
        if self.cfg.target != "local":
            raise SystemExit(f"{self.config}: the benchmarks measure the local target, not {self.cfg.target!r}")
        self.target = LocalTarget(self.cfg)
        traffic = self.cfg.service.traffic
        if traffic is None:
            raise SystemExit(f"{self.cfg.service.file}: the benchmarks drive the service's traffic profile: add one")
        self.traffic: TrafficProfile = traffic
        # Every child sees this checkout's run directory, cache and podman files, whatever its GANTRY_ROOT.
        self.env = {
            **os.environ,
            "GANTRY_ROOT": str(ROOT),
            "GANTRY_HOME": str(run_dir()),
            "GANTRY_CACHE": str(cache_dir()),
            **podman.environment(),
        }

    def gantry(self, *args: str, run_id: str | None = None, root: Path | None = None) -> Command:
        env = {**self.env, **({"GANTRY_RUN_ID": run_id} if run_id else {})}
        if root is not None:
            env["GANTRY_ROOT"] = str(root)
        log(f"gantry {' '.join(args)}")
        started = time.monotonic()
        done = subprocess.run(
            [str(GANTRY), "--config", str(self.config), *args],
            cwd=root or ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        command = Command(args, time.monotonic() - started, done.returncode, done.stdout + done.stderr)
        log(f"  {'ok' if command.ok else f'FAILED ({done.returncode})'} after {command.seconds:.1f} s")
        if not command.ok:
            print(command.output[-3000:], file=sys.stderr)
        return command

    def urls(self, env: str = "production") -> dict[str, str]:
        """Each region's load balancer, and the global entry as "global"."""
        urls = {region: self.target.endpoint(env, region) for region in self.cfg.regions_of(env)}
        if entry := self.target.global_endpoint(env):
            urls["global"] = entry
        return urls

    def global_url(self, env: str = "production") -> str:
        entry = self.target.global_endpoint(env)
        if entry is None:
            raise SystemExit(f"{env} has no global entry point (local.global_ports.{env})")
        return entry

    def writer(self) -> str:
        return self.target.failover().writer()

    def releases(self, env: str) -> dict[str, Release | None]:
        return {region: self.target.current_release(env, region) for region in self.cfg.regions_of(env)}

    def problems(self, env: str = "production") -> list[str]:
        """Why the stack is not in `make demo`'s state (one release in every region of `env`, all healthy)."""
        problems = self.target.failover().preflight(env)
        return [f"{p} (run `make demo` first)" for p in problems]

    def alerts(self, since: float) -> list[dict[str, Any]]:
        """The alerts that reached the webhook inbox firing since `since` (wall clock), oldest first."""
        found = webhook.received(self.target.layout.inbox, "/alertmanager")
        return [a for a in found if a["status"] == "firing" and a["received_at"] >= since]

    def wait_healthy(self, env: str = "production", timeout: float = 120) -> None:
        """Until every region of `env` has its desired count in service."""
        regions = self.cfg.regions_of(env)
        if wait_until(lambda: all(self.target.health(env, r).ok for r in regions), timeout, 0.2) is None:
            raise SystemExit(f"{env} is not healthy after {timeout:g} s: see `gantry status`")


# -- load ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    kind: Kind
    via: str  # the entry point: a region's load balancer, or "global"
    started: float  # time.monotonic()
    seconds: float
    error: str | None  # None: a 2xx answer; else "HTTP 503", "ConnectionError: ...", "ReadTimeout: ..."
    key: tuple[str, str] | None = None  # an acknowledged write's (cart, sku)

    @property
    def ok(self) -> bool:
        return self.error is None


class Traffic:
    """Closed-loop clients, `clients` threads per kind and entry point, every request kept: GETs over a keep-alive
    session, GETs on a new connection each (`Connection: close`), and the profile's writes over keep-alive
    (only through `writable` entry points: a standby region refuses writes by design)."""

    def __init__(
        self, urls: dict[str, str], writable: Iterable[str], profile: TrafficProfile, *, clients: int = 1
    ) -> None:
        self.urls = urls
        self.profile = profile
        self.writable = set(writable)
        self.clients = clients
        self.prefix = f"bench-{secrets.token_hex(3)}"
        self.samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> Traffic:
        for via in self.urls:
            for kind in KINDS:
                if kind == "post-keepalive" and via not in self.writable:
                    continue
                for index in range(self.clients):
                    self._threads.append(threading.Thread(target=self._client, args=(kind, via, index), daemon=True))
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=REQUEST_TIMEOUT + 1)

    def _client(self, kind: Kind, via: str, index: int) -> None:
        base = self.urls[via]
        with requests.Session() as session:
            if kind == "get-new-connection":
                session.headers["Connection"] = "close"
            sequence = 0
            while not self._stop.is_set():
                key = None
                started = time.monotonic()
                try:
                    if kind == "post-keepalive":
                        key = self.profile.key(f"{self.prefix}-{via}-{index}", sequence)
                        method, path, body = self.profile.write.render(*key)
                    else:
                        method, path, body = self.profile.read.render(f"{self.prefix}-read", "")
                    response = session.request(method, base + path, json=body, timeout=REQUEST_TIMEOUT)
                    error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
                except requests.RequestException as exc:
                    error = f"{type(exc).__name__}: {str(exc)[:90]}"
                sample = Sample(kind, via, started, time.monotonic() - started, error, key if error is None else None)
                with self._lock:
                    self.samples.append(sample)
                sequence += 1

    def count_since(self, moment: float) -> int:
        with self._lock:
            return sum(1 for s in self.samples if s.started >= moment)

    def between(self, start: float, end: float) -> list[Sample]:
        with self._lock:
            return [s for s in self.samples if start <= s.started <= end]


def lost(url: str, profile: TrafficProfile, samples: Iterable[Sample]) -> tuple[int, int]:
    """(acknowledged writes, of those missing when read back through `url`)."""
    acknowledged = {s.key: s.started for s in samples if s.key is not None}
    return len(acknowledged), len(lost_writes(url, profile, acknowledged))


@dataclass
class Phase:
    """Load through every entry point while gantry commands run one after another."""

    name: str
    commands: list[Command]
    samples: list[Sample]  # those that started while the commands ran
    seconds: float
    acknowledged: int
    lost: int
    alerts: dict[str, int]  # the alerts that fired meanwhile (webhook inbox)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.commands)


def measured(
    stack: Stack,
    name: str,
    first: Sequence[str],
    repeat: Sequence[Sequence[str]] = (),
    *,
    min_requests: int = 0,
    clients: int = 1,
    run_id: str | None = None,
) -> Phase:
    """Run `gantry first`, then the `repeat` group as often as it takes for `min_requests` requests to start
    while commands run, under load of every kind through each production load balancer and the global entry;
    then read every acknowledged write back through the global entry."""
    writable = {stack.writer(), "global"}
    with Traffic(stack.urls(), writable, stack.traffic, clients=clients) as traffic:
        time.sleep(1.0)  # steady load before the first command
        wall, start = time.time(), time.monotonic()
        commands = [stack.gantry(*first, run_id=run_id)]
        while commands[-1].ok and traffic.count_since(start) < min_requests:
            for args in repeat:
                commands.append(stack.gantry(*args, run_id=run_id))
                if not commands[-1].ok:
                    break
            log(f"  {name}: {traffic.count_since(start)} requests so far")
        end = time.monotonic()
        time.sleep(1.0)
    acknowledged, missing = lost(stack.global_url(), stack.traffic, traffic.samples)
    alerts = Counter(a["alertname"] for a in stack.alerts(wall))
    return Phase(name, commands, traffic.between(start, end), end - start, acknowledged, missing, dict(alerts))


def add_phases(report: Report, phases: Sequence[Phase]) -> None:
    """The per-phase and per-kind tables, and the same numbers under report.data["phases"]."""
    columns = ("phase", "gantry commands", "seconds", "requests", "failed", "acked writes", "lost", "alerts fired")
    overview = report.table("phases", *columns)
    kinds = report.table("requests per phase and kind", "phase", "kind", "requests", "failed", "p50 ms", "p99 ms")
    failures = report.table("failed requests", "phase", "kind", "what (via)", "count")
    report.data["phases"] = {}
    for phase in phases:
        rows = by_kind(phase.samples)
        failed = sum(row["failed"] for row in rows.values())
        commands = Counter(" ".join(c.args) + ("" if c.ok else " (FAILED)") for c in phase.commands)
        overview.add_row(
            phase.name,
            "\n".join(f"{count} x {args}" for args, count in commands.items()),
            f"{phase.seconds:.1f}",
            str(len(phase.samples)),
            str(failed),
            str(phase.acknowledged),
            str(phase.lost),
            ", ".join(f"{name} x{count}" for name, count in phase.alerts.items()) or "none",
        )
        for kind, row in rows.items():
            kinds.add_row(
                phase.name, kind, str(row["requests"]), str(row["failed"]), cell(row["p50_ms"]), cell(row["p99_ms"])
            )
            for what, count in row["errors"].items():
                failures.add_row(phase.name, kind, what, str(count))
        report.data["phases"][phase.name] = {
            "commands": [c.summary() for c in phase.commands],
            "seconds": round(phase.seconds, 2),
            "requests": len(phase.samples),
            "failed": failed,
            "acknowledged_writes": phase.acknowledged,
            "lost_writes": phase.lost,
            "alerts_fired": phase.alerts,
            "kinds": rows,
        }
    if not failures.row_count:
        report.tables.remove(failures)


# -- summary ------------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of `values`, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def by_kind(samples: Sequence[Sample]) -> dict[str, dict[str, Any]]:
    """Per kind: requests, failed, p50/p99 latency (ms) and what the failures were (per entry point)."""
    rows: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        mine = [s for s in samples if s.kind == kind]
        if not mine:
            continue
        latencies = [s.seconds for s in mine]
        errors = Counter(f"{s.error} via {s.via}" for s in mine if not s.ok)
        rows[kind] = {
            "requests": len(mine),
            "failed": sum(errors.values()),
            "p50_ms": ms(percentile(latencies, 50)),
            "p99_ms": ms(percentile(latencies, 99)),
            "errors": dict(errors),
            "via": sorted({s.via for s in mine}),
        }
    return rows


@dataclass
class Report:
    """One summary table per section, printed together, then every number as one JSON line."""

    title: str
    console: Console = field(default_factory=lambda: Console(width=None if sys.stdout.isatty() else 140))
    tables: list[Table] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def table(self, title: str, *columns: str) -> Table:
        table = Table(*columns, title=title)
        self.tables.append(table)
        return table

    def print(self) -> None:
        self.console.print(f"[bold]{self.title}[/bold]")
        for table in self.tables:
            self.console.print(table)
        print(json.dumps(self.data, sort_keys=True), flush=True)


def cell(value: object) -> str:
    return "-" if value is None else str(value)


def machine() -> dict[str, Any]:
    load1, _, _ = os.getloadavg()
    return {"cpus": os.cpu_count(), "load_average_1m_at_start": round(load1, 2)}


def wait_until(condition: Callable[[], object], timeout: float, interval: float = 0.05) -> float | None:
    """The time.monotonic() at which `condition()` was first true (an exception counts as false), None when it
    was not within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return time.monotonic()
        except (OSError, ValueError, KeyError, requests.RequestException, GantryError):
            pass
        time.sleep(interval)
    return None
