"""The CloudEvents 1.0 envelope every Kongtun event travels in.

Structured mode over AMQP: the message body is the whole envelope as JSON
(content type ``application/cloudevents+json``).  Besides the required and
optional CloudEvents attributes, two extensions: ``region`` (the NHSO region
of the deployment that produced the event) and ``correlationid`` (the id of
the request that caused it, carried through RPC and events into every log).

Type names are versioned: ``kongtun.ProjectSubmitted.v1``.  The type is also
the AMQP routing key on the ``kongtun.events`` topic exchange.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json"
DATA_CONTENT_TYPE = "application/json"
TYPE_PREFIX = "kongtun."

_TYPE_PATTERN = re.compile(r"^kongtun\.([A-Z][A-Za-z]+)\.v([1-9][0-9]*)$")


class EnvelopeError(ValueError):
    """An envelope that is not a valid Kongtun CloudEvent."""


def event_type(name: str, version: int = 1) -> str:
    return f"{TYPE_PREFIX}{name}.v{version}"


def parse_event_type(type_: str) -> tuple[str, int]:
    match = _TYPE_PATTERN.match(type_ or "")
    if not match:
        raise EnvelopeError(f"type {type_!r} is not a versioned Kongtun event type")
    return match.group(1), int(match.group(2))


def schema_uri(name: str, version: int) -> str:
    return f"urn:kongtun:event:{name}:v{version}"


def source_for(region: int, service: str) -> str:
    return f"/kongtun/region/{region}/{service}"


@dataclass(frozen=True)
class Event:
    """A received or about-to-be-published event."""

    id: str
    type: str
    source: str
    subject: str
    time: str
    region: int
    correlation_id: str
    data: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return parse_event_type(self.type)[0]

    @property
    def version(self) -> int:
        return parse_event_type(self.type)[1]

    def to_envelope(self) -> dict:
        name, version = parse_event_type(self.type)
        return {
            "specversion": SPEC_VERSION,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": self.time,
            "datacontenttype": DATA_CONTENT_TYPE,
            "dataschema": schema_uri(name, version),
            "region": str(self.region),
            "correlationid": self.correlation_id,
            "data": self.data,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_envelope(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_envelope(cls, envelope: dict) -> Event:
        """Build from a decoded envelope; the caller validates it first."""
        return cls(
            id=envelope["id"],
            type=envelope["type"],
            source=envelope["source"],
            subject=envelope.get("subject", ""),
            time=envelope["time"],
            region=int(envelope["region"]),
            correlation_id=envelope.get("correlationid", ""),
            data=envelope.get("data") or {},
        )


def new_event(
    name: str,
    data: dict,
    *,
    subject: str,
    source: str,
    region: int,
    correlation_id: str,
    version: int = 1,
    now: datetime | None = None,
) -> Event:
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return Event(
        id=str(uuid.uuid4()),
        type=event_type(name, version),
        source=source,
        subject=subject,
        time=moment.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        region=region,
        correlation_id=correlation_id,
        data=data,
    )


def decode(body) -> dict:
    """Decode an AMQP body into an envelope dict, or raise EnvelopeError."""
    if isinstance(body, dict):
        return body
    if isinstance(body, (bytes, bytearray)):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EnvelopeError(f"body is not UTF-8: {exc}") from None
    if not isinstance(body, str):
        raise EnvelopeError(f"body of type {type(body).__name__} is not a JSON envelope")
    try:
        envelope = json.loads(body)
    except json.JSONDecodeError as exc:
        raise EnvelopeError(f"body is not JSON: {exc}") from None
    if not isinstance(envelope, dict):
        raise EnvelopeError("envelope is not a JSON object")
    return envelope
