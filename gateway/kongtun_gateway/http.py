"""HTTP plumbing of the gateway: routes, JSON bodies, problem+json errors, metrics.

Every error leaves as ``application/problem+json`` (RFC 9457) with the fields
at fault; the mapping from error types to statuses is the one table
``PROBLEMS``.  No stack trace, SQL or secret ever reaches a response.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache, partial

from eventlet.event import Event
from marshmallow import Schema, ValidationError
from nameko.exceptions import BadRequest
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from kongtun_common.errors import (
    Conflict,
    InvalidInput,
    KongtunError,
    NotFound,
    ServiceUnavailable,
    flatten_marshmallow_errors,
    is_unavailable,
)
from kongtun_common.observability import CORRELATION_KEY, HTTP_LATENCY, HTTP_REQUESTS

from .auth import Forbidden, RateLimited, Unauthenticated
from .guard import OutOfScope, guarded

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
MAX_BODY_BYTES = 1024 * 1024
RETRY_AFTER_SECONDS = 5
_CORRELATION = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class PayloadTooLarge(KongtunError):
    pass


class UnsupportedMediaType(KongtunError):
    pass


class MalformedBody(KongtunError):
    pass


# The one table from error types to HTTP: status, problem type, title.
PROBLEMS: dict[type, tuple[int, str, str]] = {
    InvalidInput: (422, "validation-error", "Your request has invalid fields."),
    MalformedBody: (400, "malformed-request", "The request body is not valid JSON."),
    NotFound: (404, "not-found", "The resource was not found."),
    OutOfScope: (404, "not-found", "The resource was not found."),
    Unauthenticated: (401, "unauthenticated", "Authenticate with a bearer token."),
    Forbidden: (403, "forbidden", "Your role or scope does not allow this."),
    RateLimited: (429, "rate-limited", "Too many requests; see Retry-After."),
    Conflict: (409, "conflict", "The request conflicts with the resource's current state."),
    PayloadTooLarge: (413, "payload-too-large", "The request body is too large."),
    UnsupportedMediaType: (415, "unsupported-media-type", "The request body must be application/json."),
    ServiceUnavailable: (503, "service-unavailable", "A service is unavailable; retry later."),
    BadRequest: (400, "bad-request", "The request is malformed."),
}


def problem_type(slug: str) -> str:
    return f"urn:kongtun:problem:{slug}"


def problem_response(
    status: int, slug: str, title: str, detail: str = "", errors=None, headers=None, extra=None
) -> Response:
    body = {"type": problem_type(slug), "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = [
            {"field": name, "pointer": "#/" + name.replace(".", "/"), "detail": message}
            for name, messages in errors.items()
            for message in messages
        ]
    body.update(extra or {})
    return Response(
        json.dumps(body, ensure_ascii=False), status=status, headers=headers or {}, content_type=PROBLEM_JSON
    )


def problem_for(exc: BaseException) -> Response:
    """The problem+json answer for an error, per the ``PROBLEMS`` table."""
    if isinstance(exc, HTTPException):  # raised by werkzeug while reading the request, e.g. 413
        return problem_response(exc.code or 400, f"http-{exc.code}", exc.name, exc.description or "")
    if not isinstance(exc, KongtunError) and is_unavailable(exc):  # e.g. the gateway's own database is down
        log.warning("unavailable: %s: %s", type(exc).__name__, exc)
        exc = ServiceUnavailable("gateway", "a dependency is unreachable")
    known = next((entry for error_type, entry in PROBLEMS.items() if isinstance(exc, error_type)), None)
    if known is None:
        log.error("unexpected error: %s: %s", type(exc).__name__, exc, exc_info=exc)
        return problem_response(
            500,
            "internal-error",
            "Something went wrong on our side.",
            "The error was logged with this request's correlation id.",
        )
    status, slug, title = known
    detail = getattr(exc, "message", "") or ""
    errors, headers, extra = None, {}, {}
    if isinstance(exc, InvalidInput):
        errors = exc.errors
    elif isinstance(exc, NotFound) and exc.field:
        errors = {exc.field: [exc.message]}
    elif isinstance(exc, Conflict) and exc.current_state:
        extra["current_state"] = exc.current_state
    elif isinstance(exc, ServiceUnavailable):
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    elif isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="kongtun"'
    elif isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    return problem_response(status, slug, title, detail, errors, headers, extra)


def json_response(payload, status: int = 200, headers=None) -> Response:
    return Response(
        json.dumps(payload, ensure_ascii=False), status=status, headers=headers or {}, content_type="application/json"
    )


@cache
def _schema(schema_class: type[Schema]) -> Schema:
    """One instance per schema class: building them per request is measurable."""
    return schema_class()


def read_json(request: Request, schema_class: type[Schema]) -> dict:
    """The body checked against the schema, returned in wire form for the service."""
    content_type = (request.mimetype or "").lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType("Send the body as application/json.")
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body must not exceed {MAX_BODY_BYTES} bytes.")
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body must not exceed {MAX_BODY_BYTES} bytes.")
    try:
        payload = json.loads(raw.decode("utf-8"), parse_float=Decimal)
    except UnicodeDecodeError:
        raise MalformedBody("The body is not UTF-8.") from None
    except json.JSONDecodeError as exc:
        raise MalformedBody(f"Line {exc.lineno}, column {exc.colno}: {exc.msg}.") from None
    if not isinstance(payload, dict):
        raise InvalidInput({"body": ["Must be a JSON object."]})
    return load(schema_class, payload)


def load(schema_class: type[Schema], payload: dict) -> dict:
    schema = _schema(schema_class)
    try:
        return schema.dump(schema.load(payload))
    except ValidationError as exc:
        raise InvalidInput(flatten_marshmallow_errors(exc.messages)) from None


def read_query(request: Request, schema_class: type[Schema]) -> dict:
    try:
        return _schema(schema_class).load(request.args.to_dict())
    except ValidationError as exc:
        raise InvalidInput(flatten_marshmallow_errors(exc.messages)) from None


@dataclass(frozen=True)
class RouteDoc:
    """What the OpenAPI document says about one route."""

    method: str
    path: str
    summary: str
    tag: str
    body: type[Schema] | None = None
    response: type[Schema] | None = None
    status: int = 200
    query: type[Schema] | None = None
    many: bool = False
    errors: tuple[int, ...] = ()
    media_type: str = "application/json"
    extra: dict = field(default_factory=dict)
    headers: tuple[dict, ...] = ()  # OpenAPI header parameters the route reads
    # ("resource", "read"|"write"), None for public, "derive": from the path (auth.permission_for)
    permission: tuple[str, str] | None | str = "derive"


ROUTES: list[RouteDoc] = []


class ProblemWsgiApp(WsgiApp):
    """Routing misses (404, 405) answered as problem+json too."""

    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
            request.path_values = values
            response = provider.handle_request(request)
        except HTTPException as exc:
            response = problem_response(exc.code or 400, "http-" + str(exc.code), exc.name, exc.description or "")
            if exc.code == 405 and getattr(exc, "valid_methods", None):
                response.headers["Allow"] = ", ".join(exc.valid_methods)
            HTTP_REQUESTS.labels("unmatched", environ.get("REQUEST_METHOD", ""), str(response.status_code)).inc()
        return response(environ, start_response)


class ProblemWebServer(WebServer):
    def get_wsgi_app(self):
        return ProblemWsgiApp(self)


class ApiRoute(HttpRequestHandler):
    """An HTTP entrypoint with correlation ids, metrics and problem+json errors."""

    server = ProblemWebServer()

    def handle_request(self, request):
        request.shallow = False
        request.max_content_length = MAX_BODY_BYTES  # werkzeug stops reading past it (413)
        started = time.perf_counter()
        supplied = request.headers.get("X-Correlation-ID", "")
        correlation_id = supplied if _CORRELATION.match(supplied) else uuid.uuid4().hex
        try:
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            done = Event()
            self.container.spawn_worker(
                self,
                args,
                kwargs,
                context_data={CORRELATION_KEY: correlation_id},
                handle_result=partial(self.handle_result, done),
            )
            response = self.response_from_result(done.wait())
        except Exception as exc:
            response = problem_for(exc)
        response.headers["X-Correlation-ID"] = correlation_id
        HTTP_REQUESTS.labels(self.url, self.method, str(response.status_code)).inc()
        HTTP_LATENCY.labels(self.url, self.method).observe(time.perf_counter() - started)
        return response


def public_metrics() -> bool:
    return os.environ.get("KONGTUN_GATEWAY_PUBLIC_METRICS", "").strip().lower() in ("on", "1", "true", "yes")


def route(method: str, path: str, summary: str, tag: str, **doc):
    """Declare an API route: a nameko HTTP entrypoint plus its OpenAPI description.

    Every route is guarded (``guard.guarded``): the permission it needs comes from
    ``permission=`` or, by default, from its method and path (``auth.permission_for``).
    """
    declared = RouteDoc(method, path, summary, tag, **doc)
    ROUTES.append(declared)
    entrypoint = ApiRoute.decorator(method, path, expected_exceptions=(KongtunError,))

    def decorate(fn):
        return entrypoint(guarded(fn, declared, public_metrics()))

    return decorate
