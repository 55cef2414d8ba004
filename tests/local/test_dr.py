"""Carts in PostgreSQL across the two local regions, end to end: real clusters (primary and streaming standby),
real replicas, HAProxy and the global entry, the real CLI.

The tests share one stack and run in order: a release with both regions' databases, a rollout and a
rollback with a migration under write load, the DR drills both ways, and what refuses to start.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import requests
from local_stack import ALICE, BOB, MALLORY, ROOT, Stack, ports_for, wait_for

from gantry import contract
from gantry.stages.drill import Load, lost_writes
from gantry.targets.local import postgres
from gantry.targets.local.layout import database_dir

pytestmark = pytest.mark.integration
PORT_BASE = 27000
PORTS = ports_for(PORT_BASE)
GLOBAL = f"http://127.0.0.1:{PORTS['global']}"
EAST, WEST = (f"http://127.0.0.1:{port}" for port in PORTS["production"])
# The load the cart's contract declares for drills (what `gantry dr drill` drives too).
CART = contract.read(ROOT / "services/cart/service.yaml").traffic
assert CART is not None


def cluster(stack: Stack, region: str) -> postgres.Cluster:
    index = ["us-east-1", "us-west-2"].index(region)
    name = f"db_{region.replace('-', '_')}"
    return postgres.Cluster(name, database_dir(stack.home), PORTS["databases"][index], app="cart")


def role(url: str) -> str:
    role_name: str = requests.get(f"{url}/healthz", timeout=5).json()["database"]["role"]
    return role_name


@pytest.fixture(scope="module")
def shipped(stack: Stack) -> Stack:
    stack.gantry("up")
    stack.gantry("pipeline", "run", *stack.signer(ALICE))
    return stack


def test_each_region_uses_its_own_database(shipped: Stack) -> None:
    assert role(EAST) == "primary" and role(WEST) == "standby"
    added = requests.post(f"{GLOBAL}/carts/dr-one/items", json={"sku": "A-1", "quantity": 3}, timeout=5)
    assert added.status_code == 201
    # The standby region refuses writes with a 503 that tells the client not to retry there.
    refused = requests.post(f"{WEST}/carts/dr-one/items", json={"sku": "A-2", "quantity": 1}, timeout=5)
    assert refused.status_code == 503 and "Retry-After" not in refused.headers and "error" in refused.json()
    # Every replica of both regions answers the same cart (region 2 once it has replayed the write).
    for url in (EAST, WEST):
        wait_for(
            lambda url=url: (
                requests.get(f"{url}/carts/dr-one", timeout=5).json()["items"] == [{"sku": "A-1", "quantity": 3}]
            ),
            10,
            f"the cart through {url}",
        )
        answers = {requests.get(f"{url}/carts/dr-one", timeout=5).text for _ in range(20)}
        assert len(answers) == 1
    status = shipped.gantry("status").stdout
    assert "running (writer)" in status and "running (standby, streaming" in status


def test_rollout_and_rollback_with_a_migration_lose_no_request(shipped: Stack) -> None:
    """A release that adds a column (expand), then the rollback to the release before it, both under steady
    reads and writes through the global entry: no request fails, no acknowledged write is lost."""
    migration = shipped.repo / "services/cart/migrations/0003.cart-note.sql"
    migration.write_text(
        "-- Expand: a column no release reads yet.\n-- depends: 0002.cart-items-updated-at\n"
        "SET LOCAL lock_timeout = '5s';\nALTER TABLE carts ADD COLUMN note text;\n"
    )
    migration.with_name("0003.cart-note.rollback.sql").write_text("ALTER TABLE carts DROP COLUMN note;\n")
    subprocess.run(["git", "-C", str(shipped.repo), "add", "services/cart/migrations"], check=True)
    shipped.new_commit("release with a migration")
    before = shipped.production()
    load = Load(GLOBAL, CART, writers=3, readers=2)
    load.start()
    try:
        # Stage by stage, as the Jenkinsfile runs them (the app's own tests pin its migration list, so this
        # test's extra migration skips them).
        for stage in (
            ("source",),
            ("build", "--skip-tests"),
            ("push",),
            ("migrate", "--env", "staging"),
            ("deploy", "--env", "staging"),
            ("smoke", "--env", "staging"),
            ("approve", *shipped.approves(ALICE)),
            ("migrate", "--env", "production"),
            ("deploy", "--env", "production"),
            ("smoke", "--env", "production"),
        ):
            shipped.gantry(*stage)
        after = shipped.production()
        assert after[0] == after[1] != before[0]
        shipped.gantry("rollback", "--env", "production")
        assert shipped.production() == before
    finally:
        load.stop()
    failed = [r for r in load.requests if not r.ok]
    assert load.requests and failed == [], failed[:5]
    acknowledged = load.acknowledged()
    assert len(acknowledged) > 50 and lost_writes(GLOBAL, CART, acknowledged) == {}
    record = shipped.run_record()
    applied = {s["name"]: s["detail"] for s in record["stages"]}
    assert "0003.cart-note" in applied["migrate staging"]
    with cluster(shipped, "us-east-1").connect("cart_production") as conn:
        columns = {
            row[0]
            for row in conn.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'carts'")
        }
    assert "note" in columns  # the rollback keeps the expanded schema: the previous release works with it


def test_lost_writes_are_found(shipped: Stack) -> None:
    """The RPO measurement itself: a write deleted behind the service's back is reported lost, the rest not."""
    acknowledged = {}
    for item in ("L-1", "L-2", "L-3"):
        method, path, body = CART.write.render("dr-rpo", item)
        response = requests.request(method, GLOBAL + path, json=body, timeout=5)
        assert response.status_code == 201
        acknowledged[("dr-rpo", item)] = time.monotonic()
    with cluster(shipped, "us-east-1").connect("cart_production") as conn:
        conn.execute("DELETE FROM cart_items WHERE cart_id = 'dr-rpo' AND sku = 'SKU-L-2'")
    assert set(lost_writes(GLOBAL, CART, acknowledged)) == {("dr-rpo", "L-2")}


