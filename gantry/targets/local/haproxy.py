"""HAProxy 2.6 load balancers of the local target: one per region and environment (the ALB listener and its
target group) and a global entry point in front of two regions (the Route 53 failover record).

Each is a plain process (`haproxy -W -S master.sock -f haproxy.cfg`, master-worker) whose files all live in
its own directory under the run directory. Replicas are registered, drained and deregistered through the
runtime API on the worker's stats socket (`level admin`), never by a reload: no connection sees a change. A
configuration change that does need one uses HAProxy's seamless reload (the new worker inherits the
listening sockets; servers added at run time are written into the file first, their state carried over).

HAProxy 2.6 specifics this module works around (measured, see docs/decisions.md): servers added with
`add server` ignore `default-server`, start in maintenance, and would take traffic before any check passed
if simply enabled; so each is enabled at weight 0, forced down, and let in only after `rise` checks pass.
"""

from __future__ import annotations

import contextlib
import csv
import io
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gantry import jsonfile
from gantry.errors import GantryError
from gantry.host import ports, processes
from gantry.paths import private_directory
from gantry.targets.local.health import Check
from gantry.targets.local.render import render

# A regional load balancer has one backend of replicas; the global entry one backend per region, so each has
# its own health check (Route 53 checks each failover record on its own).
BACKENDS = {"region": ("replicas",), "global": ("primary-region", "secondary-region")}


class BalancerError(GantryError):
    """HAProxy refused a command or a configuration, or did not get ready in time."""


@dataclass(frozen=True)
class Server:
    name: str
    port: int
    state: str  # UP, DOWN, DRAIN, MAINT, "UP 1/2" (going down), "DOWN 1/2" (going up), "no check"
    check: str  # last check result: L7OK, L4CON, L7STS, INI...
    sessions: int
    weight: int

    @property
    def up(self) -> bool:
        return self.state == "UP"


def _ms(seconds: float) -> str:
    return f"{max(1, round(seconds * 1000))}ms"


def _binary() -> str:
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(binary).exists():
        raise BalancerError("haproxy is not installed: run `make bootstrap`")
    return binary


