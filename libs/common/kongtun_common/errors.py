"""Typed errors that cross service boundaries.

A service raises one of these from its domain or use cases; nameko carries it
over RPC (``kongtun_common.remote`` registers the classes so the caller gets
the same type back, with its arguments), and the gateway maps each type to an
HTTP status in one table.  Every argument is JSON-serialisable so nothing is
lost on the way.  Plain Python: a domain may raise these without importing a
framework.
"""

from __future__ import annotations


class KongtunError(Exception):
    """Base of the errors a client may see."""

    def __init__(self, message: str, *args):
        super().__init__(message, *args)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(KongtunError):
    """Input that breaks a rule; ``errors`` maps a field path to its messages."""

    def __init__(self, errors: dict, message: str = "The request has invalid fields."):
        self.errors = {str(key): _as_list(value) for key, value in dict(errors).items()}
        super().__init__(message)
        self.args = (self.errors, message)


class NotFound(KongtunError):
    """A resource named in the request does not exist."""

    def __init__(self, resource: str, identifier: str = "", field: str = ""):
        super().__init__(f"{resource} {identifier} was not found.".replace("  ", " "))
        self.resource = resource
        self.identifier = str(identifier)
        self.field = field
        self.args = (resource, self.identifier, field)


class Conflict(KongtunError):
    """The request is valid but the resource's current state forbids it."""

    def __init__(self, message: str, current_state: str = ""):
        super().__init__(message)
        self.current_state = current_state
        self.args = (message, current_state)


def _as_list(value) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    if isinstance(value, dict):
        return [f"{key}: {item}" for key, items in value.items() for item in _as_list(items)]
    return [str(value)]


def flatten_marshmallow_errors(messages, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested error dict into ``{"owner.name": [...]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                path = prefix
            if isinstance(value, dict):
                flat.update(flatten_marshmallow_errors(value, path))
            else:
                flat.setdefault(path, []).extend(_as_list(value))
    else:
        flat.setdefault(prefix, []).extend(_as_list(messages))
    return flat


class ServiceUnavailable(KongtunError):
    """A service (or the broker) did not answer in time; the caller may retry later."""

    def __init__(self, service: str, reason: str = "not running"):
        super().__init__(f"The {service} service is unavailable ({reason}).")
        self.service = service
        self.reason = reason
        self.args = (service, reason)


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` is an outage of the infrastructure (database or broker unreachable, connection lost),
    not a bug: the caller gets 503 with Retry-After and an event is retried later, never dead-lettered for it."""
    from amqp.exceptions import ConnectionError as AmqpConnectionError
    from amqp.exceptions import RecoverableConnectionError
    from kombu.exceptions import OperationalError as BrokerUnavailable
    from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError
    from sqlalchemy.exc import OperationalError as DatabaseUnavailable
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(exc, ServiceUnavailable):
        return True
    if isinstance(exc, DatabaseUnavailable | InterfaceError | DisconnectionError | PoolTimeout):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, BrokerUnavailable | AmqpConnectionError | RecoverableConnectionError | ConnectionError)
