"""A nameko entrypoint that runs its method again and again: at once while there is more work,
else after an interval or as soon as a worker rings the doorbell (new deliveries committed)."""

from __future__ import annotations

import logging

import eventlet
from eventlet.event import Event
from eventlet.queue import Empty, LightQueue
from nameko.extensions import DependencyProvider, Entrypoint, SharedExtension

log = logging.getLogger(__name__)


class Doorbell(SharedExtension):
    def setup(self):
        self._rings = LightQueue(maxsize=1)

    def ring(self) -> None:
        try:
            self._rings.put_nowait(True)
        except eventlet.queue.Full:
            pass

    def wait(self, timeout: float) -> None:
        try:
            self._rings.get(timeout=timeout)
        except Empty:
            pass


class Wake(DependencyProvider):
    """``self.wake()`` in a worker: the delivery loop looks for work now."""

    doorbell = Doorbell()

    def get_dependency(self, worker_ctx):
        return self.doorbell.ring


class WorkLoop(Entrypoint):
    doorbell = Doorbell()

    def __init__(self, interval_key: str, interval: float = 1.0, enabled_key: str = "", **kwargs):
        self.interval_key = interval_key
        self.default_interval = interval
        self.enabled_key = enabled_key
        super().__init__(**kwargs)

    def setup(self):
        config = self.container.config
        self.interval = float(config.get(self.interval_key, self.default_interval))
        self.enabled = str(config.get(self.enabled_key, "on")).lower() not in ("off", "false", "0")
        self._running = False

    def start(self):
        if self.enabled:
            self._running = True
            self.container.spawn_managed_thread(self._run, identifier=f"kongtun.loop.{self.method_name}")

    def stop(self):
        self._running = False
        self.doorbell.ring()

    def kill(self):
        self._running = False

    def _run(self):
        while self._running:
            done = Event()

            def handle_result(worker_ctx, result, exc_info, done=done):
                done.send(bool(result) if exc_info is None else False)
                return result, exc_info

            try:
                self.container.spawn_worker(self, (), {}, handle_result=handle_result)
            except Exception as exc:  # the container is stopping
                log.debug("work loop stopped: %s", exc)
                return
            more = done.wait()
            if not more:
                self.doorbell.wait(self.interval)


work_loop = WorkLoop.decorator
