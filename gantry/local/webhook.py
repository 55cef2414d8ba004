"""The local notification receiver: Alertmanager posts to /alertmanager, the pipeline to /pipeline; each
JSON body is appended as one line to <dir>/alerts.jsonl or <dir>/notifications.jsonl.

Run as `python -m gantry.local.webhook --port P --dir D` (gantry up starts it)."""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FILES = {"/alertmanager": "alerts.jsonl", "/pipeline": "notifications.jsonl"}
MAX_BODY = 1_000_000


def make_handler(directory: Path) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._reply(200 if self.path == "/healthz" else 404, {"ok": self.path == "/healthz"})

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

        def _reply(self, status: int, payload: dict[str, object]) -> None:
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