def command(sock: Path, line: str, timeout: float = 5.0) -> str:
    """One command line to a stats or master socket; the whole answer. Half-closing the write side makes both
    kinds of socket close after answering (the master CLI would otherwise keep the connection open)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(str(sock))
        conn.sendall(line.encode() + b"\n")
        conn.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


class Balancer:
    def __init__(
        self,
        name: str,
        directory: Path,
        port: int,
        check: Check,
        *,
        sockets: Path,
        kind: Literal["region", "global"] = "region",
        deregistration_delay: float = 0.0,
        upstreams: tuple[int, int] | None = None,
        primary_expect: str | None = None,
        retries: int = 3,
    ) -> None:
        self.name = name
        self.directory = directory
        self.port = port
        self.check = check
        self.kind = kind
        self.backends = BACKENDS[kind]
        self.backend = self.backends[0]  # where `add server` and the other runtime commands act
        self.primary_expect = primary_expect  # global entry: what the primary region's /healthz must contain
        self.deregistration_delay = deregistration_delay
        self.upstreams = upstreams  # global entry: (primary region's port, secondary region's port)
        self.retries = retries
        self.config = directory / "haproxy.cfg"
        # UNIX socket paths are limited to 107 bytes, so they live in a short directory of their own.
        self.admin = sockets / f"{name}.admin.sock"
        self.master = sockets / f"{name}.master.sock"
        self.state_file = directory / "balancer.json"

    # -- configuration ------------------------------------------------------------------------------------
    def server_options(self) -> str:
        """Options of every server line and `add server` (dynamic servers do not inherit default-server)."""
        return (
            f"check inter {_ms(self.check.interval)} rise {self.check.rise} fall {self.check.fall} "
            "on-marked-down shutdown-sessions"
        )

    def render(self, servers: list[tuple[str, int]], metrics_port: int) -> str:
        return render(
            "haproxy.cfg.j2",
            name=self.name,
            kind=self.kind,
            directory=self.directory,
            admin_socket=self.admin,
            port=self.port,
            metrics_port=metrics_port,
            backends=self.backends,
            primary_expect=self.primary_expect,
            check=self.check,
            timeout_check=_ms(self.check.timeout),
            retries=self.retries,
            server_options=self.server_options(),
            servers=servers,
            upstreams=self.upstreams,
        )

    def _write(self, servers: list[tuple[str, int]], metrics_port: int) -> None:
        """Render, check with `haproxy -c`, then replace the live file: a bad config never goes live."""
        self.directory.mkdir(parents=True, exist_ok=True)
        candidate = self.directory / "haproxy.cfg.new"
        candidate.write_text(self.render(servers, metrics_port))
        result = subprocess.run([_binary(), "-c", "-f", str(candidate)], capture_output=True, text=True)
        if result.returncode != 0:
            problem = [
                line.split(" : ", 1)[-1] for line in (result.stderr + result.stdout).splitlines() if "ALERT" in line
            ]
            raise BalancerError(f"generated HAProxy config for {self.name} is invalid: {'; '.join(problem)[:300]}")
        candidate.replace(self.config)

    @property
    def metrics_port(self) -> int:
        port: int = jsonfile.read(self.state_file)["metrics_port"]
        return port

    # -- process ------------------------------------------------------------------------------------------
    def running(self) -> bool:
        return processes.lookup(self.name) is not None

    def start(self, servers: list[tuple[str, int]], setting: str) -> None:
        """Start with `servers` registered (their checks decide when each takes traffic)."""
        ports.require_free(self.port, f"the {self.name} load balancer", setting)
        metrics_port = ports.free_port()
        self._write(servers, metrics_port)
        jsonfile.write_atomic(self.state_file, {"metrics_port": metrics_port, "port": self.port})
        state = self.directory / "servers.state"
        if not state.exists():
            state.write_text("1\n")
        private_directory(self.admin.parent)
        for stale in (self.admin, self.master):
            stale.unlink(missing_ok=True)
        processes.start(
            self.name,
            [_binary(), "-W", "-S", f"{self.master},mode,600", "-f", str(self.config)],
            ready=self._ready,
            timeout=15,
        )

    def _ready(self) -> bool:
        workers = self.workers()
        info = command(self.admin, "show info", timeout=1)
        with socket.create_connection(("127.0.0.1", self.port), timeout=1):
            pass
        return bool(workers) and f"Pid: {workers[-1]}\n" in info

    def workers(self) -> list[int]:
        """Worker pids from the master CLI, the current one last (older ones may still finish requests)."""
        rows = []
        for line in command(self.master, "show proc").splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0].isdigit() and parts[1] == "worker":
                rows.append((int(parts[2]), int(parts[0])))
        return [pid for _, pid in sorted(rows, reverse=True)]

    def reload(self, timeout: float = 15.0) -> None:
        """Seamless reload with the current servers written into the file and their state carried over."""
        current = [(s.name, s.port) for s in self.servers()]
        (self.directory / "servers.state").write_text(command(self.admin, "show servers state"))
        self._write(current, self.metrics_port)
        before = self.workers()
        failed = self._failed_reloads()
        command(self.master, "reload")  # HAProxy 2.6 answers nothing: the master re-executes itself
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if self._failed_reloads() > failed:
                    raise BalancerError(f"{self.name} refused to reload: see {processes.log_path(self.name)}")
                workers = self.workers()
                if workers and workers[-1] not in before and self._ready():
                    return
            time.sleep(0.05)
        raise BalancerError(f"{self.name} did not finish reloading within {timeout:g} s")

    def needs_reload(self) -> bool:
        """True when the running configuration differs from what this code renders (servers aside)."""
        current = [(s.name, s.port) for s in self.servers()]
        return self.config.read_text() != self.render(current, self.metrics_port)

    def _failed_reloads(self) -> int:
        text = command(self.master, "show proc")
        marker = "[failed: "
        start = text.find(marker)
        return int(text[start + len(marker) : text.index("]", start)]) if start >= 0 else 0

    def stop(self) -> None:
        processes.stop(self.name)

    # -- runtime API --------------------------------------------------------------------------------------
    def api(self, line: str) -> str:
        try:
            return command(self.admin, line).strip()
        except OSError as exc:
            raise BalancerError(
                f"the {self.name} load balancer does not answer ({exc.__class__.__name__}): run `gantry up`"
            ) from None

    def _expect(self, line: str, ok: tuple[str, ...] = ("",)) -> None:
        answer = self.api(line)
        if answer not in ok:
            raise BalancerError(f"{self.name}: `{line}` answered {answer!r}")

    def add(self, name: str, port: int) -> None:
        """Register 127.0.0.1:port like an ALB target: it takes traffic once `rise` consecutive checks pass."""
        target = f"{self.backend}/{name}"
        self._expect(f"add server {target} 127.0.0.1:{port} {self.server_options()}", ok=("New server registered.",))
        self._expect(f"set server {target} weight 0")
        self._expect(f"enable health {target}")
        self._expect(f"enable server {target}")
        self._expect(f"set server {target} health down")
        self._expect(f"set server {target} weight 1")

    def wait_up(self, names: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            states = {s.name: s for s in self.servers()}
            if all(states.get(n) and states[n].up for n in names):
                return
            if time.monotonic() >= deadline:
                down = [f"{n} {states[n].state} ({states[n].check})" if n in states else f"{n} gone" for n in names]
                raise BalancerError(f"{self.name}: not healthy after {timeout:g} s: {', '.join(down)}")
            time.sleep(0.05)

    def drain(self, names: list[str]) -> int:
        """No new requests for `names`; wait until their sessions end or the deregistration delay passes.
        Returns the sessions still open when the wait ended."""
        for name in names:
            self._expect(f"set server {self.backend}/{name} state drain")
        deadline = time.monotonic() + self.deregistration_delay
        while True:
            left = sum(s.sessions for s in self.servers() if s.name in names)
            if left == 0 or time.monotonic() >= deadline:
                return left
            time.sleep(0.05)

    def ready(self, names: list[str]) -> None:
        """Undo a drain (a rollout that failed gives the old servers their traffic back)."""
        for name in names:
            self._expect(f"set server {self.backend}/{name} state ready")

    def remove(self, name: str, timeout: float = 5.0) -> None:
        """Maintenance (checks stop), end what is left on it, delete it."""
        target = f"{self.backend}/{name}"
        self._expect(f"set server {target} state maint")
        self._expect(f"shutdown sessions server {target}")
        deadline = time.monotonic() + timeout
        while True:
            answer = self.api(f"del server {target}")
            if answer in ("Server deleted.", "No such server."):
                return
            if time.monotonic() >= deadline:
                raise BalancerError(f"{self.name}: `del server {target}` answered {answer!r}")
            time.sleep(0.05)  # "Server still has connections attached to it, cannot remove it."

    def servers(self) -> list[Server]:
        return [server for backend in self.backends for server in self._servers(backend)]

    def _servers(self, backend: str) -> list[Server]:
        rows = csv.DictReader(io.StringIO(self.api(f"show stat {backend} 4 -1").removeprefix("# ")))
        return [
            Server(
                name=row["svname"],
                port=int(row["addr"].rpartition(":")[2]),
                state=row["status"],
                check=row["check_status"].removeprefix("* "),
                sessions=int(row["scur"] or 0),
                weight=int(row["weight"] or 0),
            )
            for row in rows
            if row.get("svname") not in (None, "BACKEND", "FRONTEND")
        ]
