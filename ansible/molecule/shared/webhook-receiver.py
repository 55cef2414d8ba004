#!/usr/bin/python3
"""Alertmanager webhook receiver for tests and the benchmark: keeps every notification with its arrival time.

POST /alerts stores the payload; GET /alerts returns [{"received_at": epoch, "status", "alertname", "instance"}].
"""

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RECEIVED: list[dict[str, object]] = []


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        now = time.time()
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        for alert in body.get("alerts", []):
            labels = alert.get("labels", {})
            RECEIVED.append(
                {
                    "received_at": now,
                    "status": alert.get("status"),
                    "alertname": labels.get("alertname"),
                    "instance": labels.get("instance"),
                }
            )
        self.send_response(200)
        self.end_headers()

    def do_GET(self) -> None:
        data = json.dumps(RECEIVED).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        return


if __name__ == "__main__":
    ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
