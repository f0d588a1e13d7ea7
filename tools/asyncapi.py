#!/usr/bin/env python3
"""Build the AsyncAPI 3.0.0 document of Kongtun's events from ``contracts/``.

    python tools/asyncapi.py            # writes docs/asyncapi.yaml
    python tools/asyncapi.py --check    # exits 1 if docs/asyncapi.yaml is out of date

The JSON Schemas under ``contracts/`` are the single source of truth: every
``contracts/events/<Name>.v<N>.schema.json`` becomes one channel (address =
routing key = CloudEvents type ``kongtun.<Name>.v<N>``), one message (payload =
the envelope schema with ``data`` replaced by the event's schema, plus an
example event) and one ``receive`` operation ``on<Name>V<N>``.  A new contract
is picked up without changing this script.

Examples come from ``examples`` in a schema when it has them, otherwise they
are synthesised from the field's name, type, format, enum and pattern, with
Thai text for names and titles.  They are deterministic, so the output is too.

Only the standard library and PyYAML are used.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import json
import re
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path

import yaml

DOCUMENT_VERSION = "1.0.0"
ASYNCAPI_VERSION = "3.0.0"

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS_DIR = ROOT / "contracts"
OUTPUT = ROOT / "docs" / "asyncapi.yaml"

EVENTS_EXCHANGE = "kongtun.events"
DEAD_LETTER_EXCHANGE = "kongtun.dead-letters"
CONTENT_TYPE = "application/cloudevents+json"
SERVER = "regional-office"
AMQP_BINDING_VERSION = "0.3.0"

CONTRACT_FILE = re.compile(r"^([A-Z][A-Za-z]+)\.v([1-9][0-9]*)\.schema\.json$")
ID_NAMESPACE = uuid.UUID("6f1d7c52-8a43-5b8e-9d0a-4b1e2c3d4f50")  # fixed: example ids stay stable

# --------------------------------------------------------------------------- descriptions

INFO_DESCRIPTION = f"""\
The domain events of Kongtun, the system of the local health security funds \
(กองทุนหลักประกันสุขภาพระดับท้องถิ่น). This document is generated from the JSON Schemas \
in `contracts/` by `tools/asyncapi.py`; the schemas are the source of truth.

## How to subscribe

Every event is published to the durable topic exchange `{EVENTS_EXCHANGE}` of the regional \
broker, with the CloudEvents `type` as the routing key (for example `kongtun.ProjectSubmitted.v1`). \
To receive events, declare your own durable queue and bind it to `{EVENTS_EXCHANGE}` with the \
routing key of each event type you need, or with `kongtun.#` for all of them. Never consume \
from the queues of Kongtun's own services.

## Payloads

Messages are CloudEvents 1.0 in structured mode: the body is the whole JSON envelope, content \
type `{CONTENT_TYPE}`, and the event's own fields are under `data` (`datacontenttype` \
`application/json`, `dataschema` `urn:kongtun:event:<Name>:v<N>` naming its contract). Besides \
the standard attributes the envelope carries two extension attributes: `region`, the NHSO \
region (1-13, as a string) of the deployment that produced the event, and `correlationid`, the \
id of the request that caused it. Messages are persistent and their AMQP `message_id` is the \
event `id`.

## Delivery and duplicates

Delivery is at-least-once: the same event may arrive more than once. `source` + `id` is unique \
for every event; deduplicate by `id` (with `source` when you read several regions) and make \
your processing idempotent. Event types are versioned: an incompatible change is a new type \
(`.v2`) with its own routing key and contract.

## Failures

