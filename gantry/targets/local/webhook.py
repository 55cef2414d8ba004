"""The notification receiver: Alertmanager posts to /alertmanager, the pipeline to /pipeline; each JSON body is
appended as one line to <dir>/alerts.jsonl or <dir>/notifications.jsonl. GET on the same paths returns what
arrived: pipeline events as posted, Alertmanager notifications one entry per alert (received_at, status,
alertname, instance, labels), which is what tests and benchmarks wait on.

Standard library only, so the same file also runs inside the Ansible scenarios' test hosts:
`python3 webhook.py --port P --dir D` (`gantry up` starts it as `python -m gantry.targets.local.webhook`).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FILES = {"/alertmanager": "alerts.jsonl", "/pipeline": "notifications.jsonl"}
MAX_BODY = 1_000_000


def received(directory: Path, path: str) -> list[dict[str, Any]]:
    """What arrived at `path` so far (see the module docstring for the shape)."""
    file = directory / FILES[path]
    lines = [json.loads(line) for line in file.read_text().splitlines()] if file.is_file() else []
    if path == "/pipeline":
        return [line["body"] for line in lines]
    return [
        {
            "received_at": line["received_at"],
            "status": alert.get("status"),
            "alertname": alert.get("labels", {}).get("alertname"),
            "instance": alert.get("labels", {}).get("instance"),
            "labels": alert.get("labels", {}),
        }
        for line in lines
        for alert in line["body"].get("alerts", [])
    ]


def make_handler(directory: Path) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/healthz":
                self._reply(200, {"ok": True})
            elif self.path in FILES:
                with lock:
                    self._reply(200, received(directory, self.path))
            else:
                self._reply(404, {"error": "GET /healthz, /alertmanager or /pipeline"})

        def do_POST(self) -> None:
            name = FILES.get(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if name is None or not 0 < length <= MAX_BODY:
                self._reply(404 if name is None else 400, {"error": "POST JSON to /alertmanager or /pipeline"})
                return
            try:
                body = json.loads(self.rfile.read(length))
            except json.JSONDecodeError:
                self._reply(400, {"error": "body is not JSON"})
                return
            line = json.dumps({"received_at": time.time(), "body": body}, sort_keys=True)
            with lock, (directory / name).open("a") as out:
                out.write(line + "\n")
            self._reply(200, {"ok": True})

        def _reply(self, status: int, payload: object) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args.dir)).serve_forever()


if __name__ == "__main__":
    main()
