"""`gantry up` / `down` / `status` for the local target: per region a registry, a bare git repository and
one load balancer (plus its Prometheus exporter) per environment; once, Prometheus, Alertmanager and the
webhook receiver. Every process is recorded by gantry.host.processes; `down` removes all of it."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

from gantry.errors import GantryError
from gantry.host import engine, podman, ports, processes
from gantry.host.engine import CONTAINER_LABEL
from gantry.leases import Holder
from gantry.paths import run_dir, socket_dir
from gantry.targets.base import Component
from gantry.targets.local import balancers, monitoring, rollout
from gantry.targets.local.haproxy import Balancer, BalancerError
from gantry.targets.local.layout import Layout
from gantry.targets.local.leases import FileLeaseStore
from gantry.targets.local.render import render

SUPERVISOR = "supervisor"


def _global_state(balancer: Balancer) -> str:
    """Which region the global entry sends traffic to (Route 53's answer)."""
    if not balancer.running():
        return "stopped"
    try:
        up = {s.name for s in balancer.servers() if s.up}
    except BalancerError:
        return "not answering"
    if "primary" in up:
        return "running: primary region"
    return "running: FAILED OVER to the secondary region" if "secondary" in up else "running: no region healthy"


def _binary(name: str) -> str:
    found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if found is None:
        raise GantryError(f"{name} is not installed: run `make bootstrap`")
    return found


def _http_ok(url: str) -> bool:
    return requests.get(url, timeout=1).status_code < 500


def _check(argv: list[str], what: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise GantryError(f"{what} is invalid: {(result.stderr or result.stdout).strip().splitlines()[-1]}")


def _registry(layout: Layout, region: str) -> None:
    name = f"registry-{region}"
    if processes.lookup(name):
        return
    port = layout.settings.regions[region].registry_port
    ports.require_free(port, f"the {region} registry", f"local.regions.{region}.registry_port")
    directory = layout.registry(region)
    (directory / "data").mkdir(parents=True, exist_ok=True)
    metrics_port = ports.free_port()
    config = directory / "config.yml"
    config.write_text(
        render("registry.yml.j2", region=region, port=port, data_dir=directory / "data", metrics_port=metrics_port)
    )
    processes.start(
        name,
        [_binary("docker-registry"), "serve", str(config)],
        ready=lambda: _http_ok(f"http://127.0.0.1:{port}/v2/"),
        timeout=20,
    )
    monitoring.write_targets(layout, f"registry-{region}", [f"127.0.0.1:{metrics_port}"], {"region": region})


def _source_repo(layout: Layout, region: str) -> None:
    repo = layout.source_repo(region)
    if not (repo / "HEAD").is_file():
        repo.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "--quiet", "--bare", str(repo)], check=True)


def _recorded_replicas(layout: Layout, region: str, env: str) -> list[tuple[str, int]]:
    """The replicas the record says serve `env` in `region` (a restarted load balancer gets them back)."""
    record = rollout.load(layout.release_file(region, env))
    return [(r.name, r.port) for r in record.replicas] if record else []


def _balancer(
    layout: Layout, balancer: Balancer, setting: str, servers: list[tuple[str, int]], labels: dict[str, str]
) -> None:
    if not balancer.running():
        balancer.start(servers, setting)
    elif balancer.needs_reload():
        balancer.reload()  # seamless: the new worker inherits the listening socket
    job = "global" if balancer.kind == "global" else "lb"
    monitoring.write_targets(layout, f"{job}-{balancer.name}", [f"127.0.0.1:{balancer.metrics_port}"], labels)


