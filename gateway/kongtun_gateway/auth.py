"""Who is calling, and what they may do: tokens, logins, roles, scopes, rate limits.

- **API tokens** are opaque (``ktn_`` + 32 random bytes, urlsafe); only their
  SHA-256 is stored, with a role and a scope; they are issued and revoked with
  ``kongtun-admin tokens``.
- **People** log in with ``POST /api/v1/auth/login`` (scrypt password hashes in
  the gateway's database) and get a short-lived HMAC-SHA256 signed token.
- **Authorization** is the tables below, in this one place: each route needs a
  permission ``(resource, verb)`` (:func:`permission_for`), each role holds a
  set of permissions (``ROLE_PERMISSIONS``), and every principal has a scope
  (national, region, province, district or fund) that :mod:`.guard` enforces.
- **Rate limit**: a token bucket per token, in the gateway process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from nameko.extensions import DependencyProvider
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, select, update

from kongtun_common.engine import UtcDateTime, make_engine, utcnow
from kongtun_common.errors import KongtunError

# --- roles, scopes, permissions -------------------------------------------------------------

ROLES = (
    "admin",
    "regional_admin",
    "fund_officer",
    "proposer",
    "committee_member",
    "mentor",
    "district_coordinator",
    "ops",
    "integrator",
)
SCOPE_KINDS = ("national", "region", "province", "district", "fund")

READ, WRITE = "read", "write"
# Resources, as routes are grouped for authorization.
RESOURCES = (
    "funds",  # funds, places, taxonomies, programmes, plans
    "rules",  # the rule set
    "mentors",  # mentors and district committees
    "imports",  # bulk imports of places and funds
    "projects",  # drafts, edits, lifecycle actions of the proposing side
    "decisions",  # approve, reject, request a revision
    "reviews",  # comments on a revision
    "reports",  # project reports
    "mentoring",  # assigning a project's mentor
    "reporting",  # summaries, obligations
    "notifications",  # recipients, reminders, meetings
    "subscriptions",  # webhooks
    "metrics",
)


def _all(*verbs: str, resources=RESOURCES) -> frozenset:
    return frozenset((resource, verb) for resource in resources for verb in verbs)


_READ_DOMAIN = _all(READ, resources=("funds", "rules", "mentors", "projects", "reporting"))

ROLE_PERMISSIONS: dict[str, frozenset] = {
    "admin": _all(READ, WRITE),
    "regional_admin": _all(READ, WRITE),
    "fund_officer": _READ_DOMAIN
    | _all(WRITE, resources=("funds", "projects", "reports", "mentoring"))
    | _all(READ, resources=("notifications",))
    | _all(WRITE, resources=("notifications",)),
    "proposer": _READ_DOMAIN | _all(WRITE, resources=("projects", "reports")),
    "committee_member": _READ_DOMAIN
    | _all(WRITE, resources=("decisions", "reviews"))
    | _all(READ, resources=("notifications",)),
    "mentor": _READ_DOMAIN | _all(WRITE, resources=("reviews",)),
    "district_coordinator": _READ_DOMAIN
    | _all(WRITE, resources=("mentors", "mentoring"))
    | _all(READ, resources=("notifications",)),
    "ops": frozenset({("metrics", READ)}),
    "integrator": _READ_DOMAIN | _all(READ, WRITE, resources=("subscriptions",)),
}

PUBLIC_PATHS = frozenset({"/health", "/ready", "/openapi.json", "/docs", "/api/v1/auth/login"})

_AREAS = {
    "funds": "funds",
    "provinces": "funds",
    "districts": "funds",
    "taxonomies": "funds",
    "programmes": "funds",
    "plans": "funds",
    "local-governments": "funds",
    "district-committees": "mentors",
    "imports": "imports",
    "rule-set": "rules",
    "mentors": "mentors",
    "projects": "projects",
    "reporting": "reporting",
    "notifications": "notifications",
}
_PROJECT_ACTIONS = {
    "approve": "decisions",
    "reject": "decisions",
    "request-revision": "decisions",
    "comments": "reviews",
    "reports": "reports",
    "mentor": "mentoring",
}


def permission_for(method: str, path: str) -> tuple[str, str] | None:
    """The permission a route needs (None: public). ``path`` is the route's rule, e.g. /api/v1/funds/<code>."""
    if path in PUBLIC_PATHS:
        return None
    verb = READ if method.upper() in ("GET", "HEAD") else WRITE
    if path == "/metrics":
        return ("metrics", READ)
    parts = [part for part in path.split("/") if part]
    if len(parts) < 3 or parts[:2] != ["api", "v1"]:
        return ("metrics", READ) if verb == READ else ("funds", WRITE)  # unknown: admins only in practice
    area = _AREAS.get(parts[2], parts[2])
    if area == "projects" and len(parts) >= 5:
        area = _PROJECT_ACTIONS.get(parts[4], "projects")
    if area == "notifications" and len(parts) >= 4 and parts[3] == "webhooks":
        area = "subscriptions"
    return (area, verb)


