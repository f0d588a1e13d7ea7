"""RPC between deployables with a deadline.

nameko 2's RPC proxy waits forever for a reply.  ``ServiceRpc`` sets the
request's AMQP expiration to the deadline (a request nobody took in time is
dropped by the broker instead of being applied later, after the caller gave
up) and raises :class:`ServiceUnavailable` when the deadline passes, the
target service is unknown, or the broker cannot be reached.
"""

from __future__ import annotations

import eventlet
from nameko.exceptions import UnknownService
from nameko.rpc import RpcProxy
from nameko.rpc import rpc as nameko_rpc

from . import remote  # noqa: F401  (callers get typed errors back)
from .errors import KongtunError, ServiceUnavailable


def rpc(method):
    """An RPC entrypoint whose Kongtun errors are expected refusals, not failures to log."""
    return nameko_rpc(expected_exceptions=(KongtunError,))(method)


class ServiceRpc(RpcProxy):
    def __init__(self, target_service: str, timeout: float | None = None, **options):
        super().__init__(target_service, **options)
        self.timeout = timeout

    def setup(self):
        super().setup()
        if self.timeout is None:
            self.timeout = float(self.container.config.get("RPC_TIMEOUT_SECONDS", 10))
        self.options.setdefault("expiration", self.timeout)

    def get_dependency(self, worker_ctx):
        return _DeadlineProxy(super().get_dependency(worker_ctx), self.target_service, self.timeout)


class _DeadlineProxy:
    def __init__(self, proxy, service: str, timeout: float):
        self._proxy = proxy
        self._service = service
        self._timeout = timeout

    def __getattr__(self, method: str):
        def call(*args, **kwargs):
            try:
                reply = getattr(self._proxy, method).call_async(*args, **kwargs)
            except UnknownService:
                raise ServiceUnavailable(self._service) from None
            except (OSError, ConnectionError) as exc:
                raise ServiceUnavailable(self._service, f"broker unreachable: {exc}") from None
            try:
                with eventlet.Timeout(self._timeout):
                    return reply.result()
            except eventlet.Timeout:
                raise ServiceUnavailable(self._service, f"no answer within {self._timeout:g}s") from None

        return call