def _monitoring(layout: Layout) -> None:
    local = layout.settings
    layout.inbox.mkdir(parents=True, exist_ok=True)
    if not processes.lookup("webhook"):
        ports.require_free(local.webhook_port, "the webhook receiver", "local.webhook_port")
        processes.start(
            "webhook",
            [
                sys.executable,
                "-P",  # never import a `gantry` package from the working directory (a checkout of another version)
                "-m",
                "gantry.targets.local.webhook",
                "--port",
                str(local.webhook_port),
                "--dir",
                str(layout.inbox),
            ],
            ready=lambda: _http_ok(f"http://127.0.0.1:{local.webhook_port}/healthz"),
        )
    am = layout.alertmanager
    if not processes.lookup("alertmanager"):
        ports.require_free(local.alertmanager_port, "Alertmanager", "local.alertmanager_port")
        (am / "data").mkdir(parents=True, exist_ok=True)
        (am / "alertmanager.yml").write_text(render("alertmanager.yml.j2", webhook_port=local.webhook_port))
        _check([_binary("amtool"), "check-config", str(am / "alertmanager.yml")], "alertmanager.yml")
        processes.start(
            "alertmanager",
            [
                _binary("prometheus-alertmanager"),
                f"--config.file={am / 'alertmanager.yml'}",
                f"--storage.path={am / 'data'}",
                f"--web.listen-address=127.0.0.1:{local.alertmanager_port}",
                "--cluster.listen-address=",  # a single local instance: no gossip port
            ],
            ready=lambda: _http_ok(f"http://127.0.0.1:{local.alertmanager_port}/-/ready"),
        )
    prom = layout.prometheus
    if not processes.lookup("prometheus"):
        ports.require_free(local.prometheus_port, "Prometheus", "local.prometheus_port")
        (prom / "targets").mkdir(parents=True, exist_ok=True)
        (prom / "data").mkdir(parents=True, exist_ok=True)
        (prom / "rules.yml").write_text(
            render(
                "rules.yml.j2",
                service=layout.cfg.service.name,
                database=layout.cfg.service.database is not None,
                metrics=layout.cfg.service.metrics,
            )
        )
        (prom / "prometheus.yml").write_text(
            render(
                "prometheus.yml.j2",
                dir=prom,
                customer=layout.cfg.customer,
                interval=local.scrape_interval_seconds,
                alertmanager_port=local.alertmanager_port,
                prometheus_port=local.prometheus_port,
            )
        )
        _check([_binary("promtool"), "check", "config", str(prom / "prometheus.yml")], "prometheus.yml")
        processes.start(
            "prometheus",
            [
                _binary("prometheus"),
                f"--config.file={prom / 'prometheus.yml'}",
                f"--storage.tsdb.path={prom / 'data'}",
                f"--web.listen-address=127.0.0.1:{local.prometheus_port}",
                "--storage.tsdb.retention.time=2d",
            ],
            ready=lambda: _http_ok(f"http://127.0.0.1:{local.prometheus_port}/-/ready"),
            timeout=30,
        )


def up(layout: Layout) -> list[Component]:
    """Start whatever is not running yet (idempotent)."""
    layout.root.mkdir(parents=True, exist_ok=True)
    for region in layout.cfg.regions.names:
        _registry(layout, region)
        _source_repo(layout, region)
        for env in layout.lb_envs(region):
            _balancer(
                layout,
                balancers.regional(layout, region, env),
                f"local.regions.{region}.lb_ports.{env}",
                _recorded_replicas(layout, region, env),
                {"region": region, "env": env},
            )
    for env in layout.settings.global_ports:
        _balancer(layout, balancers.global_entry(layout, env), f"local.global_ports.{env}", [], {"env": env})
    _monitoring(layout)
    return status(layout)


def start_supervisor(layout: Layout) -> None:
    """The process that keeps each environment's desired count of healthy replicas (gantry.targets.local.supervisor)."""
    if processes.lookup(SUPERVISOR):
        return
    port = ports.free_port()
    processes.start(
        SUPERVISOR,
        [
            sys.executable,
            "-P",
            "-m",
            "gantry.targets.local.supervisor",
            "--config",
            str(layout.cfg.source),
            "--metrics-port",
            str(port),
        ],
        ready=lambda: _http_ok(f"http://127.0.0.1:{port}/metrics"),
        timeout=30,
    )
    monitoring.write_targets(layout, "supervisor", [f"127.0.0.1:{port}"], {})


