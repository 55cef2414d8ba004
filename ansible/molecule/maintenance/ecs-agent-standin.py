#!/usr/bin/python3
"""Stand-in for the ECS agent's introspection API on a maintenance test host: GET /v1/metadata.

The real agent (amazon-ecs-init) is not packaged for Debian and registers through ECS's ACS websocket, which moto
does not implement. This answers what patch.yml reads from the agent: the cluster from /etc/ecs/ecs.config (written
by the ecs_agent role) and the container instance ARN that the test registered in moto and wrote to ARN_FILE.
Until that file exists it answers 503, like an agent that has not registered yet.
Usage: ecs-agent-standin ADDRESS PORT
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ECS_CONFIG = Path("/etc/ecs/ecs.config")
ARN_FILE = Path("/var/lib/ecs/standin-container-instance-arn")


def metadata() -> dict[str, str] | None:
    if not ARN_FILE.exists():
        return None
    settings = dict(line.split("=", 1) for line in ECS_CONFIG.read_text().splitlines() if "=" in line)
    return {
        "Cluster": settings["ECS_CLUSTER"],
        "ContainerInstanceArn": ARN_FILE.read_text().strip(),
        "Version": "Amazon ECS Agent - stand-in for tests",
    }


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = metadata() if self.path == "/v1/metadata" else None
        if body is None:
            self.send_response(503 if self.path == "/v1/metadata" else 404)
        else:
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(body or {}).encode())

    def log_message(self, format: str, *args: object) -> None:  # a line per poll would flood the journal
        pass


if __name__ == "__main__":
    ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
