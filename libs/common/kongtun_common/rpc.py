"""RPC between deployables with a deadline.

nameko 2's RPC proxy waits forever for a reply.  ``ServiceRpc`` sets the
request's AMQP expiration to the deadline (a request nobody took in time is
dropped by the broker instead of being applied later, after the caller gave
up) and raises :class:`ServiceUnavailable` when the deadline passes, the
target service is unknown, or the broker cannot be reached.
"""

from __future__ import annotations

import logging

import eventlet
from nameko.exceptions import UnknownService
from nameko.rpc import ReplyListener, Rpc, RpcConsumer, RpcProxy

from . import remote  # noqa: F401  (callers get typed errors back)
from .errors import KongtunError, ServiceUnavailable, is_unavailable
from .queue_consumer import TolerantQueueConsumer

log = logging.getLogger(__name__)

# A call while the broker is down fails fast (one quick retry) so the gateway answers 503 at once.
FAST_FAILURE = {"max_retries": 1, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 0.5}


class _ReplyListener(ReplyListener):
    queue_consumer = TolerantQueueConsumer()


class _RpcConsumer(RpcConsumer):
    """nameko's RPC consumer, except that a reply or ack the broker cannot take (connection lost) does not
    kill the container: the caller times out (503) and the broker redelivers the unacked request."""

    queue_consumer = TolerantQueueConsumer()

    def handle_result(self, message, result, exc_info):
        try:
            return super().handle_result(message, result, exc_info)
        except Exception as exc:  # noqa: BLE001 - the connection dropped under the reply
            log.warning("could not reply to an RPC request (%s: %s)", type(exc).__name__, exc)
            return result, exc_info


class _Rpc(Rpc):
    rpc_consumer = _RpcConsumer()

    def handle_result(self, message, worker_ctx, result, exc_info):
        if exc_info is not None and not isinstance(exc_info[1], KongtunError) and is_unavailable(exc_info[1]):
            # the database (or broker) is down: the caller may retry later, it is not a bug of the request
            error = ServiceUnavailable(self.container.service_name, "its database or broker is unreachable")
            exc_info = (ServiceUnavailable, error, exc_info[2])
        return super().handle_result(message, worker_ctx, result, exc_info)


def rpc(method):
    """An RPC entrypoint whose Kongtun errors are expected refusals, not failures to log.

    An outage of the service's database answers ServiceUnavailable (the gateway's 503), not an internal error.
    """
    return _Rpc.decorator(expected_exceptions=(KongtunError,))(method)


class ServiceRpc(RpcProxy):
    rpc_reply_listener = _ReplyListener()

    def __init__(self, target_service: str, timeout: float | None = None, **options):
        super().__init__(target_service, **options)
        self.timeout = timeout

    def setup(self):
        super().setup()
        if self.timeout is None:
            self.timeout = float(self.container.config.get("RPC_TIMEOUT_SECONDS", 10))
        self.options.setdefault("expiration", self.timeout)
        self.options.setdefault("retry_policy", FAST_FAILURE)

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
            except Exception as exc:
                if not (isinstance(exc, OSError) or is_unavailable(exc)):
                    raise
                raise ServiceUnavailable(self._service, f"broker unreachable: {exc}") from None
            try:
                with eventlet.Timeout(self._timeout):
                    return reply.result()
            except eventlet.Timeout:
                raise ServiceUnavailable(self._service, f"no answer within {self._timeout:g}s") from None

        return call
