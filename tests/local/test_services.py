"""A second service in another stack ships through the same stages with no change to gantry: services/catalogue
(Node.js, no third-party packages, no database, port 8080, its own health and release paths, unit tests, smoke
checks and metrics). Only
the environment file names it (`services: [catalogue]`); every stage reads the rest from its contract."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import yaml
from local_stack import ALICE, GANTRY, Stack, make_stack, ports_for

pytestmark = pytest.mark.integration
PORT_BASE = 30000


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not GANTRY.exists():
        pytest.skip("the virtualenv is missing: run `make bootstrap` (make test does)")
    made = make_stack(tmp_path_factory.mktemp("catalogue"), ports_for(PORT_BASE))
    data = yaml.safe_load(made.config.read_text())
    data["services"] = ["catalogue"]
    made.config.write_text(yaml.safe_dump(data))
    yield made
    made.gantry("down", ok=False)


def stage(record: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in record["stages"] if s["name"] == name)
    return found


def test_a_service_in_another_stack_ships_to_both_regions(catalogue: Stack) -> None:
    catalogue.gantry("up")
    catalogue.gantry("pipeline", "run", *catalogue.signer(ALICE))
    record = catalogue.run_record()
    assert record["result"] == "success" and record["service"] == "catalogue"
    names = [s["name"] for s in record["stages"]]
    # No database: nothing to migrate. Everything else runs as for the cart.
    assert not [n for n in names if n.startswith("migrate")], names
    assert {"build", "deploy staging", "smoke staging", "approve", "deploy production", "verify production"} <= set(
        names
    )
    # The smoke stage ran the three checks every service gets and the catalogue's four, in each region.
    assert stage(record, "smoke staging")["detail"].startswith("7 checks passed"), stage(record, "smoke staging")
    assert stage(record, "smoke production")["detail"].startswith("14 checks passed")
    ports = catalogue.ports
    for port in (ports["staging"], *ports["production"], ports["global"]):
        # The contract's own release path (health.version): nothing in gantry asked for /version.
        assert requests.get(f"http://127.0.0.1:{port}/version", timeout=5).status_code == 404
        version = requests.get(f"http://127.0.0.1:{port}/release", timeout=5).json()
        assert (version["digest"], version["sha"]) == (record["digest"], record["sha"])
        product = requests.get(f"http://127.0.0.1:{port}/products/TEA-1", timeout=5)
        assert product.status_code == 200 and product.json()["sku"] == "TEA-1"
    # Every load balancer, the global entry included, probes the contract's health path.
    balancers = sorted(catalogue.home.rglob("lb-*/haproxy.cfg"))
    assert len(balancers) == 4, balancers
    for config in balancers:
        assert "option httpchk GET /health\n" in config.read_text(), config
    # Its replicas run as the image's unprivileged user, on the contract's port.
    [replica, *_] = catalogue.containers(env="production", region="us-west-2")
    found = subprocess.run(
        ["podman", "inspect", replica], capture_output=True, text=True, env=catalogue.env, check=True
    )
    [inspected] = json.loads(found.stdout)
    assert inspected["Config"]["User"] == "catalogue" and "8080/tcp" in inspected["HostConfig"]["PortBindings"]
