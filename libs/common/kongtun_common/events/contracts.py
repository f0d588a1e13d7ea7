"""Event contracts: the JSON Schemas under ``contracts/``, checked on publish and on consume.

``contracts/envelope.schema.json`` describes the CloudEvents envelope;
``contracts/events/<Name>.v<N>.schema.json`` describes the ``data`` of one
event type and version.  The directory is found through ``KONGTUN_CONTRACTS_DIR``
or, in a checkout, by walking up from this file.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker

from .envelope import EnvelopeError, parse_event_type


class ContractViolation(ValueError):
    """An envelope or payload that does not match its contract."""


def contracts_dir() -> Path:
    configured = os.environ.get("KONGTUN_CONTRACTS_DIR")
    if configured:
        return Path(configured)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "contracts"
        if (candidate / "envelope.schema.json").is_file():
            return candidate
    raise FileNotFoundError("contracts/ not found: set KONGTUN_CONTRACTS_DIR")


def _load(path: Path) -> Draft202012Validator:
    with path.open(encoding="utf-8") as handle:
        schema = json.load(handle)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


@cache
def envelope_validator() -> Draft202012Validator:
    return _load(contracts_dir() / "envelope.schema.json")


@cache
def data_validator(name: str, version: int) -> Draft202012Validator:
    path = contracts_dir() / "events" / f"{name}.v{version}.schema.json"
    if not path.is_file():
        raise ContractViolation(f"unknown event type {name} v{version}: no contract")
    return _load(path)


def known_event_types() -> list[tuple[str, int]]:
    found = []
    for path in sorted((contracts_dir() / "events").glob("*.schema.json")):
        name, version = path.name[: -len(".schema.json")].rsplit(".v", 1)
        found.append((name, int(version)))
    return found


def check_against(validator: Draft202012Validator, instance, where: str) -> None:
    """Raise ContractViolation naming the first place ``instance`` breaks the schema."""
    errors = sorted(validator.iter_errors(instance), key=lambda error: list(error.absolute_path))
    if errors:
        error = errors[0]
        path = ".".join(str(part) for part in error.absolute_path)
        location = f"{where}.{path}" if path else where
        raise ContractViolation(f"{location}: {error.message}")


def validate_envelope(envelope: dict) -> tuple[str, int]:
    """Check the envelope and its data; return the event's name and version."""
    check_against(envelope_validator(), envelope, "envelope")
    try:
        name, version = parse_event_type(envelope["type"])
    except EnvelopeError as exc:
        raise ContractViolation(str(exc)) from None
    check_against(data_validator(name, version), envelope.get("data"), "data")
    return name, version


def validate_data(name: str, version: int, data) -> None:
    check_against(data_validator(name, version), data, f"{name}.v{version} data")
