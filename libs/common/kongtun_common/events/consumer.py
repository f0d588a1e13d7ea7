"""The ``@event_handler`` entrypoint: validated, retried, dead-lettered.

nameko's own event handler acks a message whose handler raised and decodes
bodies before anyone can look at them, so a poison message is either lost or
loops forever.  This entrypoint receives the raw message and:

1. checks the envelope and the payload against ``contracts/``; an invalid
   message goes straight to the dead letters with the reason;
2. runs the handler in a worker with the event's correlation id;
3. on failure re-publishes the message to a delay queue (``x-message-ttl``)
   a bounded number of times, then to the dead letters with the last error;
4. acks the original only after the retry or dead-letter copy is confirmed
   by the broker; if that publish fails, the message is requeued, never lost.

Handlers make their effect idempotent with ``Database.apply_event``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import partial

from kombu import Connection
from nameko.amqp.publish import Publisher
from nameko.containers import ContainerBeingKilled
from nameko.messaging import Consumer

from ..errors import is_unavailable
from ..observability import CORRELATION_KEY, EVENTS_CONSUMED, EVENTS_DEAD_LETTERED, EVENTS_RETRIED
from ..queue_consumer import TolerantQueueConsumer
from .contracts import ContractViolation, validate_envelope
from .envelope import EnvelopeError, Event, decode, event_type, parse_event_type
from .topology import (
    ATTEMPT_HEADER,
    DEAD_AT_HEADER,
    ERROR_HEADER,
    QUEUE_HEADER,
    REASON_HEADER,
    dead_letter_exchange,
    dead_letter_queue,
    handler_queue,
    retry_queue,
    retry_queue_name,
)

log = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 2000
# An event body larger than this is dead-lettered unread (reason ``invalid``): events carry facts, not files;
# the largest Kongtun publishes is a few KiB, and the gateway takes no request body over 1 MiB either.
MAX_EVENT_BYTES = 1024 * 1024


class RawQueueConsumer(TolerantQueueConsumer):
    """A queue consumer that hands over undecoded messages.

    Decoding is the entrypoint's job, so that a body kombu cannot decode is
    dead-lettered instead of breaking the consumer loop.
    """

    def get_consumers(self, consumer_cls, channel):
        for provider in self._providers:
            consumer = consumer_cls(
                queues=[provider.queue],
                on_message=partial(self._on_raw_message, provider),
            )
            consumer.qos(prefetch_count=self.prefetch_count)
            self._consumers[provider] = consumer
        return self._consumers.values()

    def _on_raw_message(self, provider, message):
        self.handle_message(provider, message.body, message)


ANY_EVENT = "*"


class EventHandler(Consumer):
    """Consume one versioned event type (or every one, with ``ANY_EVENT``) into one durable queue per handler."""

    queue_consumer = RawQueueConsumer()

    def __init__(self, event_name: str, version: int = 1, **kwargs):
        self.event_name = event_name
        self.version = version
        self.type = None if event_name == ANY_EVENT else event_type(event_name, version)
        super().__init__(queue=None, **kwargs)

    @property
    def queue_name(self) -> str:
        return f"{self.container.service_name}.{self.method_name}"

    def setup(self):
        config = self.container.config
        self.service = self.container.service_name
        self.handler = f"{self.service}.{self.method_name}"
        self.delays = [int(delay) for delay in config.get("EVENT_RETRY_DELAYS_MS", [1000, 5000, 30000])]
        self.queue = handler_queue(self.queue_name, self.type or "kongtun.#")
        self._publisher = Publisher(config["AMQP_URI"], use_confirms=True, mandatory=True)
        self._declare(config["AMQP_URI"])
        super().setup()

    def _declare(self, amqp_uri: str) -> None:
        with Connection(amqp_uri) as connection:
            channel = connection.channel()
            dead_letter_exchange()(channel).declare()
            self.queue(channel).declare()
            dead_letter_queue(self.queue_name)(channel).declare()
            for delay in self.delays:
                retry_queue(self.queue_name, delay)(channel).declare()

    def handle_message(self, body, message):
        if isinstance(body, bytes | str) and len(body) > MAX_EVENT_BYTES:
            error = f"body of {len(body)} bytes is over the {MAX_EVENT_BYTES} bytes an event may have"
            self._dead_letter(message, "invalid", error, "unknown")
            return
        try:
            envelope = decode(body)
            _validate_once(body, envelope)
            event = Event.from_envelope(envelope)
        except (EnvelopeError, ContractViolation, KeyError, ValueError) as exc:
            self._dead_letter(message, "invalid", str(exc), type_=_type_of(body))
            return
        except Exception as exc:  # noqa: BLE001 - e.g. RecursionError on deeply nested JSON: never kill the consumer
            self._dead_letter(message, "invalid", f"{type(exc).__name__}: {exc}", type_="unknown")
            return
        if self.type is not None and event.type != self.type:
            self._dead_letter(message, "unexpected_type", f"{event.type} reached a {self.type} handler", event.type)
            return

        context_data = self.unpack_message_headers(message)
        context_data[CORRELATION_KEY] = event.correlation_id or context_data.get(CORRELATION_KEY)
        try:
            self.container.spawn_worker(
                self,
                (event,),
                {},
                context_data=context_data,
                handle_result=partial(self.handle_result, message, event),
            )
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def handle_result(self, message, event, worker_ctx, result=None, exc_info=None):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return result, exc_info
        EVENTS_CONSUMED.labels(self.service, self.handler, event.type, "failed").inc()
        attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 0))
        error = f"{type(exc_info[1]).__name__}: {exc_info[1]}"[:MAX_ERROR_LENGTH]
        # An outage (database or broker unreachable) is no fault of the event: retried without using up
        # an attempt, so an outage longer than the retry delays dead-letters nothing.
        outage = self.delays and is_unavailable(exc_info[1])
        if attempt < len(self.delays) or outage:
            delay = self.delays[min(attempt, len(self.delays) - 1)]
            published = self._republish(
                message,
                routing_key=retry_queue_name(self.queue_name, delay),
                exchange="",
                headers={ATTEMPT_HEADER: attempt if outage else attempt + 1, ERROR_HEADER: error},
            )
            if published:
                EVENTS_RETRIED.labels(self.service, self.handler, event.type).inc()
                log.warning(
                    "event %s failed in %s (attempt %d), retry in %d ms: %s",
                    event.id,
                    self.handler,
                    attempt + 1,
                    delay,
                    error,
                )
        else:
            published = self._dead_letter(
                message, "failed", f"failed after {attempt + 1} attempts: {error}", event.type, ack=False
            )
        if published:
            self.queue_consumer.ack_message(message)
        else:
            self.queue_consumer.requeue_message(message)
        return result, exc_info

    def _dead_letter(self, message, reason: str, error: str, type_: str, ack: bool = True) -> bool:
        published = self._republish(
            message,
            routing_key=self.queue_name,
            exchange=dead_letter_exchange(),
            headers={
                REASON_HEADER: reason,
                ERROR_HEADER: error[:MAX_ERROR_LENGTH],
                QUEUE_HEADER: self.queue_name,
                DEAD_AT_HEADER: datetime.now(UTC).isoformat(),
            },
        )
        if published:
            EVENTS_DEAD_LETTERED.labels(self.service, self.handler, type_ or "unknown", reason).inc()
            log.error("message dead-lettered from %s (%s): %s", self.queue_name, reason, error)
        if ack:
            if published:
                self.queue_consumer.ack_message(message)
            else:
                self.queue_consumer.requeue_message(message)
        return published

    def _republish(self, message, *, routing_key: str, exchange, headers: dict) -> bool:
        merged = dict(message.headers or {})
        merged.update(headers)
        properties = message.properties or {}
        try:
            self._publisher.publish(
                message.body,
                exchange=exchange,
                routing_key=routing_key,
                headers=merged,
                content_type=message.content_type or "application/octet-stream",
                content_encoding=message.content_encoding or "binary",
                message_id=properties.get("message_id"),
            )
        except Exception as exc:  # broker trouble: the original will be requeued
            log.error("could not move a message from %s: %s", self.queue_name, exc)
            return False
        return True


# Bodies that passed the contract check lately, in this process.  A service with several handlers of one
# type (reporting: the read model and the event history) receives the same body once per handler; the check is
# deterministic, so it runs once per body.  Bounded: the oldest entry goes first.
_CHECKED_BODIES: dict = {}
CHECKED_BODIES_KEPT = 256
CHECKED_BODY_MAX_BYTES = 64 * 1024


def _validate_once(body, envelope: dict) -> None:
    cacheable = isinstance(body, bytes | str) and len(body) <= CHECKED_BODY_MAX_BYTES
    if cacheable and body in _CHECKED_BODIES:
        return
    validate_envelope(envelope)
    if cacheable:
        if len(_CHECKED_BODIES) >= CHECKED_BODIES_KEPT:
            del _CHECKED_BODIES[next(iter(_CHECKED_BODIES))]
        _CHECKED_BODIES[body] = True


def _type_of(body) -> str:
    try:
        envelope = decode(body)
    except EnvelopeError:
        return "unknown"
    try:
        name, version = parse_event_type(envelope.get("type"))
    except (EnvelopeError, TypeError):
        return "unknown"
    return event_type(name, version)


event_handler = EventHandler.decorator
