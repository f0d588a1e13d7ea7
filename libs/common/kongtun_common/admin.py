"""``kongtun-admin``: the operators' command line.

Reads the same KONGTUN_* variables as the deployables (so ``docker compose exec
funds kongtun-admin ...`` works as is), plus:

- ``KONGTUN_RABBITMQ_MANAGEMENT_URL``: the broker's management API (default:
  ``http://<amqp host>:15672`` with the AMQP credentials); when it does not
  answer, queue listings fall back to ``rabbitmqctl list_queues -p <vhost>``.

Commands (``kongtun-admin <command> --help`` for each)::

    queues                              every Kongtun queue: ready, unacked, consumers
    dead-letters list                   the dead-letter queues and how many messages wait in each
    dead-letters inspect QUEUE [-n N]   N messages with their x-kongtun-* headers (they stay queued)
    dead-letters replay QUEUE [-n N]    move messages back to their handler queue, attempt count reset
    outbox status [SERVICE ...]         pending / published counts, the oldest pending and its last error
    outbox drain SERVICE                run the outbox relay once now and report
    tokens issue --name N --role R [--scope-kind K --scope S --region N]   a new API token (printed once)
    tokens revoke TOKEN_ID              revoke an API token (effective within seconds)
    tokens list [--all]                 the API tokens (never the tokens themselves)
    tokens user-add USERNAME --role R [...]  a person who logs in (password from $KONGTUN_ADMIN_PASSWORD or stdin)
    tokens user-disable USERNAME        stop a person from logging in
    import ...                          the funds service's CSV / taxonomy import (or `seed`)
    read-models rebuild                 reporting's read models, rebuilt from its event history

Exit status: 0 done, 1 failed (broker, database, missing queue), 2 usage or not available.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from types import SimpleNamespace

from .config import DEFAULT_AMQP_URI, ConfigurationError, Settings

SERVICES = ("funds", "projects", "notifications", "reporting")
DEAD_LETTER_SUFFIX = ".dead-letters"
MANAGEMENT_PORT = 15672
MAX_BODY_SHOWN = 4000


class AdminError(Exception):
    """A failure to report on one line (exit status 1)."""


# --- output ----------------------------------------------------------------------


def _print_json(value) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=_json_default))


def _json_default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _print_table(rows: list[dict], columns: list[str]) -> None:
    if not rows:
        print("(none)")
        return
    widths = {column: max(len(column), *(len(str(row.get(column, ""))) for row in rows)) for column in columns}
    print("  ".join(column.upper().ljust(widths[column]) for column in columns).rstrip())
    for row in rows:
        print("  ".join(str(row.get(column, "")).ljust(widths[column]) for column in columns).rstrip())


# --- the broker: queue listings ----------------------------------------------------


def amqp_uri_from(args) -> str:
    return args.amqp_uri or os.environ.get("KONGTUN_AMQP_URI", "").strip() or DEFAULT_AMQP_URI


def vhost_of(amqp_uri: str) -> str:
    path = urllib.parse.urlsplit(amqp_uri).path
    return urllib.parse.unquote(path[1:]) if len(path) > 1 else "/"


def queue_kind(name: str) -> str:
    if name.endswith(DEAD_LETTER_SUFFIX):
        return "dead-letters"
    if ".retry." in name:
        return "retry"
    if name.startswith("rpc-"):
        return "rpc"
    if name.split(".", 1)[0] in SERVICES:
        return "handler"
    return "other"


def is_kongtun_queue(name: str) -> bool:
    """Handler, retry, dead-letter and RPC queues; not nameko's reply queues nor test spies."""
    return queue_kind(name) != "other"


def management_url(amqp_uri: str) -> tuple[str, str, str]:
    """(base URL, user, password) of the management API for this broker."""
    parts = urllib.parse.urlsplit(amqp_uri)
    user = urllib.parse.unquote(parts.username or "guest")
    password = urllib.parse.unquote(parts.password or "guest")
    base = os.environ.get("KONGTUN_RABBITMQ_MANAGEMENT_URL", "").strip()
    if not base:
        base = f"http://{parts.hostname or '127.0.0.1'}:{MANAGEMENT_PORT}"
    return base.rstrip("/"), user, password


