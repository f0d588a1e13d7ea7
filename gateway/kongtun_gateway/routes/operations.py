"""Operations: health, readiness, metrics, the API's own documents."""

from __future__ import annotations

import eventlet
from marshmallow import Schema, fields
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.wrappers import Response

from kongtun_common.errors import ServiceUnavailable
from kongtun_common.runner import broker_reachable

from ..http import json_response, route
from ..openapi import docs_page, openapi_document
from ..schemas import example

TAG = "operations"
SERVICES = ("funds", "projects", "notifications", "reporting")


class HealthOut(Schema):
    status = fields.String(**example("ok"))
    service = fields.String(**example("gateway"))
    checks = fields.Dict(keys=fields.String(), values=fields.String())


class OperationsRoutes:
    @route("GET", "/health", "Liveness", TAG, response=HealthOut)
    def health(self, request):
        return json_response({"status": "ok", "service": self.name})

    @route(
        "GET",
        "/ready",
        "Readiness: broker reachable and every service answering",
        TAG,
        response=HealthOut,
        errors=(503,),
    )
    def ready(self, request):
        checks = {"broker": "up" if broker_reachable(self.config["AMQP_URI"], timeout=1.0) else "down"}
        pool = eventlet.GreenPool()
        for service, state in zip(SERVICES, pool.imap(self._probe, SERVICES), strict=True):
            checks[service] = state
        ready = all(state == "up" for state in checks.values())
        body = {"status": "ready" if ready else "not ready", "service": self.name, "checks": checks}
        headers = {} if ready else {"Retry-After": "5"}
        return json_response(body, 200 if ready else 503, headers)

    @route("GET", "/metrics", "Prometheus metrics", TAG, media_type="text/plain")
    def metrics(self, request):
        return Response(generate_latest(), content_type=CONTENT_TYPE_LATEST)

    @route("GET", "/openapi.json", "This API's OpenAPI 3.1 document", TAG)
    def openapi(self, request):
        return json_response(openapi_document())

    @route("GET", "/docs", "Interactive API documentation", TAG, media_type="text/html")
    def docs(self, request):
        return Response(docs_page(), content_type="text/html; charset=utf-8")

    def _probe(self, service: str) -> str:
        try:
            with eventlet.Timeout(2):
                getattr(self, service).health()
            return "up"
        except (ServiceUnavailable, eventlet.Timeout):
            return "down"
