"""Helpers for the local-target integration tests: a clone of this repository, its own run directory, its own
ports and its own podman API service (sharing the checkout's image store), all driven through the real
`gantry` CLI. Each test module picks a port base (PORT_BASE = 25000, 26000...), so modules never collide."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

from gantry.host import podman, sshsig

ROOT = Path(__file__).resolve().parents[2]
GANTRY = ROOT / ".venv" / "bin" / "gantry"


def ports_for(base: int) -> dict[str, Any]:
    return {
        "registries": (base + 1, base + 2),
        "staging": base + 81,
        "production": (base + 80, base + 90),
        "global": base + 100,
        "prometheus": base + 190,
        "alertmanager": base + 193,
        "webhook": base + 195,
        "databases": (base + 300, base + 301),
    }


PORTS = ports_for(25000)  # tests/local/test_pipeline.py's
APPROVERS = ("alice@example.com", "bob@example.com")
ALICE, BOB, MALLORY = "alice@example.com", "bob@example.com", "mallory@example.com"


@dataclass
class Stack:
    repo: Path
    home: Path
    config: Path
    env: dict[str, str]
    ports: dict[str, Any]
    keys: dict[str, Path]

    def signer(self, who: str) -> list[str]:
        """`--approver WHO --key KEY` for a test approver (alice@example.com, bob@example.com, mallory...)."""
        return ["--approver", who, "--key", str(self.keys[who])]

    def approves(self, who: str) -> list[str]:
        """`gantry approve`'s signing options for `who`, answering its question with --yes."""
        return [*self.signer(who), "--yes"]

    def gantry(
        self, *args: str, ok: bool = True, config: Path | None = None, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(GANTRY), "--config", str(config or self.config), *args],
            cwd=self.repo,
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=900,
        )
        if ok and result.returncode != 0:
            raise AssertionError(f"gantry {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
        return result

    def start(self, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """`gantry <args>` in the background (its own process group), for tests that interrupt it."""
        return subprocess.Popen(
            [str(GANTRY), "--config", str(self.config), *args],
            cwd=self.repo,
            env={**self.env, **(extra_env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def commit(self, path: str, text: str, message: str) -> str:
        (self.repo / path).write_text(text)
        subprocess.run(["git", "-C", str(self.repo), "commit", "-qam", message], check=True)
        return subprocess.run(
            ["git", "-C", str(self.repo), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
        ).stdout.strip()

    def new_commit(self, tag: str) -> str:
        """A new commit touching the service, so the next build makes a new image."""
        package = self.repo / "services/cart/cart/__init__.py"
        return self.commit("services/cart/cart/__init__.py", package.read_text() + f"# {tag}\n", tag)

    def serving(self, port: int) -> str:
        digest: str = requests.get(f"http://127.0.0.1:{port}/version", timeout=5).json()["digest"]
        return digest

    def production(self) -> tuple[str, str]:
        east, west = self.ports["production"]
        return self.serving(east), self.serving(west)

    def run_record(self, run_id: str | None = None) -> dict[str, Any]:
        args = ["run", "show", *(["--run-id", run_id] if run_id else [])]
        record: dict[str, Any] = json.loads(self.gantry(*args).stdout)
        return record

    def kill(self, process: str) -> None:
        entry = json.loads((self.home / "processes.json").read_text())[process]
        os.kill(entry["pid"], signal.SIGKILL)

    def lease(self, env: str) -> dict[str, Any]:
        path = self.home / "leases" / f"{env}.json"
        state: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
        return state

    def containers(self, **labels: str) -> list[str]:
        filters = [f"--filter=label=gantry.home={self.home}"] + [
            f"--filter=label=gantry.{key}={value}" for key, value in labels.items()
        ]
        found = subprocess.run(
            ["podman", "ps", "-q", *filters], capture_output=True, text=True, env=self.env, check=True
        )
        return found.stdout.split()

    def with_changes(self, name: str, **approvals: float) -> Path:
        data = yaml.safe_load(self.config.read_text())
        data["approvals"].update(approvals)
        path = self.config.with_name(name)
        path.write_text(yaml.safe_dump(data))
        return path

    def notifications(self) -> list[dict[str, Any]]:
        inbox = self.home / "monitoring/inbox/notifications.jsonl"
        lines = inbox.read_text().splitlines() if inbox.is_file() else []
        return [json.loads(line)["body"] for line in lines]


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (OSError, ValueError, KeyError, requests.RequestException):
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def make_stack(base: Path, ports: dict[str, Any]) -> Stack:
    """A clone of this repository with its own environment file, run directory and ports."""
    repo = base / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    for key, value in (("user.email", "ci@gantry.invalid"), ("user.name", "gantry tests")):
        subprocess.run(["git", "-C", str(repo), "config", key, value], check=True)
    data = yaml.safe_load((ROOT / "environments/example/local.yaml").read_text())
    data["local"]["regions"] = {
        "us-east-1": {
            "registry_port": ports["registries"][0],
            "lb_ports": {"staging": ports["staging"], "production": ports["production"][0]},
            "database_port": ports["databases"][0],
        },
        "us-west-2": {
            "registry_port": ports["registries"][1],
            "lb_ports": {"production": ports["production"][1]},
            "database_port": ports["databases"][1],
        },
    }
    data["local"].update(
        prometheus_port=ports["prometheus"],
        alertmanager_port=ports["alertmanager"],
        webhook_port=ports["webhook"],
        global_ports={"production": ports["global"]},
        health_timeout_seconds=45,
    )
    data["notifications"]["webhook_urls"] = [f"http://127.0.0.1:{ports['webhook']}/pipeline"]
    # Test approvers with keys of their own; mallory has a key but is not listed.
    keys = {who: base / "keys" / who.split("@")[0] for who in (*APPROVERS, MALLORY)}
    for who, key in keys.items():
        sshsig.generate(key, who)
    # The approvers' list lives in the checkout (configured paths may not leave it), untracked so the tree is clean.
    (repo / ".git" / "info" / "exclude").write_text("/test_allowed_signers\n")
    (repo / "test_allowed_signers").write_text(
        "".join(sshsig.allowed_signer_line(w, keys[w].with_name(keys[w].name + ".pub").read_text()) for w in APPROVERS)
    )
    data["approvals"].update(allowed_signers="test_allowed_signers", demo_signer=None)
    config = base / "env.yaml"
    config.write_text(yaml.safe_dump(data))
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GANTRY_", "DOCKER_HOST"))}
    env.update(
        GANTRY_ROOT=str(repo),
        GANTRY_HOME=str(base / "home"),
        # The checkout's cache and image store: the base image and layers are made once for every suite.
        GANTRY_CACHE=str(ROOT / ".cache"),
        **podman.environment(),
    )
    return Stack(repo, base / "home", config, env, ports, keys)


def outcome(proc: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    """`proc`'s output once it exits and its pipes close. When that takes longer than `timeout` the test fails
    with what held it: gantry's own threads' stacks (it prints them on SIGUSR1) while it still runs, else the
    processes it started that still hold its output pipes."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    if proc.poll() is None:
        proc.send_signal(signal.SIGUSR1)
        time.sleep(2)
        proc.kill()
        _, stderr = proc.communicate(timeout=30)
        raise AssertionError(f"gantry still ran after {timeout:.0f} s; its stacks:\n{stderr[-6000:]}")
    pipe = str(Path(f"/proc/self/fd/{proc.stderr.fileno()}").readlink()) if proc.stderr else "?"
    holders = []
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            if any(str(fd.readlink()) == pipe for fd in fd_dir.iterdir()):
                holders.append((fd_dir.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:200])
        except OSError:
            continue
    raise AssertionError(f"gantry exited ({proc.returncode}) but these hold its output {pipe}: {holders}")
