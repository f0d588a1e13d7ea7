"""A real HTTP webhook receiver for the tests, on a loopback port.

    python webhook_receiver.py --port 8999 --dir /tmp/hooks

Every request is saved as ``<n>.json`` (headers, body, arrival time, the status answered).  What it
answers is read from ``<dir>/mode.json`` at each request, so a test can change it while it runs:
``{"status": 500}`` fails, ``{"status": 200, "delay": 5}`` answers slowly.  Default: 200 at once.
Prints ``ready <port>`` once it listens.
"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

COUNTER = itertools.count(1)
LOCK = threading.Lock()


def make_handler(directory: Path):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                mode = json.loads((directory / "mode.json").read_text())
            except (OSError, ValueError):
                mode = {}
            with LOCK:
                number = next(COUNTER)
            status = int(mode.get("status", 200))
            record = {
                "number": number,
                "at": time.time(),
                "path": self.path,
                "headers": dict(self.headers.items()),
                "body": body.decode("utf-8"),
                "status": status,
            }
            target = directory / f"{number:06d}.json"
            target.with_suffix(".part").write_text(json.dumps(record, ensure_ascii=False))
            target.with_suffix(".part").rename(target)
            time.sleep(float(mode.get("delay", 0)))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args.dir))
    server.daemon_threads = True
    print(f"ready {args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
