"""How messages leave: email over SMTP and signed webhooks over HTTP(S).

Both carry a stable id (the delivery id): the email's ``Message-ID`` and the webhook's
``Kongtun-Delivery`` header, so that a message resent after a crash between sending and
recording can be recognised by its receiver.
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr

SIGNATURE_HEADER = "Kongtun-Signature"
DELIVERY_HEADER = "Kongtun-Delivery"
EVENT_HEADER = "Kongtun-Event"
TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, now: float | None = None, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """What a receiver does: recompute the signature and refuse stale timestamps (replays)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str | None = None
    permanent: bool = False
    duration_ms: int = 0


def build_email(delivery_id: str, sender: str, payload: dict, domain: str) -> Message:
    """A UTF-8 message; Thai headers as RFC 2047 encoded words split between characters (``email.header``
    keeps the spaces, which the newer folding of ``email.policy`` drops between encoded words)."""
    body = MIMEText(payload["body"], "plain", "utf-8")
    attachment = payload.get("attachment")
    if attachment:
        message = MIMEMultipart("mixed")
        message.attach(body)
        calendar = MIMEText(attachment["content"], "calendar", "utf-8")
        calendar.set_param("method", attachment.get("method", "REQUEST"))
        calendar.add_header("Content-Disposition", "attachment", filename=attachment.get("filename", "invite.ics"))
        message.attach(calendar)
    else:
        message = body
    message["Message-ID"] = f"<{delivery_id}@{domain}>"
    message["From"] = formataddr(parseaddr(sender), charset="utf-8")
    message["To"] = formataddr((payload.get("name", ""), payload["to"]), charset="utf-8")
    message["Subject"] = Header(payload["subject"], "utf-8")
    message["Date"] = formatdate(usegmt=True)
    message["Auto-Submitted"] = "auto-generated"
    return message


class SmtpTransport:
    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        domain: str,
        timeout: float = 10.0,
        starttls: bool = False,
        user: str = "",
        password: str = "",
    ):
        self.host, self.port, self.sender, self.domain = host, port, sender, domain
        self.timeout, self.starttls, self.user, self.password = timeout, starttls, user, password

    def connect(self) -> smtplib.SMTP:
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.starttls:
            client.starttls()
        if self.user:
            client.login(self.user, self.password)
        return client

    def send(self, client: smtplib.SMTP, delivery_id: str, payload: dict) -> Outcome:
        started = time.perf_counter()
        try:
            client.send_message(build_email(delivery_id, self.sender, payload, self.domain))
        except smtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.smtp_code < 600
            return Outcome(False, exc.smtp_code, f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", permanent, _ms(started))
        except smtplib.SMTPRecipientsRefused as exc:
            return Outcome(False, None, f"recipients refused: {exc.recipients}", True, _ms(started))
        return Outcome(True, 250, None, False, _ms(started))


class WebhookTransport:
    def __init__(self, timeout: float = 10.0):
        self.timeout = timeout

    def post(self, url: str, secret: str, delivery_id: str, event_type: str, body: bytes) -> Outcome:
        started = time.perf_counter()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Kongtun-Webhooks/1",
            DELIVERY_HEADER: delivery_id,
            EVENT_HEADER: event_type,
            SIGNATURE_HEADER: sign(secret, int(time.time()), body),
        }
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read(1024)
                return Outcome(True, response.status, None, False, _ms(started))
        except urllib.error.HTTPError as exc:
            # 410 Gone: the receiver says this endpoint will never accept again.
            return Outcome(False, exc.code, f"HTTP {exc.code}", exc.code == 410, _ms(started))
        except (urllib.error.URLError, OSError) as exc:
            return Outcome(False, None, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}", False, _ms(started))


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
