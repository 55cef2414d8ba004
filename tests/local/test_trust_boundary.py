"""The production trust boundary on the real local target (podman, registries, PostgreSQL, load balancers),
attacked by the author of a commit and by whoever can write the run directory's leases:

- the commit's unit tests run in a container of its own test image: they find no run directory, no signing
  key, no engine socket, no lease and no credentials of the process that runs them;
- the commit's migrations run only as a one-off container of its image, and never against production before
  an approval of that image;
- a forged deploy intent cannot make `gantry recover` roll production forward to an unapproved release.

The local target's own user has no boundary (docs/threat-model.md): these prove what runs inside gantry's
containers and what gantry itself refuses, not what a root shell on the machine could do.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from local_stack import ALICE, Stack

from gantry.paths import socket_dir
from gantry.targets.local import postgres

pytestmark = pytest.mark.integration
PORT_BASE = 29000
EXFIL = "services/cart/tests/test_zz_curious.py"


def add_commit(stack: Stack, path: str, text: str, message: str) -> None:
    (stack.repo / path).write_text(text)
    subprocess.run(["git", "-C", str(stack.repo), "add", path], check=True)
    subprocess.run(["git", "-C", str(stack.repo), "commit", "-qm", message], check=True)


def curious_test(stack: Stack) -> str:
    """A unit test that looks for everything a test must never reach, prints what it found, and passes."""
    home = stack.home
    paths = [
        home,
        home / "approvals",
        home / "leases",
        home / "secrets",
        socket_dir(home) / "podman.sock",  # the engine's API: root on this machine
        Path("/var/run/docker.sock"),
        Path("/root/.aws/credentials"),
        Path("/root/.ssh"),
        stack.keys[ALICE],
    ]
    return f'''"""Reaches for what gantry keeps outside the container (tests/local/test_trust_boundary.py)."""
import json
import os
import socket
import warnings
from pathlib import Path


def test_what_the_container_can_see():
    found = {{}}
    for path in {[str(p) for p in paths]!r}:
        if os.path.exists(path):
            found[path] = "exists"
    for name, value in os.environ.items():
        if name.startswith(("AWS_", "GANTRY_", "DOCKER_", "SSH_")):
            found[name] = value
    try:
        socket.create_connection(("127.0.0.1", {stack.ports["production"][0]}), timeout=1).close()
        found["production load balancer"] = "reachable"
    except OSError:
        pass
    here = Path(__file__).is_file()
    # A warning is what pytest -q prints of a passing test: the report reaches the unit-test log.
    warnings.warn("TRUST-BOUNDARY " + json.dumps({{"found": found, "ran": here}}), stacklevel=1)
'''


def test_a_commits_tests_find_no_keys_run_directory_engine_or_credentials(stack: Stack) -> None:
    stack.gantry("up")
    add_commit(stack, EXFIL, curious_test(stack), "a curious unit test")
    # What the build's own process has, and a test run in-process would inherit.
    planted = {"AWS_ACCESS_KEY_ID": "AKIAPLANTED", "AWS_SECRET_ACCESS_KEY": "planted", "AWS_PROFILE": "release"}
    stack.gantry("source", extra_env=planted)
    stack.gantry("build", extra_env=planted)
    log = next((stack.home / "logs").glob("*-unit-tests.log")).read_text()
    line = next((line for line in log.splitlines() if "TRUST-BOUNDARY " in line), None)
    assert line is not None, log[-2000:]
    report = json.loads(line.split("TRUST-BOUNDARY ", 1)[1])
    assert report["ran"] is True  # the test ran, in the container, from the commit
    assert report["found"] == {}, report["found"]


PROBE = '''"""Leaves a mark where it runs, and tries production's database with the credentials it was given."""
import os

from yoyo import step

__depends__ = {"0002.cart-items-updated-at"}


def probe(conn):
    import psycopg  # the image's

    url = os.environ["DATABASE_URL"].replace("dbname=cart_staging", "dbname=cart_production")
    try:
        psycopg.connect(url, connect_timeout=5).close()  # the password: PGPASSWORD, as migrate.py set it
        connected = "connected"
    except Exception as exc:
        connected = "refused: " + str(exc).strip().splitlines()[-1][:200]
    cursor = conn.cursor()
    # From inside staging's own database: what an owner of production's database could do without connecting.
    cursor.execute("SAVEPOINT probe")
    try:
        cursor.execute("ALTER DATABASE cart_production CONNECTION LIMIT 0")
        altered = "altered"
    except Exception as exc:
        cursor.execute("ROLLBACK TO SAVEPOINT probe")
        altered = "refused: " + str(exc).strip().splitlines()[0][:200]
    cursor.execute("CREATE TABLE production_probe (attempt text, outcome text)")
    cursor.execute("INSERT INTO production_probe VALUES ('connect', %s), ('alter', %s)", (connected, altered))