SELF = ("self", READ)  # one's own identity: every role


def allowed(role: str, permission: tuple[str, str] | None) -> bool:
    if permission is None or permission == SELF or role == "admin":
        return True
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


# --- principals -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """The caller: an API token or a logged-in person, with a role and a scope.

    ``scope`` is: empty (national); the region number (region); the province name
    (province); ``"<province>/<district>"`` (district); the fund code (fund).
    ``region`` is the region the scope lies in (None for national).
    """

    subject: str
    role: str
    scope_kind: str = "national"
    scope: str = ""
    region: int | None = None
    token_id: str = ""

    @property
    def province(self) -> str | None:
        if self.scope_kind in ("province", "district"):
            return self.scope.split("/", 1)[0]
        return None

    @property
    def district(self) -> str | None:
        return self.scope.split("/", 1)[1] if self.scope_kind == "district" else None

    @property
    def fund_code(self) -> str | None:
        return self.scope if self.scope_kind == "fund" else None


def check_scope(scope_kind: str, scope: str, region: int | None) -> str | None:
    """What is wrong with a scope (None: fine)."""
    if scope_kind not in SCOPE_KINDS:
        return f"scope kind must be one of {', '.join(SCOPE_KINDS)}"
    if scope_kind == "national":
        return None if not scope and region is None else "a national scope has no value and no region"
    if region is None or not 1 <= region <= 13:
        return "a scoped principal needs its region (1-13)"
    if scope_kind == "region" and scope != str(region):
        return "a region scope's value is the region number"
    if scope_kind == "district" and (scope.count("/") != 1 or not all(scope.split("/"))):
        return 'a district scope is "<province>/<district>"'
    if not scope:
        return "the scope needs a value"
    return None


# --- errors -------------------------------------------------------------------------------------


class Unauthenticated(KongtunError):
    pass


class Forbidden(KongtunError):
    pass


class RateLimited(KongtunError):
    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


# --- storage ----------------------------------------------------------------------------------

metadata = MetaData()

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("role", String(40), nullable=False),
    Column("scope_kind", String(20), nullable=False),
    Column("scope", String(300), nullable=False),
    Column("region", Integer, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
)

users = Table(
    "users",
    metadata,
    Column("username", String(120), primary_key=True),
    Column("password_hash", String(300), nullable=False),
    Column("role", String(40), nullable=False),
    Column("scope_kind", String(20), nullable=False),
    Column("scope", String(300), nullable=False),
    Column("region", Integer, nullable=True),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
)

TOKEN_PREFIX = "ktn_"
LOGIN_PREFIX = "ktl."


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _validate(role: str, scope_kind: str, scope: str, region: int | None) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    problem = check_scope(scope_kind, scope, region)
    if problem:
        raise ValueError(problem)


def issue_token(
    engine, name: str, role: str, scope_kind: str = "national", scope: str = "", region: int | None = None
) -> tuple[str, str]:
    """A new API token: (its id, the token itself, shown once)."""
    _validate(role, scope_kind, scope, region)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = str(uuid.uuid4())
    with engine.begin() as connection:
        connection.execute(
            api_tokens.insert().values(
                id=token_id,
                token_hash=hash_token(token),
                name=name,
                role=role,
                scope_kind=scope_kind,
                scope=scope,
                region=region,
                created_at=utcnow(),
            )
        )
    return token_id, token


def revoke_token(engine, token_id: str) -> bool:
    with engine.begin() as connection:
        result = connection.execute(
            update(api_tokens)
            .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    return result.rowcount == 1


def list_tokens(engine, include_revoked: bool = False) -> list[dict]:
    query = select(api_tokens).order_by(api_tokens.c.created_at)
    if not include_revoked:
        query = query.where(api_tokens.c.revoked_at.is_(None))
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [{key: value for key, value in row.items() if key != "token_hash"} for row in rows]


def principal_for_token(engine, token: str) -> Principal | None:
    with engine.connect() as connection:
        row = (
            connection.execute(
                select(api_tokens).where(
                    api_tokens.c.token_hash == hash_token(token), api_tokens.c.revoked_at.is_(None)
                )
            )
            .mappings()
            .first()
        )
    if row is None:
        return None
    return Principal(
        subject=f"token:{row['name']}",
        role=row["role"],
        scope_kind=row["scope_kind"],
        scope=row["scope"],
        region=row["region"],
        token_id=row["id"],
    )


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$16384$8$1${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        _algorithm, n, r, p, salt, digest = stored.split("$")
        candidate = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=len(digest) // 2
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate.hex(), digest)


def add_user(
    engine,
    username: str,
    password: str,
    role: str,
    scope_kind: str = "national",
    scope: str = "",
    region: int | None = None,
) -> None:
    _validate(role, scope_kind, scope, region)
    if len(password) < 10:
        raise ValueError("the password needs at least 10 characters")
    with engine.begin() as connection:
        connection.execute(
            users.insert().values(
                username=username,
                password_hash=hash_password(password),
                role=role,
                scope_kind=scope_kind,
                scope=scope,
                region=region,
                disabled=False,
                created_at=utcnow(),
            )
        )


def disable_user(engine, username: str) -> bool:
    with engine.begin() as connection:
        result = connection.execute(update(users).where(users.c.username == username).values(disabled=True))
    return result.rowcount == 1


_DUMMY_HASH = hash_password("not a password", b"0" * 16)


def authenticate_user(engine, username: str, password: str) -> Principal | None:
    with engine.connect() as connection:
        row = connection.execute(select(users).where(users.c.username == username)).mappings().first()
    if row is None or row["disabled"]:
        verify_password(password, _DUMMY_HASH)  # the same work either way: no user enumeration by timing
        return None
    if not verify_password(password, row["password_hash"]):
        return None
    return Principal(
        subject=f"user:{username}",
        role=row["role"],
        scope_kind=row["scope_kind"],
        scope=row["scope"],
        region=row["region"],
    )


# --- signed login tokens ----------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_login(principal: Principal, secret: bytes, ttl_seconds: int, now: float | None = None) -> str:
    claims = {**asdict(principal), "exp": int((now or time.time()) + ttl_seconds)}
    body = _b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
    signature = _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
    return f"{LOGIN_PREFIX}{body}.{signature}"


def verify_login(token: str, secret: bytes, now: float | None = None) -> Principal | None:
    try:
        body, signature = token[len(LOGIN_PREFIX) :].split(".")
        expected = _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, signature):
            return None
        claims = json.loads(_unb64(body))
        if claims.pop("exp") < (now or time.time()):
            return None
        return Principal(**claims)
    except (ValueError, TypeError, KeyError):
        return None


def load_secret(configured: str | None, directory: Path) -> bytes:
    """KONGTUN_GATEWAY_SECRET, or one generated once into <var>/gateway.secret."""
    if configured:
        return configured.encode()
    path = directory / "gateway.secret"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another gateway process made it first
            time.sleep(0.1)
        else:
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


def ensure_admin_token(engine, path: Path) -> tuple[str, bool]:
    """The development admin token in ``path``: kept if still valid, else issued and written (0600)."""
    if path.exists():
        token = path.read_text().strip()
        if token and principal_for_token(engine, token) is not None:
            return token, False
    _token_id, token = issue_token(engine, "development admin (make run)", "admin")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(token + "\n")
    return token, True


# --- rate limit -------------------------------------------------------------------------------


class TokenBuckets:
    """A token bucket per key: ``rate`` requests a second, bursts of ``burst``."""

    def __init__(self, rate: float, burst: float, clock=time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 if allowed, else the seconds to wait."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        with self.lock:
            level, last = self.buckets.get(key, (self.burst, now))
            level = min(self.burst, level + (now - last) * self.rate)
            if level >= 1:
                self.buckets[key] = (level - 1, now)
                return 0.0
            self.buckets[key] = (level, now)
            return (1 - level) / self.rate


# --- the dependency ---------------------------------------------------------------------------


class Authenticator:
    """What the gateway's routes use: bearer token → principal, rate limited."""

    CACHE_SECONDS = 2.0  # a revoked token stops working within this

    def __init__(self, engine, secret: bytes, rate: float, burst: float, login_ttl: int, region: int):
        self.engine, self.secret, self.login_ttl, self.region = engine, secret, login_ttl, region
        self.buckets = TokenBuckets(rate, burst)
        self.login_buckets = TokenBuckets(1.0, 10.0)  # password guessing: 10 tries, then one a second
        self.cache: dict[str, tuple[float, Principal | None]] = {}

    def principal(self, authorization: str) -> Principal:
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("Send Authorization: Bearer <token>.")
        if token.startswith(LOGIN_PREFIX):
            found = verify_login(token, self.secret)
        else:
            now = time.monotonic()
            cached = self.cache.get(token)
            if cached is not None and cached[0] > now:
                found = cached[1]
            else:
                found = principal_for_token(self.engine, token) if token.startswith(TOKEN_PREFIX) else None
                if len(self.cache) > 10_000:
                    self.cache.clear()
                self.cache[token] = (now + self.CACHE_SECONDS, found)
        if found is None:
            raise Unauthenticated("The token is unknown, revoked or expired.")
        wait = self.buckets.take(found.token_id or found.subject)
        if wait:
            raise RateLimited("Too many requests for this token; slow down.", max(1, int(wait + 0.999)))
        return found

    def throttle(self, key: str) -> None:
        wait = self.login_buckets.take(key)
        if wait:
            raise RateLimited("Too many login attempts; slow down.", max(1, int(wait + 0.999)))

    def login(self, username: str, password: str) -> str:
        principal = authenticate_user(self.engine, username, password)
        if principal is None:
            raise Unauthenticated("Wrong username or password.")
        return sign_login(principal, self.secret, self.login_ttl)


class Authentication(DependencyProvider):
    """The gateway's :class:`Authenticator`, built once per container from its configuration."""

    def setup(self):
        from kongtun_common.config import var_dir

        config = self.container.config
        self.engine = make_engine(config["DATABASE_URL"])
        secret = load_secret(config.get("GATEWAY_SECRET"), var_dir())
        self.authenticator = Authenticator(
            self.engine,
            secret,
            rate=float(config.get("GATEWAY_RATE_PER_SECOND", 50)),
            burst=float(config.get("GATEWAY_RATE_BURST", 200)),
            login_ttl=int(config.get("GATEWAY_LOGIN_TTL_SECONDS", 900)),
            region=int(config.get("REGION", 12)),
        )
        token_file = config.get("GATEWAY_ADMIN_TOKEN_FILE")
        if token_file:  # development: make run and the tests' stacks
            ensure_admin_token(self.engine, Path(token_file))

    def stop(self):
        self.engine.dispose()

    def get_dependency(self, worker_ctx):
        return self.authenticator
