"""The gateway: the one HTTP door in front of the services.

Each route checks its input against the public schema, calls one service over
RPC (with a deadline) and shapes the answer.  Errors become problem+json in
``http.problem_for``.  Routes live in ``routes/``, one module per area.
"""

from __future__ import annotations

from nameko.dependency_providers import Config

from kongtun_common.observability import Instrumentation
from kongtun_common.rpc import ServiceRpc

from .auth import Authentication
from .routes.auth import AuthRoutes
from .routes.funds import FundsRoutes
from .routes.notifications import NotificationsRoutes
from .routes.operations import OperationsRoutes
from .routes.projects import ProjectsRoutes
from .routes.reporting import ReportingRoutes


class GatewayService(AuthRoutes, FundsRoutes, ProjectsRoutes, ReportingRoutes, NotificationsRoutes, OperationsRoutes):
    name = "gateway"

    config = Config()
    instrumentation = Instrumentation()
    auth = Authentication()
    funds = ServiceRpc("funds")
    projects = ServiceRpc("projects")
    reporting = ServiceRpc("reporting")
    notifications = ServiceRpc("notifications")