steps = [step("CREATE TABLE migration_ran_here (at timestamptz DEFAULT now())"), step(probe)]
'''


def test_an_unapproved_commits_migration_never_runs_against_production(stack: Stack) -> None:
    """The commit adds a Python migration that would write to production: `gantry migrate --env production`
    refuses it until an approver signs that image; the migration runs in a container, never in gantry, and in
    staging its credentials (staging's owner login) neither open production's database nor alter it from
    staging's. Nor do staging's replicas' credentials open it."""
    add_commit(stack, "services/cart/migrations/0003.mark.py", PROBE, "a migration")
    for stage in (("source",), ("build", "--skip-tests"), ("push",)):
        stack.gantry(*stage)
    refused = stack.gantry("migrate", "--env", "production", ok=False)
    assert refused.returncode == 1 and "no approval on record" in refused.stderr, refused.stderr
    assert "migration_ran_here" not in tables(stack, "cart_production")
    # Staging is not protected: there the migration runs, as a one-off container of the image.
    applied = stack.gantry("migrate", "--env", "staging")
    assert "0003.mark" in applied.stdout
    assert "migration_ran_here" in tables(stack, "cart_staging")
    outcomes = dict(rows(stack, "cart_staging", "SELECT attempt, outcome FROM production_probe"))
    assert str(outcomes["connect"]).startswith("refused: ") and "no pg_hba.conf entry" in str(outcomes["connect"])
    assert str(outcomes["alter"]).startswith("refused: ") and "must be owner" in str(outcomes["alter"]), outcomes
    assert "production_probe" not in tables(stack, "cart_production")
    # A staging replica's login (the password its mounted file holds) is refused by production's database too.
    password = node(stack).secrets.password("cart_staging_app", create=False)
    with pytest.raises(psycopg.OperationalError, match=r"no pg_hba\.conf entry"):
        psycopg.connect(
            host=str(node(stack).socket_dir),
            port=stack.ports["databases"][0],
            dbname="cart_production",
            user="cart_staging_app",
            password=password,
            connect_timeout=5,
        ).close()
    # The commit is taken back so the rest of the module ships without it.
    subprocess.run(["git", "-C", str(stack.repo), "revert", "--no-edit", "HEAD"], check=True, capture_output=True)


def node(stack: Stack) -> postgres.Cluster:
    return postgres.Cluster("db_us_east_1", _databases(stack), stack.ports["databases"][0], app="cart")


def rows(stack: Stack, database: str, query: str) -> list[tuple[object, ...]]:
    with node(stack).connect(database) as conn:
        return list(conn.execute(query).fetchall())


def tables(stack: Stack, database: str) -> set[str]:
    return {str(row[0]) for row in rows(stack, database, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def _databases(stack: Stack) -> Path:
    from gantry.targets.local.layout import database_dir

    return database_dir(stack.home)


def test_a_forged_intent_cannot_roll_production_forward(stack: Stack) -> None:
    """Whoever can write the lease (here the machine's user; on aws only production's own role) leaves an open
    intent naming a digest that passed staging but was never approved: recover refuses, production is unchanged."""
    stack.gantry("pipeline", "run", *stack.signer(ALICE))
    before = stack.production()
    stack.new_commit("staged, never approved")
    for stage in (("source",), ("build", "--skip-tests"), ("push",), ("deploy", "--env", "staging")):
        stack.gantry(*stage)
    stack.gantry("smoke", "--env", "staging")
    record = stack.run_record()
    now = datetime.now(UTC).isoformat()
    forged = {
        "env": "production",
        "holder": None,
        "abandoned_by": None,
        "intent": {
            "run_id": "run-forged",
            "env": "production",
            "release": {"sha": record["sha"], "digest": record["digest"]},
            "regions": [
                {"region": "us-east-1", "previous": None, "state": "rolling", "changed": False},
                {"region": "us-west-2", "previous": None, "state": "pending", "changed": False},
            ],
            "state": "open",
            "started_at": now,
            "updated_at": now,
            "approval": None,
        },
    }
    (stack.home / "leases" / "production.json").write_text(json.dumps(forged))
    refused = stack.gantry("recover", "--env", "production", ok=False)
    assert refused.returncode == 1
    assert "recover would roll production forward to" in refused.stderr and "nothing changed" in refused.stderr
    assert stack.production() == before
    # A malformed intent (not a commit id, not a digest) is refused as unreadable, never acted on.
    forged["intent"]["release"] = {"sha": "zz", "digest": "sha256:../../x"}  # type: ignore[index]
    (stack.home / "leases" / "production.json").write_text(json.dumps(forged))
    unreadable = stack.gantry("recover", "--env", "production", ok=False)
    assert unreadable.returncode == 1 and "production.json is not a valid LeaseState record" in unreadable.stderr
    assert "Traceback" not in unreadable.stderr and stack.production() == before