def test_unplanned_drill_needs_consent(shipped: Stack) -> None:
    refused = shipped.gantry("dr", "drill", "--mode", "unplanned", ok=False)
    assert refused.returncode == 1 and "--allow-data-loss" in refused.stderr
    assert role(EAST) == "primary"


def test_production_drills_and_failovers_need_a_single_use_approval(shipped: Stack) -> None:
    """Moving production's writer is a production change: without an approval of exactly that operation it is
    refused before anything moves; an approval of another operation, or one already used, opens nothing."""
    refused = shipped.gantry("dr", "failover", "--region", "us-east-1", "--planned", ok=False)
    assert refused.returncode == 1 and "no approval on record for dr-failover in production" in refused.stderr
    shipped.gantry(
        "dr", "approve", "--operation", "dr-failover", "--param", "region=us-west-2", "--param", "planned=true",
        *shipped.signer(ALICE),
    )  # fmt: skip
    other = shipped.gantry("dr", "failover", "--region", "us-east-1", "--planned", ok=False)
    assert other.returncode == 1 and "another operation or other parameters" in other.stderr
    mallory = shipped.gantry("dr", "drill", *shipped.signer(MALLORY), ok=False)
    assert mallory.returncode == 1 and "'mallory@example.com' is not an approver" in mallory.stderr
    assert role(EAST) == "primary" and role(WEST) == "standby"  # nothing moved
    bad = shipped.gantry("dr", "approve", "--operation", "dr-drill", "--param", "mode=everything", ok=False)
    assert bad.returncode == 2 and "dr-drill takes mode=" in bad.stderr


