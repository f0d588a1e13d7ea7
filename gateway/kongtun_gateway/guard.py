"""Every route behind the same guard: authenticate, check the permission, then the scope.

Scope rules for a principal narrower than the deployment (province, district, fund):

- a collection (GET without path parameters) is narrowed by forcing the scope into
  the query filters; a collection whose filters cannot express the scope is refused (403);
- a fund (``/api/v1/funds/<code>...``) or a project (``/api/v1/projects/<id>...``) is
  looked up first and must lie in the scope, for reads and writes alike;
- any other single resource is checked after it is fetched (its body's
  fund_code/code, province, district, region);
- out-of-scope resources answer **404**, as if they did not exist (no probing of
  other funds' ids); creating something outside the scope answers **403**;
- any other write from a narrow scope is refused (403): the safe default.

A principal of another region than the deployment's gets 403 on everything.
"""

from __future__ import annotations

import functools
import json
import re

from werkzeug.datastructures import ImmutableMultiDict

from kongtun_common.errors import KongtunError

from .auth import SELF, Forbidden, Principal, allowed, permission_for


class OutOfScope(KongtunError):
    """A resource outside the caller's scope: answered like one that does not exist."""


_PARAMS = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def scope_filters(principal: Principal) -> dict[str, str]:
    if principal.scope_kind == "province":
        return {"province": principal.province}
    if principal.scope_kind == "district":
        return {"province": principal.province, "district": principal.district}
    if principal.scope_kind == "fund":
        return {"fund_code": principal.fund_code}
    return {}


def in_scope(principal: Principal, facts: dict) -> bool:
    """Whether a resource with these facts (region, province, district, fund_code or code) is the caller's."""
    kind = principal.scope_kind
    if kind == "national":
        return True
    region = facts.get("region")
    if region is None or int(region) != principal.region:
        return False
    if kind == "region":
        return True
    if kind == "province":
        return facts.get("province") == principal.province
    if kind == "district":
        return facts.get("province") == principal.province and facts.get("district") == principal.district
    return (facts.get("fund_code") or facts.get("code")) == principal.fund_code


def guarded(fn, doc, public_metrics: bool = False):
    """``fn`` (a route method) behind authentication, the permission table and the scope."""
    permission = doc.permission if doc.permission != "derive" else permission_for(doc.method, doc.path)
    if public_metrics and doc.path == "/metrics":
        permission = None
    if permission is None:
        return fn
    params = _PARAMS.findall(doc.path)
    parts = [part for part in doc.path.split("/") if part]

    @functools.wraps(fn)
    def route_method(self, request, *args, **kwargs):
        principal = self.auth.principal(request.headers.get("Authorization", ""))
        if not allowed(principal.role, permission):
            raise Forbidden(f"The role {principal.role} may not {permission[1]} {permission[0]}.")
        request.principal = principal
        if principal.scope_kind == "national" or permission == SELF:
            return fn(self, request, *args, **kwargs)
        if principal.region != self.auth.region:
            raise Forbidden(
                f"Your scope lies in region {principal.region}; this deployment serves region {self.auth.region}."
            )
        if principal.scope_kind == "region" or permission[0] == "metrics":
            return fn(self, request, *args, **kwargs)
        values = dict(zip(params, args, strict=False)) | kwargs
        owner = _owner(self, parts, values, request, doc)
        if owner is not None:
            if not in_scope(principal, owner):
                if doc.method == "POST" and not params:
                    raise Forbidden("You may only create inside your own scope.")
                raise OutOfScope("Not found.")
            return fn(self, request, *args, **kwargs)
        if doc.method != "GET":
            raise Forbidden("This change is not open to a scope narrower than the region.")
        if not params:
            _force_filters(request, principal, doc)
            return fn(self, request, *args, **kwargs)
        response = fn(self, request, *args, **kwargs)
        if response.status_code < 300:
            try:
                body = json.loads(response.get_data())
            except ValueError:
                body = None
            if not isinstance(body, dict) or not in_scope(principal, body):
                raise OutOfScope("Not found.")
        return response

    return route_method


def _owner(service, parts: list[str], values: dict, request, doc) -> dict | None:
    """The facts of the fund or project a route is about, looked up before it runs (None: not such a route)."""
    if len(parts) >= 4 and parts[2] == "funds":
        return service.funds.get_fund(values[parts[3][1:-1].split(":")[-1]])
    if len(parts) >= 4 and parts[2] == "projects":
        from .routes.projects import project_id_of

        return service.projects.get_project(project_id_of(values[parts[3][1:-1].split(":")[-1]]))
    if doc.method == "POST" and len(parts) == 3 and parts[2] in ("funds", "projects") and doc.body is not None:
        from .http import read_json

        body = read_json(request, doc.body)
        if parts[2] == "funds":
            return body
        return service.funds.get_fund(body["fund_code"])
    return None


def _force_filters(request, principal: Principal, doc) -> None:
    fields = doc.query._declared_fields if doc.query is not None else {}
    force = scope_filters(principal)
    if "region" in fields:
        force["region"] = str(principal.region)
    if not all(name in fields for name in scope_filters(principal)):
        raise Forbidden("This list cannot be narrowed to your scope; ask your regional admin.")
    args = request.args.to_dict()
    args.update(force)
    request.args = ImmutableMultiDict(args)
