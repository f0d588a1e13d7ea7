"""A real SMTP server for the tests: aiosmtpd on a loopback port, each message saved as an .eml file.

    python smtp_sink.py --port 2525 --dir /tmp/mail [--fail-first 2]

``--fail-first N`` answers the first N messages with ``451`` (a temporary failure, to be retried).
Prints ``ready <port>`` once it accepts connections.  Messages are named by arrival order.
"""

from __future__ import annotations

import argparse
import itertools
import signal
import sys
import threading
from pathlib import Path

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory: Path, fail_first: int):
        self.directory = directory
        self.fail_first = fail_first
        self.counter = itertools.count(1)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            number = next(self.counter)
        if number <= self.fail_first:
            return "451 4.3.0 Try again later"
        name = self.directory / f"{number:06d}.eml"
        partial = name.with_suffix(".part")
        partial.write_bytes(envelope.original_content or envelope.content)
        partial.rename(name)  # readers never see half a message
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    controller = Controller(Sink(args.dir, args.fail_first), hostname="127.0.0.1", port=args.port)
    controller.start()
    print(f"ready {args.port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
