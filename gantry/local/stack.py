"""`gantry up` / `down` / `status` for the local target: per region a registry, a bare git repository and
one nginx (plus its Prometheus exporter) per environment; once, Prometheus, Alertmanager and the webhook
receiver. Every process is recorded by gantry.local.processes; `down` removes all of it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import requests

from gantry import engine
from gantry.config import GantryConfig
from gantry.errors import GantryError
from gantry.local import monitoring, nginx, processes
from gantry.local.layout import Layout
from gantry.local.render import render
from gantry.paths import run_dir

CONTAINER_LABEL = "gantry.home"


@dataclass(frozen=True)
class Component:
    name: str
    address: str
    state: str


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
    port = layout.cfg.local_settings.regions[region].registry_port
    processes.require_free(port, f"the {region} registry", f"local.regions.{region}.registry_port")
    directory = layout.registry(region)
    (directory / "data").mkdir(parents=True, exist_ok=True)
    metrics_port = processes.free_port()
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


def _load_balancer(layout: Layout, region: str, env: str, upstreams: list[int]) -> None:
    nginx.start(layout, region, env, upstreams)
    name = f"lb-exporter-{region}-{env}"
    if processes.lookup(name):
        return
    port = processes.free_port()
    lb_port = layout.lb_port(region, env)
    processes.start(
        name,
        [
            _binary("prometheus-nginx-exporter"),
            f"-nginx.scrape-uri=http://127.0.0.1:{lb_port}/nginx_status",
            f"-web.listen-address=127.0.0.1:{port}",
        ],
        ready=lambda: _http_ok(f"http://127.0.0.1:{port}/metrics"),
        timeout=20,
    )
    monitoring.write_targets(layout, f"lb-{region}-{env}", [f"127.0.0.1:{port}"], {"region": region, "env": env})


def _monitoring(layout: Layout) -> None:
    local = layout.cfg.local_settings
    layout.inbox.mkdir(parents=True, exist_ok=True)
    if not processes.lookup("webhook"):
        processes.require_free(local.webhook_port, "the webhook receiver", "local.webhook_port")
        processes.start(
            "webhook",
            [
                sys.executable,
                "-m",
                "gantry.local.webhook",
                "--port",
                str(local.webhook_port),
                "--dir",
                str(layout.inbox),
            ],
            ready=lambda: _http_ok(f"http://127.0.0.1:{local.webhook_port}/healthz"),
        )
    am = layout.alertmanager
    if not processes.lookup("alertmanager"):
        processes.require_free(local.alertmanager_port, "Alertmanager", "local.alertmanager_port")
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
        processes.require_free(local.prometheus_port, "Prometheus", "local.prometheus_port")
        (prom / "targets").mkdir(parents=True, exist_ok=True)
        (prom / "data").mkdir(parents=True, exist_ok=True)
        (prom / "rules.yml").write_text(render("rules.yml.j2", service=layout.cfg.service.name))
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


def up(cfg: GantryConfig, upstreams: dict[tuple[str, str], list[int]] | None = None) -> list[Component]:
    """Start whatever is not running yet (idempotent). `upstreams` restores LBs in front of live replicas."""
    layout = Layout(cfg)
    layout.root.mkdir(parents=True, exist_ok=True)
    engine.connect(layout.registry_hosts())
    for region in cfg.regions.names:
        _registry(layout, region)
        _source_repo(layout, region)
        for env in layout.lb_envs(region):
            _load_balancer(layout, region, env, (upstreams or {}).get((region, env), []))
    _monitoring(layout)
    return status(cfg)


def status(cfg: GantryConfig) -> list[Component]:
    layout = Layout(cfg)
    local = cfg.local_settings
    running = processes.all_running()
    rows: list[Component] = []

    def row(name: str, process: str, address: str) -> None:
        rows.append(Component(name, address, "running" if process in running else "stopped"))

    row("container engine", engine.SERVICE_NAME, f"unix://{engine.podman_socket()}")
    for region in cfg.regions.names:
        row(f"{region} registry", f"registry-{region}", f"http://{layout.registry_host(region)}")
        for env in layout.lb_envs(region):
            row(
                f"{region} {env} load balancer",
                nginx.process_name(region, env),
                f"http://127.0.0.1:{layout.lb_port(region, env)}",
            )
    row("prometheus", "prometheus", f"http://127.0.0.1:{local.prometheus_port}")
    row("alertmanager", "alertmanager", f"http://127.0.0.1:{local.alertmanager_port}")
    row("webhook receiver", "webhook", f"http://127.0.0.1:{local.webhook_port}")
    return rows


def down() -> list[str]:
    """Remove every container, process and file this run directory's local target created."""
    home = run_dir()
    removed: list[str] = []
    removed += _remove_containers(str(home))
    for name in sorted(processes.all_running(), key=lambda n: n == engine.SERVICE_NAME):
        if processes.stop(name):
            removed.append(f"process {name}")
    if home.exists():
        shutil.rmtree(home)
        removed.append(f"directory {home}")
    return removed


def _remove_containers(home: str) -> list[str]:
    podman = shutil.which("podman")
    if podman is None:
        return []
    env = engine.engine_environment([])
    ids = subprocess.run(
        [podman, "ps", "-aq", "--filter", f"label={CONTAINER_LABEL}={home}"], capture_output=True, text=True, env=env
    ).stdout.split()
    if ids:
        subprocess.run([podman, "rm", "-f", "-t", "2", *ids], capture_output=True, env=env)
    return [f"container {cid[:12]}" for cid in ids]