def status(layout: Layout) -> list[Component]:
    local = layout.settings
    running = processes.all_running()
    rows: list[Component] = []

    def row(name: str, process: str, address: str) -> None:
        rows.append(Component(name, address, "running" if process in running else "stopped"))

    row("container engine", engine.SERVICE_NAME, f"unix://{engine.podman_socket()}")
    for region in layout.cfg.regions.names:
        row(f"{region} registry", f"registry-{region}", f"http://{layout.registry_host(region)}")
        for env in layout.lb_envs(region):
            balancer = balancers.regional(layout, region, env)
            row(f"{region} {env} load balancer", balancer.name, f"http://127.0.0.1:{balancer.port}")
    for env in layout.settings.global_ports:
        balancer = balancers.global_entry(layout, env)
        rows.append(Component(f"{env} global entry", f"http://127.0.0.1:{balancer.port}", _global_state(balancer)))
    row("replica supervisor", SUPERVISOR, "-")
    row("prometheus", "prometheus", f"http://127.0.0.1:{local.prometheus_port}")
    row("alertmanager", "alertmanager", f"http://127.0.0.1:{local.alertmanager_port}")
    row("webhook receiver", "webhook", f"http://127.0.0.1:{local.webhook_port}")
    return rows


def settle_deploys(leases: FileLeaseStore, *, wait: bool, timeout: float = 300) -> list[str]:
    """Running deploys are waited for (wait=True) or cancelled with SIGTERM, which makes them roll back and
    release their lease; returns what was done. Raises GantryError if one is still running at the timeout."""
    done: list[str] = []
    holders: dict[str, Holder] = leases.live_holders()
    for env, holder in holders.items():
        if not wait:
            with contextlib.suppress(ProcessLookupError):
                os.kill(holder.pid, signal.SIGTERM)
            done.append(f"cancelled the {env} deploy of {holder.describe()}")
        else:
            done.append(f"waited for the {env} deploy of {holder.describe()}")
    deadline = time.monotonic() + timeout
    while holders and time.monotonic() < deadline:
        time.sleep(0.5)
        holders = leases.live_holders()
    if holders:
        env, holder = next(iter(holders.items()))
        raise GantryError(f"the {env} deploy of {holder.describe()} did not stop within {timeout:g} s: stop it first")
    return done


def down(leases: FileLeaseStore, *, wait: bool, before_files: Callable[[], None] | None = None) -> list[str]:
    """Remove every container, process and file this run directory's local target created (`before_files` stops
    what is not a recorded process, the databases, before their files go)."""
    home = run_dir()
    # The supervisor goes first: it would replace the replicas being removed.
    removed = [f"process {SUPERVISOR}"] if processes.stop(SUPERVISOR) else []
    removed += settle_deploys(leases, wait=wait) if leases.root.is_dir() else []
    removed += _remove_containers(str(home))
    for name in sorted(processes.all_running(), key=lambda n: n == engine.SERVICE_NAME):
        if processes.stop(name):
            removed.append(f"process {name}")
    if before_files is not None:
        before_files()
    if home.exists():
        shutil.rmtree(home)
        removed.append(f"directory {home}")
    shutil.rmtree(socket_dir(home), ignore_errors=True)
    return removed


def _remove_containers(home: str, attempts: int = 5) -> list[str]:
    """Every container of this run directory, removed; listed again after each `podman rm`, which can leave one
    (a container mid-start or mid-stop) without saying so, until none is left. GantryError names what stays."""
    binary = shutil.which("podman")
    if binary is None:
        return []
    env = podman.cli_environment()

    def listed() -> list[str]:
        found = subprocess.run(
            [binary, "ps", "-aq", "--filter", f"label={CONTAINER_LABEL}={home}"],
            capture_output=True,
            text=True,
            env=env,
        )
        return found.stdout.split()

    removed: list[str] = []
    ids, problem = listed(), ""
    for _ in range(attempts):
        if not ids:
            break
        removed += [cid for cid in ids if cid not in removed]
        result = subprocess.run([binary, "rm", "-f", "-t", "2", *ids], capture_output=True, text=True, env=env)
        problem = (result.stderr.strip().splitlines() or [""])[-1]
        ids = listed()
        if ids:
            time.sleep(1)
    if ids:
        raise GantryError(
            f"podman did not remove container(s) {', '.join(cid[:12] for cid in ids)} ({problem or 'no error given'}): "
            "run `gantry down` again"
        )
    return [f"container {cid[:12]}" for cid in removed]
