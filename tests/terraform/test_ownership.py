"""Who owns what: replication, the running image, cross-region wiring."""

from __future__ import annotations

import re

from tfhelpers import MODULES, REPO, TERRAFORM, all_roots, labelled, merged, parsed, resources, tf_files

TASK_TEMPLATE = REPO / "services" / "cart" / "task-definition.json.tpl"


def _resource_files(type_name: str) -> list[str]:
    return [str(p.relative_to(TERRAFORM)) for p in tf_files() for t, _, _ in resources(parsed(p)) if t == type_name]


def test_ecr_replication_has_exactly_one_owner() -> None:
    assert _resource_files("aws_ecr_replication_configuration") == ["modules/ecr/main.tf"]
    callers = [
        (root, body)
        for root in all_roots()
        if root.parent.name != "examples"
        for body in labelled(merged(root), "module").values()
        if body["source"].endswith("modules/ecr")
    ]
    assert [root.name for root, _ in callers] == ["global"], "only the global root may own ECR replication"
    assert callers[0][1]["manage_replication"] is True
    # No other replication mechanism for images or state competes with it.
    assert not _resource_files("aws_s3_bucket_replication_configuration")


def test_ecs_service_leaves_image_and_count_to_the_pipeline() -> None:
    (service,) = [b for t, _, b in resources(merged(MODULES / "ecs_service")) if t == "aws_ecs_service"]
    ignored = {item.strip("${}") for item in service["lifecycle"][0]["ignore_changes"]}
    assert {"task_definition", "desired_count"} <= ignored
    breaker = service["deployment_circuit_breaker"][0]
    assert breaker["enable"] is True and breaker["rollback"] is True
    (definition,) = [b for t, _, b in resources(merged(MODULES / "ecs_service")) if t == "aws_ecs_task_definition"]
    assert definition["skip_destroy"] is True


def test_ecs_service_renders_the_shared_template_with_all_its_placeholders() -> None:
    placeholders = set(re.findall(r"\$\{(\w+)\}", TASK_TEMPLATE.read_text()))
    assert placeholders == {
        "family",
        "container_name",
        "image",
        "cpu",
        "memory",
        "container_port",
        "git_sha",
        "image_digest",
        "deploy_env",
        "region",
        "log_group",
        "database_url",
        "database_secret_arn",
    }
    main = (MODULES / "ecs_service" / "main.tf").read_text()
    assert "services/${var.service_name}/task-definition.json.tpl" in main and "templatefile(" in main
    call = main[main.index("templatefile(") : main.index("}))", main.index("templatefile("))]
    passed = set(re.findall(r"^\s*(\w+)\s*=", call, flags=re.MULTILINE))
    assert passed == placeholders


def test_service_autoscaling_tracks_cpu_and_requests() -> None:
    policies = [b for t, _, b in resources(merged(MODULES / "ecs_service")) if t == "aws_appautoscaling_policy"]
    metrics = {
        p["target_tracking_scaling_policy_configuration"][0]["predefined_metric_specification"][0][
            "predefined_metric_type"
        ]
        for p in policies
    }
    assert metrics == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}


def test_peering_takes_the_peer_provider_and_plan_time_keys() -> None:
    versions = parsed(MODULES / "peering" / "versions.tf")["terraform"][0]
    assert versions["required_providers"][0]["aws"]["configuration_aliases"] == ["${aws.peer}"]
    routes = {n: b for t, n, b in resources(merged(MODULES / "peering")) if t == "aws_route"}
    assert routes["requester_to_peer"]["for_each"] == "${var.requester_route_table_ids}"
    assert routes["peer_to_requester"]["for_each"] == "${var.peer_route_table_ids}"
    assert routes["peer_to_requester"]["provider"] == "${aws.peer}"
    # The network module's route table keys are built from indexes, never from resource attributes.
    outputs = labelled(merged(MODULES / "network"), "output")
    assert "local.az_indexes" in outputs["route_table_ids"]["value"]


def test_ecs_cluster_capacity_provider_scales_and_drains() -> None:
    document = merged(MODULES / "ecs_cluster")
    (provider,) = [b for t, _, b in resources(document) if t == "aws_ecs_capacity_provider"]
    asg = provider["auto_scaling_group_provider"][0]
    assert asg["managed_draining"] == "ENABLED" and asg["managed_scaling"][0]["status"] == "ENABLED"
    (cluster,) = [b for t, _, b in resources(document) if t == "aws_ecs_cluster"]
    assert cluster["setting"][0]["name"] == "containerInsights"
    (ami,) = [b for t, _, b in resources(document, "data") if t == "aws_ssm_parameter"]
    assert ami["name"] == "${var.ami_ssm_parameter}"


def test_monitoring_watches_every_required_signal() -> None:
    (local,) = merged(MODULES / "monitoring")["locals"][:1]
    metrics = {entry["metric"] for entry in local["alarm_catalogue"].values()}
    assert metrics >= {
        "HTTPCode_ELB_5XX_Count",
        "UnHealthyHostCount",
        "CPUUtilization",
        "MemoryUtilization",
        "StatusCheckFailed",
    }


def test_dns_failover_has_primary_and_secondary_records_with_health_checks() -> None:
    records = [b for t, _, b in resources(merged(MODULES / "dns_failover")) if t == "aws_route53_record"]
    (record,) = records
    assert record["health_check_id"].startswith("${aws_route53_health_check.")
    assert record["failover_routing_policy"][0]["type"] == "${upper(each.key)}"
    variables = labelled(merged(MODULES / "dns_failover"), "variable")
    assert 'toset(["primary", "secondary"])' in variables["endpoints"]["validation"][0]["condition"]


def test_cloudtrail_is_multi_region() -> None:
    (trail,) = [b for t, _, b in resources(merged(MODULES / "security_baseline")) if t == "aws_cloudtrail"]
    assert trail["is_multi_region_trail"] is True and trail["include_global_service_events"] is True