def queues_via_management(amqp_uri: str, timeout: float = 5.0) -> list[dict]:
    base, user, password = management_url(amqp_uri)
    vhost = urllib.parse.quote(vhost_of(amqp_uri), safe="")
    request = urllib.request.Request(
        f"{base}/api/queues/{vhost}?columns=name,messages_ready,messages_unacknowledged,consumers",
        headers={"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - operator-given URL
        listed = json.load(response)
    return [_queue_row(item) for item in listed]


def queues_via_rabbitmqctl(amqp_uri: str, timeout: float = 60.0) -> list[dict]:
    if shutil.which("rabbitmqctl") is None:
        raise AdminError("neither the management API answers nor is rabbitmqctl installed here")
    result = subprocess.run(
        [
            "rabbitmqctl",
            "-q",
            "list_queues",
            "-p",
            vhost_of(amqp_uri),
            "name",
            "messages_ready",
            "messages_unacknowledged",
            "consumers",
            "--formatter",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise AdminError(f"rabbitmqctl list_queues failed: {(result.stderr or result.stdout).strip()}")
    return [_queue_row(item) for item in json.loads(result.stdout or "[]")]


def _queue_row(item: dict) -> dict:
    name = item["name"]
    ready = int(item.get("messages_ready") or 0)
    unacked = int(item.get("messages_unacknowledged") or 0)
    return {
        "name": name,
        "kind": queue_kind(name),
        "messages": ready + unacked,
        "ready": ready,
        "unacked": unacked,
        "consumers": int(item.get("consumers") or 0),
    }


def list_queues(amqp_uri: str, via: str = "auto") -> tuple[list[dict], str]:
    """Every queue of the vhost, sorted by name; and which source answered."""
    if via in ("auto", "management"):
        try:
            return sorted(queues_via_management(amqp_uri), key=lambda row: row["name"]), "management"
        except (OSError, urllib.error.URLError, ValueError) as exc:
            if via == "management":
                raise AdminError(f"the management API did not answer: {exc}") from exc
    return sorted(queues_via_rabbitmqctl(amqp_uri), key=lambda row: row["name"]), "rabbitmqctl"


def cmd_queues(args) -> int:
    rows, source = list_queues(amqp_uri_from(args), args.via)
    if not args.all:
        rows = [row for row in rows if is_kongtun_queue(row["name"])]
    if args.json:
        _print_json({"source": source, "queues": rows})
    else:
        _print_table(rows, ["name", "kind", "ready", "unacked", "consumers"])
        print(f"({len(rows)} queues, from {source})")
    return 0


# --- dead letters ---------------------------------------------------------------------


def dead_letter_names(queue: str) -> tuple[str, str]:
    """(handler queue, its dead-letter queue) from either name."""
    if queue.endswith(DEAD_LETTER_SUFFIX):
        return queue[: -len(DEAD_LETTER_SUFFIX)], queue
    return queue, queue + DEAD_LETTER_SUFFIX


def _connection(amqp_uri: str):
    from kombu import Connection

    return Connection(amqp_uri, connect_timeout=5, transport_options={"confirm_publish": True})


def _queue_depth(channel, name: str) -> tuple[int, int]:
    """(messages, consumers) of an existing queue; AdminError if it does not exist."""
    from amqp.exceptions import NotFound

    try:
        declared = channel.queue_declare(queue=name, passive=True)
    except NotFound as exc:
        raise AdminError(f"no queue {name!r} in vhost {channel.connection.virtual_host!r}") from exc
    return declared.message_count, declared.consumer_count


def cmd_dead_letters_list(args) -> int:
    amqp_uri = amqp_uri_from(args)
    listed, source = list_queues(amqp_uri, args.via)
    names = [row["name"] for row in listed if row["kind"] == "dead-letters"]
    rows = []
    # The listing names the queues; the counts are asked over AMQP, which is exact
    # (the management API's are sampled every few seconds).
    with _connection(amqp_uri) as connection:
        channel = connection.channel()
        for name in names:
            try:
                messages, _ = _queue_depth(channel, name)
            except AdminError:  # deleted since the listing
                channel = connection.channel()
                continue
            if args.all or messages > 0:
                rows.append({"queue": name, "handler_queue": dead_letter_names(name)[0], "messages": messages})
    if args.json:
        _print_json({"source": source, "dead_letters": rows})
    else:
        _print_table(rows, ["queue", "messages"])
        print(f"({sum(row['messages'] for row in rows)} messages in {len(rows)} queues, from {source})")
    return 0


def _describe(message) -> dict:
    headers = dict(message.headers or {})
    properties = message.properties or {}
    body = message.body
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    try:
        envelope = json.loads(text)
    except ValueError:
        envelope = None
    described = {
        "message_id": properties.get("message_id"),
        "content_type": message.content_type,
        "headers": {key: value for key, value in headers.items() if key.startswith("x-kongtun-")},
        "type": envelope.get("type") if isinstance(envelope, dict) else None,
        "event_id": envelope.get("id") if isinstance(envelope, dict) else None,
        "body": text if len(text) <= MAX_BODY_SHOWN else text[:MAX_BODY_SHOWN] + "...",
    }
    return described


def cmd_dead_letters_inspect(args) -> int:
    """Show up to N messages; they are rejected back to the queue, in their order, never acked."""
    _, dead_letters = dead_letter_names(args.queue)
    shown = []
    with _connection(amqp_uri_from(args)) as connection:
        channel = connection.channel()
        waiting, _ = _queue_depth(channel, dead_letters)
        held = []
        try:
            for _ in range(min(args.count, waiting)):
                message = channel.basic_get(queue=dead_letters, no_ack=False)
                if message is None:
                    break
                held.append(message)
                shown.append(_describe(_as_kombu(channel, message)))
        finally:
            for message in reversed(held):  # requeue: the broker puts them back where they were
                channel.basic_reject(message.delivery_tag, requeue=True)
    if args.json:
        _print_json({"queue": dead_letters, "waiting": waiting, "messages": shown})
    else:
        print(f"{dead_letters}: {waiting} message(s) waiting; showing {len(shown)} (left in the queue)")
        for index, item in enumerate(shown, 1):
            print(f"--- {index}. {item['type'] or '(no type)'} event {item['event_id'] or '?'}")
            for key, value in sorted(item["headers"].items()):
                print(f"    {key}: {value}")
            print(f"    body: {item['body']}")
    return 0


def _as_kombu(channel, raw):
    """A kombu Message view (headers, content type) of a py-amqp basic_get result."""
    from kombu.transport.pyamqp import Message

    return Message(raw, channel=channel)


def cmd_dead_letters_replay(args) -> int:
    """Move messages from ``<queue>.dead-letters`` back to ``<queue>`` through the default exchange.

    Each message is published with confirms, then acked: a crash between the two leaves a copy
    in both queues (handlers are idempotent), never none. ``x-kongtun-attempt`` is removed, so
    the handler gets its full retries again.
    """
    from kombu import Producer

    from .events.topology import ATTEMPT_HEADER

    queue, dead_letters = dead_letter_names(args.queue)
    moved = 0
    with _connection(amqp_uri_from(args)) as connection:
        channel = connection.channel()
        waiting, _ = _queue_depth(channel, dead_letters)
        _queue_depth(channel, queue)  # the handler queue must exist: the default exchange drops what it cannot route
        producer = Producer(channel)
        limit = waiting if args.all else min(args.count, waiting)
        for _ in range(limit):
            raw = channel.basic_get(queue=dead_letters, no_ack=False)
            if raw is None:
                break
            message = _as_kombu(channel, raw)
            headers = {key: value for key, value in (message.headers or {}).items() if key != ATTEMPT_HEADER}
            properties = message.properties or {}
            try:
                producer.publish(
                    message.body,
                    exchange="",
                    routing_key=queue,
                    headers=headers,
                    content_type=message.content_type or "application/octet-stream",
                    content_encoding=message.content_encoding or "binary",
                    message_id=properties.get("message_id"),
                    delivery_mode=2,
                    mandatory=True,
                )
            except Exception:
                channel.basic_reject(raw.delivery_tag, requeue=True)
                raise
            channel.basic_ack(raw.delivery_tag)
            moved += 1
        left, _ = _queue_depth(channel, dead_letters)
    if args.json:
        _print_json({"queue": queue, "dead_letters": dead_letters, "replayed": moved, "left": left})
    else:
        print(f"replayed {moved} message(s) from {dead_letters} to {queue}; {left} left")
    return 0


# --- the outboxes -----------------------------------------------------------------------


def database_url_for(service: str, override: str | None = None) -> str:
    if override:
        return override
    try:
        return Settings.from_env(service).database_url
    except ConfigurationError as exc:
        raise AdminError(str(exc)) from exc


def _outbox_table():
    from sqlalchemy import MetaData

    from .db import backbone_tables

    outbox, _ = backbone_tables(MetaData())
    return outbox


def outbox_status(service: str, database_url: str, limit: int = 5) -> dict:
    from sqlalchemy import case, func, select

    from .engine import as_utc, make_engine, utcnow

    table = _outbox_table()
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            pending_expr = case((table.c.published_at.is_(None), 1), else_=0)
            total, pending = connection.execute(select(func.count(table.c.id), func.sum(pending_expr))).one()
            oldest = connection.execute(
                select(
                    table.c.event_id,
                    table.c.type,
                    table.c.created_at,
                    table.c.attempts,
                    table.c.next_attempt_at,
                    table.c.last_error,
                )
                .where(table.c.published_at.is_(None))
                .order_by(table.c.id)
                .limit(limit)
            ).all()
    except Exception as exc:
        raise AdminError(f"{service}: cannot read the outbox: {exc}") from exc
    finally:
        engine.dispose()
    now = utcnow()
    pending = int(pending or 0)
    return {
        "service": service,
        "pending": pending,
        "published": int(total or 0) - pending,
        "oldest_pending": [
            {
                "event_id": row.event_id,
                "type": row.type,
                "created_at": row.created_at,
                "age_seconds": round((now - as_utc(row.created_at)).total_seconds(), 1),
                "attempts": row.attempts,
                "next_attempt_at": row.next_attempt_at,
                "last_error": row.last_error,
            }
            for row in oldest
        ],
    }


def _services(names: list[str] | None) -> list[str]:
    for name in names or []:
        if name not in SERVICES:
            raise AdminError(f"unknown service {name!r}; one of {', '.join(SERVICES)}")
    return list(names or SERVICES)


def cmd_outbox_status(args) -> int:
    services = _services(args.services)
    if args.database_url and len(services) != 1:
        raise AdminError("--database-url needs exactly one service")
    reports = [outbox_status(name, database_url_for(name, args.database_url), args.limit) for name in services]
    if args.json:
        _print_json({"outboxes": reports})
        return 0
    _print_table(reports, ["service", "pending", "published"])
    for report in reports:
        for row in report["oldest_pending"]:
            print(
                f"  {report['service']}: {row['type']} {row['event_id']} pending {row['age_seconds']}s, "
                f"{row['attempts']} attempt(s)" + (f", last error: {row['last_error']}" if row["last_error"] else "")
            )
    return 0


def drain_outbox(service: str, database_url: str, amqp_uri: str, max_batches: int = 50) -> dict:
    """Run the service's outbox relay here, now, until nothing due is left (or ``max_batches``)."""
    from .engine import DatabaseEngine
    from .events.outbox import BATCH_SIZE, OutboxRelay

    container = SimpleNamespace(
        service_name=service,
        config={"AMQP_URI": amqp_uri, "DATABASE_URL": database_url, "OUTBOX_RELAY_ENABLED": True},
    )
    engine = DatabaseEngine()
    engine.container = container
    engine.setup()
    relay = OutboxRelay()
    relay.container = container
    relay.engine = engine
    relay.outbox = _outbox_table()
    relay.setup()
    published = 0
    try:
        for _ in range(max_batches):
            confirmed = relay.relay_once()
            published += confirmed
            if confirmed < BATCH_SIZE:
                break
    except Exception as exc:
        raise AdminError(f"{service}: the relay stopped after {published} event(s): {exc}") from exc
    finally:
        engine.stop()
    return {"service": service, "published": published}


def cmd_outbox_drain(args) -> int:
    (service,) = _services([args.service])
    database_url = database_url_for(service, args.database_url)
    result = drain_outbox(service, database_url, amqp_uri_from(args))
    after = outbox_status(service, database_url, limit=5)
    result.update(pending=after["pending"], still_pending=after["oldest_pending"])
    if args.json:
        _print_json(result)
    else:
        print(f"{service}: published {result['published']} event(s); {result['pending']} still pending")
        for row in after["oldest_pending"]:
            print(f"  {row['type']} {row['event_id']}: {row['last_error'] or 'not yet due'}")
    return 0


# --- tokens (the gateway's authentication) ----------------------------------------------------


def _gateway_engine(args):
    from .engine import make_engine

    url = database_url_for("gateway", args.database_url)
    try:
        from kongtun_gateway.migrations_path import MIGRATIONS
    except ImportError as exc:
        raise AdminError("the gateway package (kongtun-gateway) is not installed here") from exc
    from .migrations import upgrade

    upgrade(url, MIGRATIONS)
    return make_engine(url)


def _scope_of(args) -> tuple[str, str, int | None]:
    kind = args.scope_kind
    scope = args.scope or ""
    region = args.region
    if kind == "region" and region is not None and not scope:
        scope = str(region)
    return kind, scope, region


def cmd_tokens_issue(args) -> int:
    from kongtun_gateway import auth

    engine = _gateway_engine(args)
    try:
        token_id, token = auth.issue_token(engine, args.name, args.role, *_scope_of(args))
    except ValueError as exc:
        raise AdminError(str(exc)) from exc
    if args.json:
        _print_json({"id": token_id, "token": token, "role": args.role})
    else:
        print(f"token id: {token_id}", file=sys.stderr)
        print("the token (shown once; store it now):", file=sys.stderr)
        print(token)
    return 0


def cmd_tokens_revoke(args) -> int:
    from kongtun_gateway import auth

    if not auth.revoke_token(_gateway_engine(args), args.token_id):
        raise AdminError(f"no active token with id {args.token_id}")
    print(f"revoked {args.token_id}")
    return 0


def cmd_tokens_list(args) -> int:
    from kongtun_gateway import auth

    rows = auth.list_tokens(_gateway_engine(args), include_revoked=args.all)
    if args.json:
        _print_json(rows)
    else:
        _print_table(rows, ["id", "name", "role", "scope_kind", "scope", "region", "created_at", "revoked_at"])
    return 0


def cmd_tokens_user_add(args) -> int:
    from kongtun_gateway import auth

    password = os.environ.get("KONGTUN_ADMIN_PASSWORD") or sys.stdin.readline().rstrip("\n")
    try:
        auth.add_user(_gateway_engine(args), args.username, password, args.role, *_scope_of(args))
    except ValueError as exc:
        raise AdminError(str(exc)) from exc
    print(f"added {args.username} ({args.role})")
    return 0


def cmd_tokens_user_disable(args) -> int:
    from kongtun_gateway import auth

    if not auth.disable_user(_gateway_engine(args), args.username):
        raise AdminError(f"no user {args.username}")
    print(f"disabled {args.username}")
    return 0


# --- commands that other issues provide ---------------------------------------------------


def cmd_read_models(args) -> int:
    """Rebuild reporting's read models from its event history (python -m kongtun_reporting.cli)."""
    from kongtun_reporting.cli import main as reporting_cli

    return reporting_cli(list(args.rest))


def cmd_import(args) -> int:
    """Geography, funds or taxonomies into the funds service's database (its own import, same checks)."""
    from kongtun_funds.cli import main as funds_cli

    rest = list(args.rest)
    if rest and rest[0] in ("geography", "funds"):  # kongtun-admin import funds FILE.csv
        rest = ["import", *rest]
    return funds_cli(rest)


# --- the parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kongtun-admin",
        description="Kongtun operations: queues, dead letters, outboxes. Settings: the KONGTUN_* variables.",
    )
    parser.add_argument("--amqp-uri", help="the broker (default: $KONGTUN_AMQP_URI or the local RabbitMQ)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def output_options(sub):
        sub.add_argument("--json", action="store_true", help="machine-readable output")

    def via_option(sub):
        sub.add_argument(
            "--via",
            choices=("auto", "management", "rabbitmqctl"),
            default="auto",
            help="where queue counts come from (auto: the management API, else rabbitmqctl)",
        )

    queues = commands.add_parser("queues", help="Kongtun queues with their depth and consumers")
    queues.add_argument("--all", action="store_true", help="also reply queues and foreign queues")
    via_option(queues)
    output_options(queues)
    queues.set_defaults(handler=cmd_queues)

    dead = commands.add_parser("dead-letters", help="list, inspect and replay dead letters")
    dead_commands = dead.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = dead_commands.add_parser("list", help="dead-letter queues holding messages")
    listing.add_argument("--all", action="store_true", help="also the empty ones")
    via_option(listing)
    output_options(listing)
    listing.set_defaults(handler=cmd_dead_letters_list)
    inspect = dead_commands.add_parser("inspect", help="show messages with their x-kongtun-* headers (kept queued)")
    inspect.add_argument("queue", help="<service>.<handler> or its .dead-letters queue")
    inspect.add_argument("-n", "--count", type=int, default=10, help="how many (default 10)")
    output_options(inspect)
    inspect.set_defaults(handler=cmd_dead_letters_inspect)
    replay = dead_commands.add_parser("replay", help="move messages back to their handler queue")
    replay.add_argument("queue", help="<service>.<handler> or its .dead-letters queue")
    amount = replay.add_mutually_exclusive_group(required=True)
    amount.add_argument("-n", "--count", type=int, help="how many, oldest first")
    amount.add_argument("--all", action="store_true", help="every message waiting now")
    output_options(replay)
    replay.set_defaults(handler=cmd_dead_letters_replay)

    outbox = commands.add_parser("outbox", help="inspect and drain the services' outboxes")
    outbox_commands = outbox.add_subparsers(dest="action", metavar="ACTION", required=True)
    status = outbox_commands.add_parser("status", help="pending and published counts, the oldest pending")
    status.add_argument("services", nargs="*", metavar="SERVICE", help=f"default: all of {', '.join(SERVICES)}")
    status.add_argument("--database-url", help="instead of $KONGTUN_<SERVICE>_DATABASE_URL (one service)")
    status.add_argument("--limit", type=int, default=5, help="how many pending events to show (default 5)")
    output_options(status)
    status.set_defaults(handler=cmd_outbox_status)
    drain = outbox_commands.add_parser("drain", help="run the outbox relay once now and report")
    drain.add_argument("service", metavar="SERVICE")
    drain.add_argument("--database-url", help="instead of $KONGTUN_<SERVICE>_DATABASE_URL")
    output_options(drain)
    drain.set_defaults(handler=cmd_outbox_drain)

    tokens = commands.add_parser("tokens", help="issue, list and revoke API tokens; add people who log in")
    token_commands = tokens.add_subparsers(dest="action", metavar="ACTION", required=True)

    def gateway_options(sub, scoped=True):
        sub.add_argument("--database-url", help="instead of $KONGTUN_GATEWAY_DATABASE_URL")
        if scoped:
            sub.add_argument("--role", required=True, help="admin, regional_admin, fund_officer, proposer, ...")
            sub.add_argument(
                "--scope-kind",
                default="national",
                choices=("national", "region", "province", "district", "fund"),
                help="default national",
            )
            sub.add_argument("--scope", help='province name, "<province>/<district>", or fund code')
            sub.add_argument("--region", type=int, help="the region the scope lies in (1-13)")

    issue = token_commands.add_parser("issue", help="a new API token, printed once")
    issue.add_argument("--name", required=True, help="who or what holds it")
    gateway_options(issue)
    output_options(issue)
    issue.set_defaults(handler=cmd_tokens_issue)
    revoke = token_commands.add_parser("revoke", help="revoke an API token")
    revoke.add_argument("token_id")
    gateway_options(revoke, scoped=False)
    revoke.set_defaults(handler=cmd_tokens_revoke)
    token_list = token_commands.add_parser("list", help="the API tokens (not the tokens themselves)")
    token_list.add_argument("--all", action="store_true", help="also revoked ones")
    gateway_options(token_list, scoped=False)
    output_options(token_list)
    token_list.set_defaults(handler=cmd_tokens_list)
    user_add = token_commands.add_parser("user-add", help="a person who logs in (password on stdin)")
    user_add.add_argument("username")
    gateway_options(user_add)
    user_add.set_defaults(handler=cmd_tokens_user_add)
    user_disable = token_commands.add_parser("user-disable", help="stop a person from logging in")
    user_disable.add_argument("username")
    gateway_options(user_disable, scoped=False)
    user_disable.set_defaults(handler=cmd_tokens_user_disable)

    importing = commands.add_parser(
        "import",
        help="import data: geography|funds FILE.csv, taxonomies FILE.json, or seed (the shipped data)",
        description="Runs the funds service's import (python -m kongtun_funds.cli) on its database.",
    )
    importing.add_argument("rest", nargs=argparse.REMAINDER, help="geography|funds FILE, taxonomies FILE, or seed")
    importing.set_defaults(handler=cmd_import)

    read_models = commands.add_parser(
        "read-models",
        help="reporting's read models: rebuild (from the event history)",
        description="Runs the reporting service's CLI (python -m kongtun_reporting.cli) on its database.",
    )
    read_models.add_argument("rest", nargs=argparse.REMAINDER, help="rebuild")
    read_models.set_defaults(handler=cmd_read_models)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .green import quiet_eventlet_warning

    quiet_eventlet_warning()
    args = build_parser().parse_args(argv)
    if getattr(args, "count", None) is not None and args.count < 1:
        print("kongtun-admin: --count must be at least 1", file=sys.stderr)
        return 2
    try:
        return args.handler(args)
    except AdminError as exc:
        print(f"kongtun-admin: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # the broker or a database unreachable
        print(f"kongtun-admin: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
