"""The broker objects of the event backbone, named in one place.

- ``kongtun.events`` (topic): every event, routing key = event type
  (``kongtun.ProjectApproved.v1``).  Integrators bind their own queues here.
- ``<service>.<handler>``: one durable queue per event handler.
- ``<queue>.retry.<ms>``: delay queues; a failed message waits there for its
  TTL, then RabbitMQ dead-letters it back to ``<queue>`` (default exchange).
- ``kongtun.dead-letters`` (direct) and ``<queue>.dead-letters``: where a
  message ends after its retries, or at once when it is invalid, with the
  reason in its headers.
"""

from __future__ import annotations

from kombu import Exchange, Queue

EVENTS_EXCHANGE = "kongtun.events"
DEAD_LETTER_EXCHANGE = "kongtun.dead-letters"

ATTEMPT_HEADER = "x-kongtun-attempt"
REASON_HEADER = "x-kongtun-reason"
ERROR_HEADER = "x-kongtun-error"
QUEUE_HEADER = "x-kongtun-queue"
DEAD_AT_HEADER = "x-kongtun-dead-lettered-at"


def events_exchange() -> Exchange:
    return Exchange(EVENTS_EXCHANGE, type="topic", durable=True)


def dead_letter_exchange() -> Exchange:
    return Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True)


def handler_queue(name: str, routing_key: str) -> Queue:
    return Queue(
        name,
        exchange=events_exchange(),
        routing_key=routing_key,
        durable=True,
        queue_arguments={
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": name,
        },
    )


def retry_queue_name(queue: str, delay_ms: int) -> str:
    return f"{queue}.retry.{delay_ms}ms"


def retry_queue(queue: str, delay_ms: int) -> Queue:
    return Queue(
        retry_queue_name(queue, delay_ms),
        durable=True,
        queue_arguments={
            "x-message-ttl": delay_ms,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": queue,
        },
    )


def dead_letter_queue_name(queue: str) -> str:
    return f"{queue}.dead-letters"


def dead_letter_queue(queue: str) -> Queue:
    return Queue(
        dead_letter_queue_name(queue),
        exchange=dead_letter_exchange(),
        routing_key=queue,
        durable=True,
    )
