"""nameko's queue consumer, made to survive a broker that drops the connection under an ack or a requeue."""

from __future__ import annotations

import logging

from nameko.messaging import QueueConsumer

log = logging.getLogger(__name__)


class TolerantQueueConsumer(QueueConsumer):
    """An ack or requeue on a connection the broker just dropped does not kill the container (nameko only ignores
    amqp's own ConnectionError, not a reset socket): the broker redelivers what was not acked, and the inbox (events)
    or the caller's deadline (RPC) makes the repeat harmless."""

    def ack_message(self, message):
        try:
            super().ack_message(message)
        except Exception as exc:  # noqa: BLE001
            log.warning("could not ack a message; the broker will redeliver it (%s: %s)", type(exc).__name__, exc)

    def requeue_message(self, message):
        try:
            super().requeue_message(message)
        except Exception as exc:  # noqa: BLE001
            log.warning("could not requeue a message; the broker will redeliver it (%s: %s)", type(exc).__name__, exc)
