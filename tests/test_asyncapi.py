"""docs/asyncapi.yaml: generated from contracts/, complete, with valid examples, structurally AsyncAPI 3.0.0."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT / "contracts"
DOCUMENT = ROOT / "docs" / "asyncapi.yaml"
TOOL = ROOT / "tools" / "asyncapi.py"
CONTRACT_FILE = re.compile(r"^([A-Z][A-Za-z]+)\.v([1-9][0-9]*)\.schema\.json$")
COMPONENT_KEY = re.compile(r"^[\w\d.\-_]+$")  # AsyncAPI 3: keys of channels, operations, components


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("kongtun_tools_asyncapi", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


@pytest.fixture(scope="module")
def document() -> dict:
    with DOCUMENT.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _json(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def _validator(schema: dict) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def _contract_keys(contracts: Path = CONTRACTS) -> dict[str, tuple[str, int]]:
    """``ProjectSubmittedV1`` -> ``("ProjectSubmitted", 1)`` for every event contract."""
    keys = {}
    for path in (contracts / "events").glob("*.schema.json"):
        match = CONTRACT_FILE.match(path.name)
        assert match, f"{path.name}: contract files are named <Name>.v<N>.schema.json"
        keys[f"{match.group(1)}V{match.group(2)}"] = (match.group(1), int(match.group(2)))
    return keys


def _errors(validator: Draft202012Validator, instance) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in validator.iter_errors(instance)
    ]


def _check_examples(document: dict, contracts: Path) -> int:
    """Validate every example of ``document`` against ``contracts``; the number checked."""
    envelope = _validator(_json(contracts / "envelope.schema.json"))
    registry = Registry().with_resource("urn:test:asyncapi", Resource.from_contents(document, DRAFT202012))
    checked = 0
    for key, message in document["components"]["messages"].items():
        assert message.get("examples"), f"message {key} has no example"
        embedded = Draft202012Validator(
            {"$ref": f"urn:test:asyncapi#/components/messages/{key}/payload"},
            registry=registry,
            format_checker=FormatChecker(),
        )
        for example in message["examples"]:
            event = example["payload"]
            name, version = re.fullmatch(r"kongtun\.([A-Za-z]+)\.v(\d+)", event["type"]).groups()
            assert f"{name}V{version}" == key, f"example of {key} has type {event['type']}"
            data = _validator(_json(contracts / "events" / f"{name}.v{version}.schema.json"))
            assert not _errors(envelope, event), f"{key} example envelope: {_errors(envelope, event)}"
            assert not _errors(data, event["data"]), f"{key} example data: {_errors(data, event['data'])}"
            assert not _errors(embedded, event), f"{key} example vs message payload: {_errors(embedded, event)}"
            checked += 1
    return checked


# (a) the committed document is what the generator makes


def test_committed_document_is_up_to_date(tool):
    assert DOCUMENT.is_file(), "docs/asyncapi.yaml is missing: run `python tools/asyncapi.py`"
    expected = tool.generate(CONTRACTS)
    assert DOCUMENT.read_text(encoding="utf-8") == expected, (
        "docs/asyncapi.yaml is out of date with contracts/: run `python tools/asyncapi.py`"
    )


def test_generation_is_deterministic(tool):
    assert tool.generate(CONTRACTS) == tool.generate(CONTRACTS)


def test_check_mode(tool, tmp_path, capsys):
    assert tool.main(["--check"]) == 0
    stale = tmp_path / "asyncapi.yaml"
    stale.write_text(DOCUMENT.read_text(encoding="utf-8").replace("Kongtun events", "Old title"), encoding="utf-8")
    assert tool.main(["--check", "--output", str(stale)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert tool.main(["--check", "--output", str(tmp_path / "missing.yaml")]) == 1


def test_writes_the_document(tool, tmp_path):
    target = tmp_path / "docs" / "asyncapi.yaml"
    assert tool.main(["--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == DOCUMENT.read_text(encoding="utf-8")


# (b) every contract has a channel, a message and an operation, and nothing else does


def test_every_contract_is_documented_and_vice_versa(document):
    contracts = _contract_keys()
    assert contracts, "no event contracts found"
    assert set(document["channels"]) == set(contracts)
    assert set(document["components"]["messages"]) == set(contracts)
    assert set(document["operations"]) == {f"on{key}" for key in contracts}
    for key, (name, version) in contracts.items():
        routing_key = f"kongtun.{name}.v{version}"
        channel = document["channels"][key]
        assert channel["address"] == routing_key
        assert channel["messages"] == {key: {"$ref": f"#/components/messages/{key}"}}
        amqp = channel["bindings"]["amqp"]
        assert amqp["is"] == "routingKey"
        assert amqp["exchange"] == {
            "name": "kongtun.events",
            "type": "topic",
            "durable": True,
            "autoDelete": False,
            "vhost": "/",
        }
        message = document["components"]["messages"][key]
        assert message["contentType"] == "application/cloudevents+json"
        assert message["name"] and message["title"]
        assert message["bindings"]["amqp"]["messageType"] == routing_key
        operation = document["operations"][f"on{key}"]
        assert operation["action"] == "receive"
        assert operation["channel"] == {"$ref": f"#/channels/{key}"}
        assert operation["messages"] == [{"$ref": f"#/channels/{key}/messages/{key}"}]


def test_payload_is_the_envelope_with_the_event_data(document):
    envelope = _json(CONTRACTS / "envelope.schema.json")
    for key, (name, version) in _contract_keys().items():
        payload = document["components"]["messages"][key]["payload"]
        data = _json(CONTRACTS / "events" / f"{name}.v{version}.schema.json")
        strip = ("$schema", "$id")
        assert {k: v for k, v in payload.items() if k not in ("properties", *strip)} == {
            k: v for k, v in envelope.items() if k not in ("properties", *strip)
        }
        assert {k: v for k, v in payload["properties"].items() if k != "data"} == {
            k: v for k, v in envelope["properties"].items() if k != "data"
        }
        assert payload["properties"]["data"] == {k: v for k, v in data.items() if k not in strip}


# (c) the examples follow the contracts


def test_examples_validate_against_the_contracts(document):
    assert _check_examples(document, CONTRACTS) == len(_contract_keys())


def test_examples_use_thai_text(document):
    thai = re.compile("[\u0e00-\u0e7f]")
    for key, message in document["components"]["messages"].items():
        data = message["examples"][0]["payload"]["data"]
        names = [
            value
            for field, value in data.items()
            if isinstance(value, str) and (field.endswith(("_name", "title", "_th")) or field == "name")
        ]
        assert names and all(thai.search(value) for value in names), f"{key}: {names}"


def test_a_new_contract_is_picked_up_without_changes(tool, tmp_path):
    contracts = tmp_path / "contracts"
    shutil.copytree(CONTRACTS, contracts)
    new = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:kongtun:event:FundClosed:v2",
        "title": "FundClosed v2",
        "description": "A fund was closed.",
        "type": "object",
        "required": ["fund_code", "fund_name", "closed_on", "reason", "ledger", "documents", "contact"],
        "properties": {
            "fund_code": {"type": "string", "pattern": "^L[0-9]{4}$"},
            "fund_name": {"type": "string", "minLength": 1, "maxLength": 300},
            "closed_on": {"type": "string", "format": "date"},
            "reason": {"enum": ["merged", "dissolved"]},
            "ledger": {"type": "string", "pattern": "^(50[1-5]00|9[0-9]{4})-[A-Z]{2,3}$"},
            "documents": {"type": "array", "minItems": 3, "items": {"$ref": "#/$defs/document"}},
            "contact": {"type": ["string", "null"], "format": "email"},
            "note": {"type": "string", "examples": ["ปิดตามมติคณะกรรมการ"]},
        },
        "$defs": {
            "document": {
                "type": "object",
                "required": ["id", "pages"],
                "properties": {"id": {"type": "string", "format": "uuid"}, "pages": {"type": "integer", "minimum": 1}},
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    }
    (contracts / "events" / "FundClosed.v2.schema.json").write_text(json.dumps(new), encoding="utf-8")
    document = yaml.safe_load(tool.generate(contracts))
    assert document["channels"]["FundClosedV2"]["address"] == "kongtun.FundClosed.v2"
    assert "onFundClosedV2" in document["operations"]
    example = document["components"]["messages"]["FundClosedV2"]["examples"][0]["payload"]
    assert example["data"]["note"] == "ปิดตามมติคณะกรรมการ"
    assert len(example["data"]["documents"]) == 3
    assert document["components"]["messages"]["FundClosedV2"]["payload"]["properties"]["data"]["properties"][
        "documents"
    ]["items"] == {"$ref": "#/components/messages/FundClosedV2/payload/properties/data/$defs/document"}
    assert _check_examples(document, contracts) == len(_contract_keys(contracts))
    _check_structure(document)


def test_unsupported_pattern_fails_clearly(tool, tmp_path):
    contracts = tmp_path / "contracts"
    shutil.copytree(CONTRACTS, contracts)
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^(?=x)[^a]$"}}}
    (contracts / "events" / "Odd.v1.schema.json").write_text(json.dumps(schema), encoding="utf-8")
    with pytest.raises(tool.GenerationError, match="add `examples`"):
        tool.generate(contracts)


# (d) structurally a valid AsyncAPI 3.0.0 document


def _resolve(document: dict, ref: str):
    assert ref.startswith("#/"), f"$ref {ref!r} does not point inside the document"
    node = document
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            assert token.isdigit() and int(token) < len(node), f"$ref {ref!r} does not resolve"
            node = node[int(token)]
        else:
            assert isinstance(node, dict) and token in node, f"$ref {ref!r} does not resolve"
            node = node[token]
    return node


def _refs(node, found: list[str]) -> list[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            found.append(node["$ref"])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)
    return found


def _check_structure(document: dict) -> None:
    allowed = {"asyncapi", "id", "info", "servers", "defaultContentType", "channels", "operations", "components"}
    assert document["asyncapi"] == "3.0.0"
    assert set(document) <= allowed | {key for key in document if key.startswith("x-")}
    info = document["info"]
    assert isinstance(info["title"], str) and info["title"]
    assert isinstance(info["version"], str) and info["version"]
    for key, server in document["servers"].items():
        assert COMPONENT_KEY.match(key)
        assert isinstance(server["host"], str) and isinstance(server["protocol"], str)
        assert "url" not in server, "AsyncAPI 3 servers have host (+ pathname), not url"
    for key, channel in document["channels"].items():
        assert COMPONENT_KEY.match(key)
        assert isinstance(channel["address"], str)
        assert isinstance(channel["messages"], dict) and channel["messages"]
        for server in channel.get("servers", []):
            assert server["$ref"].startswith("#/servers/")
    for key, operation in document["operations"].items():
        assert COMPONENT_KEY.match(key)
        assert operation["action"] in ("send", "receive")
        channel_ref = operation["channel"]["$ref"]
        assert channel_ref.startswith("#/channels/")
        for message in operation.get("messages", []):
            # AsyncAPI 3: an operation's messages must be messages of its channel
            assert message["$ref"].startswith(f"{channel_ref}/messages/"), message
    for key, message in document["components"]["messages"].items():
        assert COMPONENT_KEY.match(key)
        assert isinstance(message["payload"], dict)
        for example in message.get("examples", []):
            assert set(example) <= {"name", "summary", "headers", "payload"}
            assert "payload" in example or "headers" in example
    refs = _refs(document, [])
    assert refs
    for ref in refs:
        _resolve(document, ref)


def test_document_is_structurally_asyncapi_3(document):
    _check_structure(document)
    server = document["servers"]["regional-office"]
    assert server["host"] == "rabbitmq:5672" and server["protocol"] == "amqp"
    assert document["info"]["title"] == "Kongtun events"
    description = document["info"]["description"]
    for phrase in (
        "kongtun.events",
        "kongtun.#",
        "CloudEvents 1.0",
        "region",
        "correlationid",
        "at-least-once",
        "kongtun.dead-letters",
    ):
        assert phrase in description


def test_embedded_schemas_carry_no_schema_or_id(document):
    for key, message in document["components"]["messages"].items():
        payload = message["payload"]
        for schema in (payload, payload["properties"]["data"]):
            assert "$schema" not in schema and "$id" not in schema, key


def test_every_contract_names_the_service_that_publishes_it():
    services = {path.name for path in (ROOT / "services").iterdir() if path.is_dir()}
    for path in sorted((ROOT / "contracts" / "events").glob("*.schema.json")):
        producer = json.loads(path.read_text(encoding="utf-8")).get("x-kongtun-producer")
        assert producer in services, f"{path.name}: x-kongtun-producer {producer!r} is not a service"