Each subscriber queue of Kongtun retries a failed message after increasing delays, a bounded \
number of times, and then dead-letters it to the direct exchange `{DEAD_LETTER_EXCHANGE}` with \
the queue name as routing key (into the queue `<queue>.dead-letters`, the reason in the \
headers); a message that breaks its contract is dead-lettered at once. Your own queues may \
use the same pattern (`x-dead-letter-exchange`).
"""

SERVER_DESCRIPTION = """\
The RabbitMQ broker of one NHSO regional office. Each NHSO region (1-13) runs its own Kongtun \
deployment with its own broker, and an event is published only on the broker of the region \
that produced it (see the `region` attribute): connect to the broker of each region you need. \
`rabbitmq:5672` is the broker's name inside a deployment's network."""

# --------------------------------------------------------------------------- example values

THAI_FUND = "กองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่"
THAI_TITLE = "โครงการส่งเสริมการออกกำลังกายผู้สูงอายุ"
THAI_TEXT = "ตัวอย่างข้อความ"
REGION = 12

# Values for well-known field names; "parent.field" entries win over "field".
# A value is used only if it satisfies the field's schema.
HINTS: dict[str, object] = {
    "fund_code": "L3363",
    "code": "L3363",
    "fund_name": THAI_FUND,
    "name_th": THAI_FUND,
    "name_en": "Ban Rai Subdistrict Municipality Health Security Fund",
    "subdistrict": "บ้านไร่",
    "district": "ศรีนครินทร์",
    "province": "พัทลุง",
    "region": REGION,
    "title": THAI_TITLE,
    "project_title": THAI_TITLE,
    "fiscal_year": 2567,
    "issue": "physical_activity",
    "spending_type": 2,
    "owner.name": "ชมรมผู้สูงอายุบ้านไร่",
    "owner.kind": "citizen_group",
    "contact": "081-234-5678",
    "requested_amount_satang": 2500000,
    "approved_amount_satang": 2400000,
    "submitted_by": "เจ้าหน้าที่กองทุน",
    "approved_by": "คณะกรรมการกองทุนหลักประกันสุขภาพเทศบาลตำบลบ้านไร่",
    "meeting_ref": "การประชุมครั้งที่ 2/2567",
    "days_before_due": 7,
    "start_date": "2024-04-01",
    "end_date": "2024-09-30",
    "due_date": "2024-07-15",
}
DEFAULT_DATE = "2024-03-08"
DEFAULT_DATE_TIME = "2024-03-08T09:00:00+07:00"
ENVELOPE_TIME = "2024-03-08T02:00:00.000000Z"
SUBJECT_FIELDS = ("project_id", "fund_code")  # the aggregate an event is about, in order of preference

FORMAT_SAMPLES = {
    "date": DEFAULT_DATE,
    "date-time": DEFAULT_DATE_TIME,
    "time": "09:00:00+07:00",
    "email": "fund@example.go.th",
    "idn-email": "กองทุน@example.go.th",
    "hostname": "example.go.th",
    "uri": "https://example.go.th/",
    "uri-reference": "/kongtun",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
}


# Formats a hint must satisfy (loosely) to be used.
FORMAT_CHECKS = {
    "date": r"\d{4}-\d{2}-\d{2}",
    "date-time": r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
    "time": r"\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
    "uuid": r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "email": r"[^@\s]+@[^@\s]+",
    "idn-email": r"[^@\s]+@[^@\s]+",
    "uri": r"[A-Za-z][A-Za-z0-9+.-]*:\S*",
}


class GenerationError(Exception):
    """The contracts cannot be turned into a document."""


def _uuid(*parts: object) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, ":".join(str(part) for part in parts)))


def _types(schema: dict) -> list[str]:
    declared = schema.get("type")
    if declared is None:
        return []
    return [declared] if isinstance(declared, str) else list(declared)


def _fits(value: object, schema: dict) -> bool:
    """A light check of a candidate value against the simple keywords of its schema."""
    if "const" in schema:
        return value == schema["const"]
    if "enum" in schema and value not in schema["enum"]:
        return False
    types = _types(schema)
    if types:
        kinds = {
            "string": isinstance(value, str),
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "boolean": isinstance(value, bool),
            "null": value is None,
            "object": isinstance(value, dict),
            "array": isinstance(value, list),
        }
        if not any(kinds.get(kind, False) for kind in types):
            return False
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", len(value)):
            return False
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return False
        check = FORMAT_CHECKS.get(schema.get("format", ""))
        if check and not re.fullmatch(check, value):
            return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < schema.get("minimum", value) or value > schema.get("maximum", value):
            return False
    return True


class _PatternSampler:
    """A string matching a simple regular expression: literals, escapes, classes, groups, quantifiers."""

    def __init__(self, pattern: str):
        self.pattern = pattern
        self.pos = 0

    def sample(self) -> str:
        text = self._alternation()
        if self.pos != len(self.pattern):
            raise ValueError(f"unexpected {self.pattern[self.pos]!r}")
        return text

    def _peek(self) -> str:
        return self.pattern[self.pos] if self.pos < len(self.pattern) else ""

    def _alternation(self) -> str:
        first = self._sequence()
        while self._peek() == "|":
            self.pos += 1
            self._sequence()
        return first

    def _sequence(self) -> str:
        parts = []
        while self._peek() not in ("", "|", ")"):
            atom = self._atom()
            parts.append(atom * self._count())
        return "".join(parts)

    def _atom(self) -> str:
        char = self.pattern[self.pos]
        self.pos += 1
        if char in "^$":
            return ""
        if char == "(":
            if self.pattern.startswith("?:", self.pos):
                self.pos += 2
            elif self._peek() == "?":
                raise ValueError("unsupported group")
            text = self._alternation()
            if self._peek() != ")":
                raise ValueError("unbalanced group")
            self.pos += 1
            return text
        if char == "[":
            return self._class()
        if char == "\\":
            return self._escape()
        if char == ".":
            return "a"
        return char

    def _escape(self) -> str:
        char = self.pattern[self.pos]
        self.pos += 1
        if char.isalpha() and char not in "dws":
            raise ValueError(f"unsupported escape \\{char}")
        return {"d": "1", "w": "a", "s": " "}.get(char, char)

    def _class(self) -> str:
        if self._peek() == "^":
            raise ValueError("negated class")
        first = None
        while True:
            char = self._peek()
            if char == "":
                raise ValueError("unbalanced class")
            self.pos += 1
            if char == "]" and first is not None:
                return first
            if char == "\\":
                char = self._escape()
            if first is None:
                first = char

    def _count(self) -> int:
        char = self._peek()
        if char in ("?", "*", "+"):
            self.pos += 1
            count = 1
        elif char == "{":
            end = self.pattern.index("}", self.pos)
            bounds = self.pattern[self.pos + 1 : end].split(",")
            self.pos = end + 1
            count = max(int(bounds[0] or 0), 1)
        else:
            return 1
        if self._peek() in ("?", "+"):  # lazy or possessive
            self.pos += 1
        return count


def _from_pattern(pattern: str, where: str) -> str:
    try:
        text = _PatternSampler(pattern).sample()
    except (ValueError, IndexError) as exc:
        raise GenerationError(
            f"{where}: cannot synthesise a value for pattern {pattern!r} ({exc}); add `examples` to the schema"
        ) from None
    if not re.search(pattern, text):
        raise GenerationError(f"{where}: synthesised {text!r} does not match {pattern!r}; add `examples` to the schema")
    return text


def _shift_date(text: str, index: int) -> str:
    if not index:
        return text
    return (date.fromisoformat(text[:10]) + timedelta(days=30 * index)).isoformat() + text[10:]


def _is_name_like(name: str) -> bool:
    return name in {"name", "name_th", "title"} or name.endswith(("_name", "_title"))


def _pointer(root: dict, ref: str, where: str) -> dict:
    if not ref.startswith("#"):
        raise GenerationError(f"{where}: $ref {ref!r}: only references inside a contract are supported")
    node: object = root
    for token in [part for part in ref[1:].split("/") if part]:
        token = token.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or token not in node:
            raise GenerationError(f"{where}: $ref {ref!r} does not resolve")
        node = node[token]
    return node


def _flatten(schema: dict, root: dict, where: str) -> dict:
    """``schema`` with local ``$ref``, ``allOf`` and the first branch of ``oneOf``/``anyOf`` merged in."""
    schema = dict(schema)
    while "$ref" in schema:
        schema = {**_pointer(root, schema.pop("$ref"), where), **schema}
    for keyword in ("oneOf", "anyOf"):
        if schema.get(keyword):
            schema = {**_flatten(schema.pop(keyword)[0], root, where), **schema}
    for part in schema.pop("allOf", []):
        part = _flatten(part, root, where)
        merged_properties = {**part.get("properties", {}), **schema.get("properties", {})}
        schema = {**part, **schema}
        if merged_properties:
            schema["properties"] = merged_properties
    return schema


def example_value(schema: dict, path: tuple[str, ...] = (), index: int = 0, root: dict | None = None) -> object:
    """A plausible value for ``schema`` (part of ``root``); ``path`` holds the property names leading to it."""
    where = ".".join(path) or "<root>"
    root = schema if root is None else root
    schema = _flatten(schema, root, where)
    if "examples" in schema and schema["examples"]:
        return copy.deepcopy(schema["examples"][0])
    name = path[-1] if path else ""
    for key in (".".join(path[-2:]), name):
        if key in HINTS and _fits(HINTS[key], schema):
            hint = HINTS[key]
            return _shift_date(hint, index) if schema.get("format") in ("date", "date-time") else hint
    if "const" in schema:
        return copy.deepcopy(schema["const"])
    if "enum" in schema:
        return copy.deepcopy(schema["enum"][index % len(schema["enum"])])
    types = [kind for kind in _types(schema) if kind != "null"] or (
        ["object"] if "properties" in schema else ["array"] if "items" in schema else ["string"]
    )
    kind = types[0]
    if kind == "object":
        properties = schema.get("properties", {})
        return {prop: example_value(sub, (*path, prop), index, root) for prop, sub in properties.items()}
    if kind == "array":
        items = schema.get("items", {})
        count = max(schema.get("minItems", 0), min(2, schema.get("maxItems", 2)))
        return [example_value(items, path, position, root) for position in range(count)]
    if kind in ("integer", "number"):
        value = schema["minimum"] if "minimum" in schema else schema.get("exclusiveMinimum", 0) + 1
        value = max(value, 1)
        if "maximum" in schema:
            value = min(value, schema["maximum"])
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    # a string
    fmt = schema.get("format")
    if fmt == "uuid":
        return _uuid(where, index)
    if fmt in FORMAT_SAMPLES:
        return _shift_date(FORMAT_SAMPLES[fmt], index) if fmt in ("date", "date-time") else FORMAT_SAMPLES[fmt]
    if "pattern" in schema:
        return _from_pattern(schema["pattern"], where)
    if name == "name_en" or name.endswith("_en"):
        text = "Example"
    elif _is_name_like(name):
        text = THAI_TITLE if "title" in name else THAI_FUND
    else:
        text = THAI_TEXT
    text = text[: schema.get("maxLength", len(text))]
    return text + "ก" * max(schema.get("minLength", 0) - len(text), 0)


# --------------------------------------------------------------------------- contracts


def _load_json(path: Path) -> dict:
    try:
        with path.open(encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, json.JSONDecodeError) as exc:
        raise GenerationError(f"{path}: {exc}") from None


def load_contracts(contracts_dir: Path = CONTRACTS_DIR) -> tuple[dict, list[tuple[str, int, dict]]]:
    """The envelope schema and ``(name, version, data schema)`` of every event, sorted."""
    envelope = _load_json(contracts_dir / "envelope.schema.json")
    events = []
    for path in sorted((contracts_dir / "events").glob("*.schema.json")):
        match = CONTRACT_FILE.match(path.name)
        if not match:
            raise GenerationError(f"{path}: expected a name like ProjectSubmitted.v1.schema.json")
        events.append((match.group(1), int(match.group(2)), _load_json(path)))
    events.sort(key=lambda event: (event[0], event[1]))
    if not events:
        raise GenerationError(f"{contracts_dir / 'events'}: no event contracts")
    return envelope, events


def _embedded(schema: dict, pointer: str) -> dict:
    """A copy of a contract schema to inline at ``pointer``: no ``$schema``/``$id``, local refs re-rooted."""
    result = copy.deepcopy(schema)
    result.pop("$schema", None)
    result.pop("$id", None)

    def reroot(node):
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                if not ref.startswith("#"):
                    raise GenerationError(f"$ref {ref!r}: only references inside a contract are supported")
                node["$ref"] = pointer + ref[1:]
            for value in node.values():
                reroot(value)
        elif isinstance(node, list):
            for value in node:
                reroot(value)

    reroot(result)
    return result


def example_event(envelope_schema: dict, name: str, version: int, data_schema: dict, producer: str) -> dict:
    event_type = f"kongtun.{name}.v{version}"
    data = example_value(data_schema)
    skeleton = example_value(
        {
            **envelope_schema,
            "properties": {key: value for key, value in envelope_schema.get("properties", {}).items() if key != "data"},
        }
    )
    known = {
        "specversion": "1.0",
        "id": _uuid(event_type, "id"),
        "source": f"/kongtun/region/{REGION}/{producer}",
        "type": event_type,
        "time": ENVELOPE_TIME,
        "subject": next(
            (str(data[field]) for field in SUBJECT_FIELDS if isinstance(data, dict) and field in data),
            _uuid(event_type, "subject"),
        ),
        "datacontenttype": "application/json",
        "dataschema": f"urn:kongtun:event:{name}:v{version}",
        "region": str(REGION),
        "correlationid": _uuid(event_type, "correlationid"),
    }
    event = {key: known.get(key, value) for key, value in skeleton.items()}
    event["data"] = data
    return event


# --------------------------------------------------------------------------- document


def build_document(contracts_dir: Path = CONTRACTS_DIR) -> dict:
    """The AsyncAPI document (a dict) for the contracts in ``contracts_dir``."""
    envelope, events = load_contracts(contracts_dir)
    channels: dict[str, dict] = {}
    operations: dict[str, dict] = {}
    messages: dict[str, dict] = {}
    for name, version, data_schema in events:
        key = f"{name}V{version}"
        event_type = f"kongtun.{name}.v{version}"
        producer = data_schema.get("x-kongtun-producer")  # the contract says which service publishes it
        published_by = f", published by the `{producer}` service" if producer else ""
        # the example's source needs a service: the producer, or a guess from the name (Fund -> funds)
        source_service = producer or re.match(r"[A-Z][a-z]*", name).group(0).lower() + "s"
        summary = data_schema.get("description") or f"{name} version {version}."
        payload = _embedded(envelope, f"#/components/messages/{key}/payload")
        payload.setdefault("properties", {})["data"] = _embedded(
            data_schema, f"#/components/messages/{key}/payload/properties/data"
        )
        messages[key] = {
            "name": key,
            "title": data_schema.get("title") or f"{name} v{version}",
            "summary": summary,
            "description": (
                f"CloudEvent of type `{event_type}`{published_by}. The envelope follows "
                f"`contracts/envelope.schema.json`; `data` follows `contracts/events/{name}.v{version}.schema.json` "
                f"(`dataschema` `urn:kongtun:event:{name}:v{version}`)."
            ),
            "contentType": CONTENT_TYPE,
            "correlationId": {
                "description": "The request that caused the event (CloudEvents extension `correlationid`).",
                "location": "$message.payload#/correlationid",
            },
            "bindings": {"amqp": {"messageType": event_type, "bindingVersion": AMQP_BINDING_VERSION}},
            "payload": payload,
            "examples": [
                {
                    "name": f"{name}V{version}Example",
                    "summary": f"A {event_type} event from NHSO region {REGION}",
                    "payload": example_event(envelope, name, version, data_schema, source_service),
                }
            ],
        }
        channels[key] = {
            "address": event_type,
            "title": f"{name} v{version}",
            "summary": summary,
            "description": (
                f"Messages with routing key `{event_type}` on the topic exchange `{EVENTS_EXCHANGE}`. Bind your own "
                f"queue to `{EVENTS_EXCHANGE}` with this routing key (or `kongtun.#` for every event)."
            ),
            "servers": [{"$ref": f"#/servers/{SERVER}"}],
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
            "bindings": {
                "amqp": {
                    "is": "routingKey",
                    "exchange": {
                        "name": EVENTS_EXCHANGE,
                        "type": "topic",
                        "durable": True,
                        "autoDelete": False,
                        "vhost": "/",
                    },
                    "bindingVersion": AMQP_BINDING_VERSION,
                }
            },
        }
        operations[f"on{key}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{key}"},
            "title": f"Receive {event_type}",
            "summary": summary,
            "description": (
                f"Consume `{event_type}` from a queue of your own bound to `{EVENTS_EXCHANGE}` with routing key "
                f"`{event_type}`. Delivery is at-least-once: deduplicate by the event `id` and acknowledge after "
                f"processing. In Kongtun's own subscriber queues a message that fails is retried after a delay, a "
                f"bounded number of times, then dead-lettered to the direct exchange `{DEAD_LETTER_EXCHANGE}` with "
                f"the queue name as routing key; a message that breaks its contract is dead-lettered at once."
            ),
            "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
            "bindings": {"amqp": {"ack": True, "bindingVersion": AMQP_BINDING_VERSION}},
        }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:kongtun:events",
        "info": {
            "title": "Kongtun events",
            "version": DOCUMENT_VERSION,
            "description": INFO_DESCRIPTION,
        },
        "servers": {
            SERVER: {
                "host": "rabbitmq:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "title": "Regional office broker",
                "description": SERVER_DESCRIPTION,
            },
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line strings, no anchors/aliases."""

    def ignore_aliases(self, data):
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def render(document: dict) -> str:
    header = "# Generated by tools/asyncapi.py from contracts/ -- do not edit; run `python tools/asyncapi.py`.\n"
    return header + yaml.dump(document, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120)


def generate(contracts_dir: Path = CONTRACTS_DIR) -> str:
    """The text of docs/asyncapi.yaml for ``contracts_dir``."""
    return render(build_document(contracts_dir))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build docs/asyncapi.yaml (AsyncAPI 3.0.0) from contracts/.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs from what would be generated")
    parser.add_argument("--contracts", type=Path, default=CONTRACTS_DIR, help="contracts directory (%(default)s)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="the document to write or check (%(default)s)")
    args = parser.parse_args(argv)
    try:
        text = generate(args.contracts)
    except GenerationError as exc:
        print(f"asyncapi: {exc}", file=sys.stderr)
        return 2
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.is_file() else ""
        if current == text:
            print(f"{args.output} is up to date")
            return 0
        diff = list(
            difflib.unified_diff(
                current.splitlines(), text.splitlines(), str(args.output), "generated", lineterm="", n=1
            )
        )
        print(
            f"{args.output} is out of date with {args.contracts}; run `python tools/asyncapi.py` and commit it.",
            file=sys.stderr,
        )
        print("\n".join(diff[:40] + (["..."] if len(diff) > 40 else [])), file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