def test_drills_both_ways_meet_their_goals(shipped: Stack, tmp_path: Path) -> None:
    report = tmp_path / "drill.json"
    shipped.gantry(
        "dr", "drill", "--mode", "both", "--allow-data-loss", "--report", str(report), *shipped.signer(ALICE)
    )
    # That approval is spent: the same drill again is refused (before any region moves) until someone signs anew.
    reuse = shipped.gantry("dr", "drill", "--mode", "both", "--allow-data-loss", ok=False)
    assert reuse.returncode == 1 and "was used already" in reuse.stderr
    evidence = json.loads(report.read_text())
    assert evidence["ok"] is True and evidence["kind"] == "gantry-dr-drill"
    drills = evidence["drills"]
    assert [(d["mode"], d["source"], d["destination"]) for d in drills] == [
        ("planned", "us-east-1", "us-west-2"),
        ("planned", "us-west-2", "us-east-1"),
        ("unplanned", "us-east-1", "us-west-2"),
        ("unplanned", "us-west-2", "us-east-1"),
    ]
    for drill in drills:
        assert drill["recovered"] and drill["rto_seconds"] is not None and drill["rto_seconds"] <= 10
        assert drill["requests"]["acknowledged_writes"] > 20
        if drill["mode"] == "planned":
            assert drill["rpo_writes"] == 0
    unplanned = [d for d in drills if d["mode"] == "unplanned"]
    assert all(d["fail_steps"]["database"]["timeline_new_primary"] > 1 for d in unplanned)
    assert all(d["rejoin_steps"]["database"]["rewind_needed"] for d in unplanned)  # pg_rewind did run
    # The stack ends as it started, and the carts written before the drills are all there.
    assert role(EAST) == "primary" and role(WEST) == "standby"
    assert not cluster(shipped, "us-east-1").is_fenced() and not cluster(shipped, "us-west-2").is_fenced()
    items = requests.get(f"{GLOBAL}/carts/dr-one", timeout=5).json()["items"]
    assert items == [{"sku": "A-1", "quantity": 3}]


def firing(stack: Stack, alert: str) -> bool:
    """Alertmanager delivered `alert` as firing to the webhook inbox."""
    inbox = stack.home / "monitoring/inbox/alerts.jsonl"
    for line in inbox.read_text().splitlines() if inbox.is_file() else []:
        body = json.loads(line)["body"]
        if any(a["labels"]["alertname"] == alert and a["status"] == "firing" for a in body.get("alerts", [])):
            return True
    return False


def test_a_real_outage_failover_and_rejoin(shipped: Stack) -> None:
    """The writer's database dies by itself: the alert fires, `gantry dr failover` promotes the other region,
    writes go on through the global entry, `gantry dr rejoin` brings the lost region back as the standby,
    and a planned failover returns the writer."""
    cluster(shipped, "us-east-1").kill()
    wait_for(lambda: firing(shipped, "NoDatabaseWriter"), 30, "the NoDatabaseWriter alert in the inbox")
    refused = shipped.gantry("dr", "failover", "--region", "us-east-1", ok=False)
    assert refused.returncode == 1 and "--allow-data-loss" in refused.stderr
    shipped.gantry("dr", "failover", "--region", "us-east-1", "--allow-data-loss", *shipped.signer(ALICE))
    assert cluster(shipped, "us-east-1").is_fenced() and role(WEST) == "primary"

    def writes() -> bool:
        reply = requests.post(f"{GLOBAL}/carts/dr-outage/items", json={"sku": "O-1", "quantity": 1}, timeout=5)
        return reply.status_code == 201

    wait_for(writes, 15, "a write through the global entry after the failover")
    shipped.gantry("dr", "rejoin", "--region", "us-east-1", *shipped.signer(BOB))
    assert not cluster(shipped, "us-east-1").is_fenced() and role(EAST) == "standby"
    shipped.gantry("dr", "failover", "--region", "us-west-2", "--planned", *shipped.signer(ALICE))
    wait_for(lambda: role(EAST) == "primary", 15, "us-east-1 writing again")
    shipped.gantry("dr", "rejoin", "--region", "us-west-2", *shipped.signer(BOB))
    assert role(WEST) == "standby"
    wait_for(
        lambda: any(i["sku"] == "O-1" for i in requests.get(f"{GLOBAL}/carts/dr-outage", timeout=5).json()["items"]),
        15,
        "the write made during the outage, after failing back",
    )


def test_drill_refuses_a_standby_that_is_down(shipped: Stack) -> None:
    cluster(shipped, "us-west-2").stop("fast")
    refused = shipped.gantry("dr", "drill", *shipped.signer(ALICE), ok=False)
    assert refused.returncode == 1 and "the us-west-2 database is down" in refused.stderr
    assert role(EAST) == "primary"
    shipped.gantry("up")
    wait_for(lambda: "streaming" in shipped.gantry("status").stdout, 30, "the standby streaming again")
