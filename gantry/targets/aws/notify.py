"""The notification sink the aws target adds: SNS, carrying the shared event (gantry.stages.notify.event)
unchanged as the message body, so subscribers parse it exactly like the local file and webhook sinks.
Slack is a common sink (gantry.stages.notify.SlackSink) and works the same on both targets."""

from __future__ import annotations

import json
from typing import Any

from gantry.targets.aws.clients import Clients, aws_errors

ATTRIBUTES = ("type", "status", "customer", "service", "failed_stage")


def subject(event: dict[str, Any]) -> str:
    parts = [str(event[k]) for k in ("customer", "service", "status") if event.get(k)]
    if event.get("failed_stage"):
        parts.append(f"at {event['failed_stage']}")
    text = " ".join(["gantry", *parts])
    # SNS subjects: ASCII only, no line breaks, at most 100 characters.
    return " ".join(text.encode("ascii", "replace").decode().split())[:100]


class SnsSink:
    name = "sns"

    def __init__(self, clients: Clients, topic_arn: str) -> None:
        self.clients = clients
        self.topic_arn = topic_arn
        self.region = topic_arn.split(":")[3]

    def send(self, event: dict[str, Any]) -> None:
        # Attributes let subscribers filter (e.g. only failures) without parsing the body.
        attributes = {
            key: {"DataType": "String", "StringValue": str(event[key])} for key in ATTRIBUTES if event.get(key)
        }
        with aws_errors(f"SNS publish to {self.topic_arn}", "check the topic exists and its access policy"):
            self.clients("sns", self.region).publish(
                TopicArn=self.topic_arn,
                Subject=subject(event),
                Message=json.dumps(event, sort_keys=True, default=str),
                MessageAttributes=attributes,
            )
