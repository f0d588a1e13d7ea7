"""The OpenAPI 3.1 document, generated from the routes and their marshmallow schemas."""

from __future__ import annotations

import html
import json
import re
from functools import cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from .auth import permission_for
from .http import PROBLEM_JSON, ROUTES, public_metrics

API_VERSION = "0.1.0"
DESCRIPTION = (
    "Kongtun runs Thailand's local health security funds (กองทุนหลักประกันสุขภาพระดับท้องถิ่น): "
    "funds, projects from proposal to approval, report obligations and reminders. "
    'Money is in baht with satang precision, written as a decimal string ("25000.50"); '
    "fiscal years are Buddhist Era (2567 = 1 Oct 2023 - 30 Sep 2024). "
    "Every error is application/problem+json (RFC 9457) naming the fields at fault. "
    "Send X-Correlation-ID to follow a request through the services' logs and events. "
    "Authenticate with `Authorization: Bearer <token>`: an API token issued by `kongtun-admin tokens issue`, "
    "or the short-lived token of `POST /api/v1/auth/login`. Each token has a role and a scope "
    "(a fund, district, province, region or national); out-of-scope resources answer 404."
)

PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "examples": ["urn:kongtun:problem:validation-error"]},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "current_state": {"type": "string", "description": "For 409: the resource's state now."},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string", "examples": ["owner.name"]},
                    "pointer": {"type": "string", "examples": ["#/owner/name"]},
                    "detail": {"type": "string"},
                },
            },
        },
    },
}

ERROR_TEXT = {
    400: "Malformed request (e.g. the body is not JSON)",
    401: "No bearer token, or an unknown, revoked or expired one (see WWW-Authenticate)",
    403: "The token's role or scope does not allow this",
    429: "Too many requests for this token; see Retry-After",
    404: "Not found; `errors` names the unknown id",
    409: "Conflict with the current state; `current_state` says which",
    413: "Body too large",
    415: "Body is not application/json",
    422: "Invalid fields; `errors` names each one",
    503: "A service or the broker is unavailable; see Retry-After",
}


def _openapi_path(path: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", path)


@cache
def openapi_document() -> dict:
    spec = APISpec(
        title="Kongtun API",
        version=API_VERSION,
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={"description": DESCRIPTION},
    )
    spec.components.schema("Problem", PROBLEM_SCHEMA)
    spec.components.security_scheme(
        "bearer",
        {"type": "http", "scheme": "bearer", "description": "An API token (ktn_...) or a login token (ktl...)."},
    )
    paths: dict[str, dict] = {}
    for doc in ROUTES:
        path = _openapi_path(doc.path)
        operation: dict = {"summary": doc.summary, "tags": [doc.tag], "operationId": _operation_id(doc)}
        parameters = [
            {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{([^}]+)}", path)
        ]
        if doc.query is not None:
            parameters.append({"in": "query", "schema": doc.query})
        parameters.extend({"in": "header", **header} for header in doc.headers)
        if parameters:
            operation["parameters"] = parameters
        if doc.body is not None:
            operation["requestBody"] = {
                "required": doc.method != "POST" or not doc.path.endswith("/submit"),
                "content": {"application/json": {"schema": doc.body}},
            }
        operation["responses"] = {str(doc.status): _success(doc)}
        errors = set(doc.errors)
        if _permission(doc) is None:
            operation["security"] = []
        else:
            operation["security"] = [{"bearer": []}]
            errors |= {401, 403, 429}
            if doc.path.count("<"):
                errors.add(404)  # out of the caller's scope
        for status in sorted(errors):
            operation["responses"][str(status)] = {
                "description": ERROR_TEXT[status],
                "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            }
        paths.setdefault(path, {})[doc.method.lower()] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _permission(doc):
    if doc.path == "/metrics" and public_metrics():
        return None
    return permission_for(doc.method, doc.path) if doc.permission == "derive" else doc.permission


def _success(doc) -> dict:
    if doc.response is None:
        if doc.media_type == "application/json":
            return {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
        return {"description": "OK", "content": {doc.media_type: {"schema": {"type": "string"}}}}
    schema = doc.response
    if doc.many:
        schema = {"type": "object", "properties": {"items": {"type": "array", "items": schema}}}
    return {
        "description": "Created" if doc.status == 201 else "OK",
        "content": {"application/json": {"schema": schema}},
    }


def _operation_id(doc) -> str:
    words = re.findall(r"[a-z]+", doc.summary.lower())
    return "_".join(words[:6])


def docs_page() -> str:
    """A self-contained page (no CDN) listing every operation and its schemas."""
    document = openapi_document()
    rows = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(operation.get('summary', ''))}</td>"
                f"<td>{', '.join(sorted(operation['responses']))}</td></tr>"
            )
    schemas = html.escape(json.dumps(document.get("components", {}), ensure_ascii=False, indent=2))
    return f"""<!doctype html>
<html lang="th"><head><meta charset="utf-8"><title>Kongtun API</title>
<style>body{{font-family:sans-serif;margin:2rem;max-width:70rem}}td,th{{padding:.3rem .6rem;text-align:left}}
tr:nth-child(even){{background:#f3f3f3}}pre{{background:#f7f7f7;padding:1rem;overflow:auto}}</style></head>
<body><h1>Kongtun API {API_VERSION}</h1><p>{html.escape(DESCRIPTION)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
<table><tr><th>Method</th><th>Path</th><th>What it does</th><th>Responses</th></tr>{"".join(rows)}</table>
<h2>Schemas</h2><pre>{schemas}</pre></body></html>"""
