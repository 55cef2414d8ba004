"""One nginx per region and environment: the local stand-in for an ALB."""

from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path

import requests

from gantry.errors import GantryError
from gantry.local import processes
from gantry.local.layout import Layout
from gantry.local.render import render


def process_name(region: str, env: str) -> str:
    return f"lb-{region}-{env}"


def _nginx() -> str:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise GantryError("nginx is not installed: run `make bootstrap`")
    return binary


def _argv(directory: Path, conf: Path) -> list[str]:
    return [_nginx(), "-p", str(directory), "-e", str(directory / "error.log"), "-c", str(conf)]


def write_config(layout: Layout, region: str, env: str, upstreams: list[int]) -> None:
    """Render, validate with `nginx -t`, then replace the live file; a bad config never goes live."""
    directory = layout.lb(region, env)
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (directory / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    text = render(
        "nginx.conf.j2", dir=directory, region=region, env=env, port=layout.lb_port(region, env), upstreams=upstreams
    )
    candidate = directory / "nginx.conf.new"
    candidate.write_text(text)
    check = subprocess.run([*_argv(directory, candidate), "-t", "-q"], capture_output=True, text=True)
    if check.returncode != 0:
        raise GantryError(f"generated nginx config for {env} in {region} is invalid: {check.stderr.strip()}")
    candidate.replace(directory / "nginx.conf")


def start(layout: Layout, region: str, env: str, upstreams: list[int]) -> None:
    name = process_name(region, env)
    if processes.lookup(name):
        return
    port = layout.lb_port(region, env)
    processes.require_free(port, f"the {env} load balancer in {region}", f"local.regions.{region}.lb_ports.{env}")
    write_config(layout, region, env, upstreams)
    directory = layout.lb(region, env)
    processes.start(
        name,
        _argv(directory, directory / "nginx.conf"),
        ready=lambda: requests.get(f"http://127.0.0.1:{port}/nginx_status", timeout=1).ok,
        timeout=15,
    )


def switch(layout: Layout, region: str, env: str, upstreams: list[int]) -> None:
    """Point the load balancer at `upstreams`; nginx re-reads its config on SIGHUP without dropping requests."""
    write_config(layout, region, env, upstreams)
    processes.signal_process(process_name(region, env), signal.SIGHUP)
