"""Container health check (the task definition's healthCheck command): exit 0 when /healthz answers 200."""

import os
import sys
import urllib.request

PORT = os.environ.get("PORT", "80")

try:
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=2) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError as exc:
    print(f"unhealthy: {exc}", file=sys.stderr)
    sys.exit(1)
