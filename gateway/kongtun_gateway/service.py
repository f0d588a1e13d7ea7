"""The gateway: the one HTTP door in front of the services.

Each route checks its input against the public schema, calls one service over
RPC (with a deadline) and shapes the answer.  Errors become problem+json in
``http.problem_for``.
"""

from __future__ import annotations

import uuid

import eventlet
from nameko.dependency_providers import Config
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.wrappers import Response

from kongtun_common.errors import NotFound, ServiceUnavailable
from kongtun_common.observability import Instrumentation
from kongtun_common.rpc import ServiceRpc
from kongtun_common.runner import broker_reachable

from . import schemas
from .http import json_response, read_json, read_query, route
from .openapi import docs_page, openapi_document

SERVICES = ("funds", "projects", "notifications", "reporting")
FUNDS, PROJECTS, REPORTING, NOTIFICATIONS, OPS = "funds", "projects", "reporting", "notifications", "operations"


def project_id_of(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFound("project", value, field="project_id") from None


class GatewayService:
    name = "gateway"

    config = Config()
    instrumentation = Instrumentation()
    funds = ServiceRpc("funds")
    projects = ServiceRpc("projects")
    reporting = ServiceRpc("reporting")
    notifications = ServiceRpc("notifications")

    # Funds

    @route(
        "POST",
        "/api/v1/funds",
        "Register a fund",
        FUNDS,
        body=schemas.FundIn,
        response=schemas.FundOut,
        status=201,
        errors=(400, 415, 422, 503),
    )
    def register_fund(self, request):
        fund = self.funds.register_fund(read_json(request, schemas.FundIn))
        return json_response(fund, 201, {"Location": f"/api/v1/funds/{fund['code']}"})

    @route("GET", "/api/v1/funds/<code>", "Get a fund", FUNDS, response=schemas.FundOut, errors=(404, 503))
    def get_fund(self, request, code):
        return json_response(self.funds.get_fund(code))

    # Projects

    @route(
        "POST",
        "/api/v1/projects",
        "Create a draft project",
        PROJECTS,
        body=schemas.ProjectIn,
        response=schemas.ProjectOut,
        status=201,
        errors=(400, 415, 422, 503),
    )
    def create_project(self, request):
        project = self.projects.create_draft(read_json(request, schemas.ProjectIn))
        return json_response(project, 201, {"Location": f"/api/v1/projects/{project['id']}"})

    @route(
        "GET",
        "/api/v1/projects/<project_id>",
        "Get a project with its history",
        PROJECTS,
        response=schemas.ProjectOut,
        errors=(404, 503),
    )
    def get_project(self, request, project_id):
        return json_response(self.projects.get_project(project_id_of(project_id)))

    @route(
        "POST",
        "/api/v1/projects/<project_id>/submit",
        "Submit a project (ProjectSubmitted)",
        PROJECTS,
        body=schemas.ActorIn,
        response=schemas.ProjectOut,
        errors=(400, 404, 409, 415, 422, 503),
    )
    def submit_project(self, request, project_id):
        project_id = project_id_of(project_id)
        actor = read_json(request, schemas.ActorIn) if request.get_data() else {}
        return json_response(self.projects.submit(project_id, actor))

    @route(
        "POST",
        "/api/v1/projects/<project_id>/approve",
        "Approve a project (ProjectApproved)",
        PROJECTS,
        body=schemas.ApprovalIn,
        response=schemas.ProjectOut,
        errors=(400, 404, 409, 415, 422, 503),
    )
    def approve_project(self, request, project_id):
        project_id = project_id_of(project_id)
        return json_response(self.projects.approve(project_id, read_json(request, schemas.ApprovalIn)))

    # Reporting and notifications

    @route(
        "GET",
        "/api/v1/reporting/summary",
        "Projects and budget summary",
        REPORTING,
        query=schemas.SummaryQuery,
        response=schemas.SummaryOut,
        errors=(422, 503),
    )
    def summary(self, request):
        filters = read_query(request, schemas.SummaryQuery)
        return json_response(self.reporting.summary(filters))

    @route(
        "GET",
        "/api/v1/reporting/obligations",
        "Report obligations",
        REPORTING,
        query=schemas.ObligationQuery,
        response=schemas.ObligationOut,
        many=True,
        errors=(422, 503),
    )
    def obligations(self, request):
        query = read_query(request, schemas.ObligationQuery)
        project_id = str(query["project_id"]) if query["project_id"] else None
        return json_response({"items": self.reporting.obligations(project_id)})

    @route(
        "GET",
        "/api/v1/notifications/reminders",
        "Reminders sent to people",
        NOTIFICATIONS,
        query=schemas.ReminderQuery,
        response=schemas.ReminderOut,
        many=True,
        errors=(422, 503),
    )
    def reminders(self, request):
        query = read_query(request, schemas.ReminderQuery)
        project_id = str(query["project_id"]) if query["project_id"] else None
        return json_response({"items": self.notifications.reminders(project_id, query["recipient"])})

    # Operations

    @route("GET", "/health", "Liveness", OPS, response=schemas.HealthOut)
    def health(self, request):
        return json_response({"status": "ok", "service": self.name})

    @route(
        "GET",
        "/ready",
        "Readiness: broker reachable and every service answering",
        OPS,
        response=schemas.HealthOut,
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

    @route("GET", "/metrics", "Prometheus metrics", OPS, media_type="text/plain")
    def metrics(self, request):
        return Response(generate_latest(), content_type=CONTENT_TYPE_LATEST)

    @route("GET", "/openapi.json", "This API's OpenAPI 3.1 document", OPS)
    def openapi(self, request):
        return json_response(openapi_document())

    @route("GET", "/docs", "Interactive API documentation", OPS, media_type="text/html")
    def docs(self, request):
        return Response(docs_page(), content_type="text/html; charset=utf-8")

    def _probe(self, service: str) -> str:
        try:
            with eventlet.Timeout(2):
                getattr(self, service).health()
            return "up"
        except (ServiceUnavailable, eventlet.Timeout):
            return "down"
