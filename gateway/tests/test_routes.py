"""The gateway's route table: every declared route is served, and documented."""

from nameko.extensions import Entrypoint
from openapi_spec_validator import validate

from kongtun_gateway.http import ROUTES
from kongtun_gateway.openapi import openapi_document
from kongtun_gateway.service import GatewayService


def served_routes() -> set[tuple[str, str]]:
    served = set()
    for name in dir(GatewayService):
        method = getattr(GatewayService, name)
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            if isinstance(entrypoint, Entrypoint) and hasattr(entrypoint, "url"):
                served.add((entrypoint.method, entrypoint.url))
    return served


def test_every_declared_route_is_served_no_mixin_shadows_another():
    declared = {(doc.method, doc.path) for doc in ROUTES}
    assert len(declared) == len(ROUTES), "a route is declared twice"
    assert served_routes() == declared  # a method name reused in two route modules would drop a route


def test_the_openapi_document_is_valid_and_covers_every_route():
    document = openapi_document()
    validate(document)
    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert len(documented) == len(ROUTES)
