"""The aws side of `gantry dr drill` (AwsFailover) against moto.

Real here (moto server): the Aurora global cluster and its two member clusters (create_global_cluster,
create_db_cluster, describe_global_clusters), the Route 53 failover pair and health check the drill's fault
flips, CloudWatch. Stand-in: moto does not implement switchover_global_cluster or failover_global_cluster
(HTTP 500, NotImplementedError), so `GlobalClusterStandIn` records those calls and moves the writer in the
answers of describe_global_clusters, which it otherwise passes through to moto. Which record Route 53
answers is gantry's own evaluation of the API state (resolver `evaluate`), since moto runs no health checkers.
The load and measurement half of the drill runs for real on the local target (tests/local/test_dr.py).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from aws_stack import ACCOUNT, PRIMARY, SECONDARY, client

from gantry.errors import GantryError
from gantry.targets.aws.failover import AwsFailover
from gantry.targets.aws.settings import AwsSettings

pytestmark = pytest.mark.integration  # a moto server process on 127.0.0.1
GLOBAL_ID = "example-production"


class GlobalClusterStandIn:
    """moto's RDS client, plus the two global failover calls moto lacks (see the module docstring)."""

    def __init__(self, real: Any, writer_arn: str) -> None:
        self.real = real
        self.writer_arn = writer_arn
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.pending_polls = 0  # answers with FailoverState before the move shows

    def describe_global_clusters(self, **kwargs: Any) -> dict[str, Any]:
        answer = copy.deepcopy(self.real.describe_global_clusters(**kwargs))
        for cluster in answer["GlobalClusters"]:
            for member in cluster["GlobalClusterMembers"]:
                member["IsWriter"] = member["DBClusterArn"] == self.writer_arn
            if self.pending_polls:
                cluster["FailoverState"] = {"Status": "switching-over"}
        self.pending_polls = max(0, self.pending_polls - 1)
        return answer

    def _move(self, name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((name, kwargs))
        self.writer_arn = kwargs["TargetDbClusterIdentifier"]
        self.pending_polls = 2
        return {}

    def switchover_global_cluster(self, **kwargs: Any) -> dict[str, Any]:
        return self._move("switchover_global_cluster", kwargs)

    def failover_global_cluster(self, **kwargs: Any) -> dict[str, Any]:
        return self._move("failover_global_cluster", kwargs)


def global_database(url: str) -> dict[str, str]:
    """The aurora_global module's shape in moto: a global cluster, a writer in region 1, a reader in region 2."""
    east, west = client(url, "rds", PRIMARY), client(url, "rds", SECONDARY)
    east.create_global_cluster(
        GlobalClusterIdentifier=GLOBAL_ID, Engine="aurora-postgresql", EngineVersion="15.12", StorageEncrypted=True
    )
    arns = {}
    for region, rds in ((PRIMARY, east), (SECONDARY, west)):
        extra = {"MasterUsername": "cart_owner", "MasterUserPassword": "not-a-secret-1"} if region == PRIMARY else {}
        arns[region] = rds.create_db_cluster(
            DBClusterIdentifier=f"example-production-{region}",
            Engine="aurora-postgresql",
            EngineVersion="15.12",
            GlobalClusterIdentifier=GLOBAL_ID,
            StorageEncrypted=True,
            **extra,
        )["DBCluster"]["DBClusterArn"]
    return arns


@pytest.fixture
def drill(stack: Any) -> tuple[AwsFailover, dict[str, GlobalClusterStandIn], dict[str, str]]:
    arns = global_database(stack.url)
    cfg = stack.config(dr={**stack.raw["aws"]["dr"], "global_cluster_id": GLOBAL_ID, "cluster_arns": arns})
    target, _ = stack.deployed(cfg)
    real_clients = target.clients
    stand_ins = {
        region: GlobalClusterStandIn(real_clients("rds", region), arns[PRIMARY]) for region in (PRIMARY, SECONDARY)
    }

    def clients(service: str, region: str) -> Any:
        return stand_ins[region] if service == "rds" else real_clients(service, region)

    target.clients = clients  # type: ignore[assignment,method-assign]
    return AwsFailover(target), stand_ins, arns


def inverted(stack: Any, failover: AwsFailover) -> bool:
    route53 = client(stack.url, "route53", PRIMARY)
    check = route53.get_health_check(HealthCheckId=failover.dr.health_check_id)["HealthCheck"]
    return bool(check["HealthCheckConfig"].get("Inverted"))


def test_the_global_cluster_says_who_writes(drill: Any) -> None:
    failover, _, arns = drill
    assert failover.writer() == PRIMARY
    assert failover.preflight("production") == []
    assert all(arn.startswith("arn:aws:rds:") and f":{ACCOUNT}:cluster:" in arn for arn in arns.values())


def test_planned_switchover_moves_the_writer_without_the_fault(stack: Any, drill: Any) -> None:
    failover, stand_ins, arns = drill
    steps = failover.fail("production", PRIMARY, planned=True, note=lambda _: None)
    # Asked in the surviving region, to the secondary's cluster; Route 53 follows the writer by itself.
    assert stand_ins[SECONDARY].calls == [
        (
            "switchover_global_cluster",
            {"GlobalClusterIdentifier": GLOBAL_ID, "TargetDbClusterIdentifier": arns[SECONDARY]},
        )
    ]
    assert steps["database_s"] >= 0 and not inverted(stack, failover)
    stand_ins[PRIMARY].writer_arn = arns[SECONDARY]  # one global cluster: both regions see the new writer
    assert failover.writer() == SECONDARY
    failover.rejoin("production", PRIMARY, note=lambda _: None)
    assert failover.writer() == SECONDARY  # a rejoined region is the standby; the next drill moves it back


def test_unplanned_failover_accepts_data_loss_and_declares_the_region_lost(stack: Any, drill: Any) -> None:
    failover, stand_ins, arns = drill
    failover.fail("production", PRIMARY, planned=False, note=lambda _: None)
    assert stand_ins[SECONDARY].calls == [
        (
            "failover_global_cluster",
            {"GlobalClusterIdentifier": GLOBAL_ID, "TargetDbClusterIdentifier": arns[SECONDARY], "AllowDataLoss": True},
        )
    ]
    assert inverted(stack, failover) and failover.route53.answer() == "SECONDARY"
    failover.rejoin("production", PRIMARY, note=lambda _: None)
    assert not inverted(stack, failover)


def test_a_drill_does_not_start_during_a_failover(drill: Any) -> None:
    failover, stand_ins, _ = drill
    stand_ins[PRIMARY].pending_polls = 5
    assert any("already failing over" in problem for problem in failover.preflight("production"))


def test_a_move_that_never_finishes_is_an_error(drill: Any) -> None:
    failover, stand_ins, _ = drill
    stand_ins[SECONDARY].switchover_global_cluster = lambda **kwargs: {}  # accepted, never carried out
    with pytest.raises(GantryError, match="moving the writer to us-west-2 not finished after 5 s"):
        failover.fail("production", PRIMARY, planned=True, note=lambda _: None)


def test_cluster_arns_must_name_both_regions(stack: Any) -> None:
    with pytest.raises(GantryError, match="cluster_arns"):
        AwsSettings.of(stack.config(dr={**stack.raw["aws"]["dr"], "global_cluster_id": GLOBAL_ID}))
