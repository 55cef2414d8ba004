"""approve/notify on AWS: create-only SecureString records in both regions; SNS with the shared event schema;
botocore standard retries against real ThrottlingException answers from a proxy in front of moto."""

from __future__ import annotations

import json

import pytest
from aws_stack import PRIMARY, SECONDARY, ThrottlingProxy, client
from runs import run_record

from gantry.errors import GantryError
from gantry.stages import notify

pytestmark = pytest.mark.integration  # a moto server process on 127.0.0.1


def test_records_are_create_only_encrypted_and_in_both_regions(stack):
    records = stack.target().records("production")
    first = {"approver": "alice", "digest": "sha256:" + "a" * 64}
    assert records.get("approvals", "sha256-aaaa") is None
    assert records.create("approvals", "sha256-aaaa", first) is True
    assert records.create("approvals", "sha256-aaaa", {"approver": "mallory"}) is False
    assert records.get("approvals", "sha256-aaaa") == first
    for region in (PRIMARY, SECONDARY):
        ssm = client(stack.url, "ssm", region)
        param = ssm.describe_parameters(
            ParameterFilters=[{"Key": "Name", "Values": ["/gantry/example/records/production/approvals/sha256-aaaa"]}]
        )["Parameters"][0]
        assert param["Type"] == "SecureString"
        assert param["KeyId"] == "alias/aws/ssm"
        assert param["Version"] == 1  # never overwritten


def test_interrupted_copy_to_secondary_is_completed_not_replaced(stack):
    records = stack.target().records("production")
    value = {"approver": "bob"}
    assert records.create("approvals", "k1", value)
    client(stack.url, "ssm", SECONDARY).delete_parameter(Name="/gantry/example/records/production/approvals/k1")
    assert records.create("approvals", "k1", {"approver": "mallory"}) is False
    body = client(stack.url, "ssm", SECONDARY).get_parameter(
        Name="/gantry/example/records/production/approvals/k1", WithDecryption=True
    )["Parameter"]["Value"]
    assert json.loads(body)["value"] == value


def test_keys_with_colons_do_not_collide(stack):
    records = stack.target().records("production")
    records.create("approvals", "a:b", {"n": 1})
    with pytest.raises(GantryError, match="holds record a:b"):
        records.get("approvals", "a_b")


def test_sns_sink_publishes_the_shared_event(stack):
    cfg = stack.config()
    sqs = client(stack.url, "sqs", PRIMARY)
    queue = sqs.create_queue(QueueName="pipeline-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    client(stack.url, "sns", PRIMARY).subscribe(
        TopicArn=cfg.notifications.sns_topic_arn, Protocol="sqs", Endpoint=queue_arn
    )
    target = stack.target(cfg)
    event = notify.event(
        cfg,
        run_record(run_id="r1", sha="1" * 40, digest="sha256:" + "b" * 64),
        "failure",
        stage="deploy",
        message="region 2 failed",
    )
    assert notify.send(event, notify.sinks(cfg, target.sinks())) == []
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=2)["Messages"]
    envelope = json.loads(messages[0]["Body"])
    assert json.loads(envelope["Message"]) == json.loads(json.dumps(event))
    assert envelope["Subject"] == "gantry example cart failure at deploy"
    assert envelope["MessageAttributes"]["status"]["Value"] == "failure"


def test_sns_failure_is_reported_not_raised(stack):
    cfg = stack.config()
    client(stack.url, "sns", PRIMARY).delete_topic(TopicArn=cfg.notifications.sns_topic_arn)
    failures = notify.send({"status": "success"}, stack.target(cfg).sinks())
    assert len(failures) == 1
    assert failures[0].startswith("sns: SNS publish to arn:aws:sns:us-east-1:123456789012:gantry-example-pipeline")


def test_throttling_is_retried_with_standard_mode(stack):
    proxy = ThrottlingProxy(stack.url, throttle=2)
    try:
        target = stack.target(stack.config(endpoint_url=proxy.url, max_attempts=3))
        assert target.records("production").get("approvals", "none") is None
        assert proxy.seen == 3  # two ThrottlingException answers, then success on the third attempt
    finally:
        proxy.close()


def test_throttling_beyond_max_attempts_is_one_clear_error(stack):
    proxy = ThrottlingProxy(stack.url, throttle=10)
    try:
        target = stack.target(stack.config(endpoint_url=proxy.url, max_attempts=2))
        with pytest.raises(
            GantryError,
            match=r"reading record approvals/none in us-east-1 failed: "
            r"ThrottlingException: Rate exceeded",
        ):
            target.records("production").get("approvals", "none")
        assert proxy.seen == 2
    finally:
        proxy.close()
