"""Authentication: people log in for a short-lived signed token; anyone may ask who they are."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..http import json_response, read_json, route
from ..schemas import example

TAG = "auth"


class LoginIn(Schema):
    username = fields.String(required=True, validate=validate.Length(1, 120), **example("somchai.k"))
    password = fields.String(required=True, validate=validate.Length(1, 200), **example("รหัสผ่านยาวพอสมควร"))


class TokenOut(Schema):
    access_token = fields.String(**example("ktl.eyJzdWJqZWN0IjoidXNlcjpzb21jaGFpLmsifQ.c2lnbmF0dXJl"))
    token_type = fields.String(**example("Bearer"))
    expires_in = fields.Integer(**example(900))


class PrincipalOut(Schema):
    subject = fields.String(**example("user:somchai.k"))
    role = fields.String(**example("fund_officer"))
    scope_kind = fields.String(**example("fund"))
    scope = fields.String(**example("L3363"))
    region = fields.Integer(allow_none=True, **example(12))


class AuthRoutes:
    @route(
        "POST",
        "/api/v1/auth/login",
        "Log in (a person): a short-lived signed bearer token",
        TAG,
        body=LoginIn,
        response=TokenOut,
        errors=(400, 401, 415, 422, 429),
        permission=None,
    )
    def login(self, request):
        credentials = read_json(request, LoginIn)
        self.auth.throttle(f"login:{request.remote_addr}")
        token = self.auth.login(credentials["username"], credentials["password"])
        return json_response({"access_token": token, "token_type": "Bearer", "expires_in": self.auth.login_ttl})

    @route(
        "GET",
        "/api/v1/auth/me",
        "Who the bearer token belongs to: role and scope",
        TAG,
        response=PrincipalOut,
        permission=("self", "read"),
    )
    def me(self, request):
        principal = request.principal
        return json_response(
            {
                "subject": principal.subject,
                "role": principal.role,
                "scope_kind": principal.scope_kind,
                "scope": principal.scope,
                "region": principal.region,
            }
        )
