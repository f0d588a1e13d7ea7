"""The bare nameko chain Kongtun's slice is compared with: HTTP -> RPC -> event -> handler.

Three minimal services in one process, run by nameko's ServiceRunner:

- ``bare_gateway``: ``POST /submit/<id>`` (nameko ``http``) calls ``bare_projects.submit`` over RPC;
- ``bare_projects``: ``submit`` dispatches a ``project_submitted`` event (EventDispatcher) and returns;
- ``bare_reporting``: an ``event_handler`` consuming it, so the event is routed to a queue.

No database, no validation, no outbox: the floor of what nameko itself costs.
``GET /stats`` answers how many events the handler consumed; ``GET /health`` and ``GET /ready`` (an RPC
round trip) are for start-up.

Run: ``python bench/bare_chain.py --amqp-uri amqp://.../vhost --port 18100``.
"""

from kongtun_common.green import monkey_patch

monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402

import eventlet  # noqa: E402
from nameko.events import EventDispatcher, event_handler  # noqa: E402
from nameko.rpc import RpcProxy, rpc  # noqa: E402
from nameko.runners import ServiceRunner  # noqa: E402
from nameko.web.handlers import http  # noqa: E402

CONSUMED = {"project_submitted": 0}


class BareGateway:
    name = "bare_gateway"

    projects = RpcProxy("bare_projects")

    @http("POST", "/submit/<project_id>")
    def submit(self, request, project_id):
        result = self.projects.submit(project_id)
        return 200, {"Content-Type": "application/json"}, json.dumps(result)

    @http("GET", "/health")
    def health(self, request):
        return 200, {"Content-Type": "application/json"}, '{"status": "ok"}'

    @http("GET", "/ready")
    def ready(self, request):  # the RPC path works (bare_projects consumes its queue)
        return 200, {"Content-Type": "application/json"}, json.dumps(self.projects.ping())

    @http("GET", "/stats")
    def stats(self, request):
        return 200, {"Content-Type": "application/json"}, json.dumps({"consumed": CONSUMED})


class BareProjects:
    name = "bare_projects"

    dispatch = EventDispatcher()

    @rpc
    def ping(self):
        return {"status": "ok"}

    @rpc
    def submit(self, project_id):
        self.dispatch("project_submitted", {"id": project_id, "state": "submitted"})
        return {"id": project_id, "state": "submitted"}


class BareReporting:
    name = "bare_reporting"

    @event_handler("bare_projects", "project_submitted")
    def on_project_submitted(self, payload):
        CONSUMED["project_submitted"] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--amqp-uri", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18100)
    args = parser.parse_args()

    runner = ServiceRunner({"AMQP_URI": args.amqp_uri, "WEB_SERVER_ADDRESS": f"{args.host}:{args.port}"})
    for service in (BareGateway, BareProjects, BareReporting):
        runner.add_service(service)
    runner.start()

    def stop(_signum, _frame):
        eventlet.spawn(runner.stop)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    runner.wait()


if __name__ == "__main__":
    main()
