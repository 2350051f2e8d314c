"""Channels behind one interface: each takes a rendered message and hands it to a
provider, returning the provider's message id or raising ChannelError.

The in-app channel needs no provider: delivery.py writes the inbox row in the
same transaction that marks the message sent, so it is exactly-once by
construction. Email and SMS leave the process; their adapters carry an
idempotency key (SMS: a header the provider deduplicates on; email: a
Message-ID derived from the message, so a resend after a lost worker is the
same message to the receiving side).
"""

from __future__ import annotations

import contextlib
import functools
import html
import json
import logging
import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr
from typing import Protocol

import httpx

from prm_saas.settings import get_settings

log = logging.getLogger(__name__)

SMTP_TIMEOUT_S = 10
SMS_TIMEOUT_S = 10


@dataclass(frozen=True)
class Outbound:
    """A rendered message, ready for a provider."""

    message_id: int
    tenant_id: int
    to: str
    subject: str
    body: str
    idempotency_key: str
    marketing: bool
    unsubscribe_url: str = ""
    open_pixel_url: str = ""  # email: an HTML part is added, with this 1x1 image
    from_name: str = ""
    redact: bool = False  # wipe the body from the outbox once it is final


def _one_line(value: str) -> str:
    """A header value: line breaks (header injection) folded into single spaces."""
    return " ".join(value.split())


# http(s) URLs in a plain-text body (RFC 3986 characters; sentence punctuation after
# a link is not part of it).
_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*[A-Za-z0-9\-_~/#=&%+]")


def _linked(text: str) -> str:
    """Plain text as HTML: escaped, URLs as links, line breaks kept."""
    out: list[str] = []
    pos = 0
    for m in _URL.finditer(text):
        url = html.escape(m.group(0), quote=True)
        out += [html.escape(text[pos : m.start()]), f'<a href="{url}">{url}</a>']
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out).replace("\n", "<br>\n")


def html_alternative(body: str, pixel_url: str) -> str:
    """The HTML part of an email whose opens are counted: the plain-text body
    (escaped, links clickable) and a 1x1 image at ``pixel_url``."""
    pixel = html.escape(pixel_url, quote=True)
    return (
        '<!doctype html><html><head><meta charset="utf-8"></head><body>'
        f'<div style="white-space:normal;font-family:sans-serif">{_linked(body)}</div>'
        f'<img src="{pixel}" width="1" height="1" alt="" style="display:block;border:0">'
        "</body></html>"
    )


class ChannelError(Exception):
    """The provider refused or failed. ``transient`` errors are retried with back-off."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class ChannelAdapter(Protocol):
    """What every outbound channel does.

    An adapter whose provider recognises a repeated idempotency key (answers it
    without sending again) says so with a class attribute ``deduplicates = True``;
    delivery then records a batch's outcomes in one transaction. Without it each
    outcome is committed right after its send.
    """

    def send(self, out: Outbound) -> str:
        """Deliver ``out``; the provider's message id. Raises ChannelError."""
        ...

    def close(self) -> None:
        """Release connections kept between sends."""
        ...


class EmailChannel:
    """SMTP, one connection reused for a batch of messages."""

    # An SMTP server takes a resent message as a new one (the same Message-ID
    # only lets mail clients collapse it).
    deduplicates = False

    def __init__(self) -> None:
        self._smtp: smtplib.SMTP | None = None

    def _connection(self) -> smtplib.SMTP:
        s = get_settings()
        if self._smtp is None:
            smtp = smtplib.SMTP(s.smtp_host or "localhost", s.smtp_port, timeout=SMTP_TIMEOUT_S)
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_user and s.smtp_password:
                smtp.login(s.smtp_user, s.smtp_password)
            self._smtp = smtp
        return self._smtp

    def send(self, out: Outbound) -> str:
        """Send one email; permanent for a refused recipient, transient otherwise."""
        s = get_settings()
        msg = EmailMessage()
        default_name, _sep, default_addr = s.mail_from.rpartition(" <")
        address = default_addr.rstrip(">") if default_addr else s.mail_from
        msg["From"] = formataddr((_one_line(out.from_name or default_name or "PRM"), address))
        msg["To"] = _one_line(out.to)
        msg["Subject"] = _one_line(out.subject)
        # The same message always has the same Message-ID: a resend after a lost
        # worker is recognisably the same mail (clients collapse duplicates).
        msg["Message-ID"] = f"<{out.idempotency_key}@prm.localhost>"
        body = out.body
        if out.marketing and out.unsubscribe_url:
            msg["List-Unsubscribe"] = f"<{out.unsubscribe_url}>"
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            body += f"\n\n--\n退订 / Unsubscribe: {out.unsubscribe_url}"
        msg.set_content(body)
        if out.open_pixel_url:
            msg.add_alternative(html_alternative(body, out.open_pixel_url), subtype="html")
        if not s.smtp_host:
            # No mail server configured (a laptop install): the console is the mailbox.
            log.warning("console mail to %s: %s\n%s", out.to, msg["Subject"], body)
            return str(msg["Message-ID"])
        try:
            refused = self._connection().send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise ChannelError(f"recipient refused: {exc.recipients}", transient=False) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise ChannelError(f"SMTP: {exc}", transient=True) from exc
        if refused:
            raise ChannelError(f"recipient refused: {refused}", transient=False)
        return str(msg["Message-ID"])

    def close(self) -> None:
        """Quit the SMTP session."""
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._smtp = None


@dataclass(frozen=True)
class SmsConfig:
    """A tenant's SMS provider account."""

    url: str
    api_key: str
    sender: str
    callback_url: str


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default verifying TLS context, built once per process: building it
    (loading the CA bundle) costs more than a whole batch of local sends."""
    return httpx.create_ssl_context()


class SmsChannel:
    """An HTTP SMS provider: POST {url}/messages, JSON in and out.

    Request: {"to", "from", "text", "callback_url", "client_ref"} with
    ``Authorization: Bearer <api key>`` and ``Idempotency-Key`` (the provider
    returns the first result for a repeated key). Response: {"id": "..."}.
    4xx other than 408/429 are permanent (bad number, bad account); the rest
    is retried.
    """

    deduplicates = True  # a repeated Idempotency-Key gets the first answer, no new SMS

    def __init__(self, config: SmsConfig) -> None:
        self.config = config
        self._client = httpx.Client(timeout=SMS_TIMEOUT_S, verify=_tls_context())

    def send(self, out: Outbound) -> str:
        """Send one text message."""
        if not self.config.url:
            raise ChannelError("SMS provider is not configured", transient=False)
        try:
            r = self._client.post(
                f"{self.config.url.rstrip('/')}/messages",
                json={
                    "to": out.to,
                    "from": self.config.sender,
                    "text": out.body,
                    "callback_url": self.config.callback_url,
                    "client_ref": out.idempotency_key,
                },
                headers={
                    "Authorization": f"Bearer {self.config.api_key}",
                    "Idempotency-Key": out.idempotency_key,
                },
            )
        except httpx.HTTPError as exc:
            raise ChannelError(f"SMS provider: {exc}", transient=True) from exc
        if r.status_code in (408, 429) or r.status_code >= 500:
            raise ChannelError(f"SMS provider HTTP {r.status_code}: {r.text[:200]}", transient=True)
        if r.status_code >= 400:
            raise ChannelError(
                f"SMS provider HTTP {r.status_code}: {r.text[:200]}", transient=False
            )
        try:
            provider_id = str(r.json()["id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ChannelError(
                f"SMS provider answer unreadable: {r.text[:200]}", transient=True
            ) from exc
        return provider_id

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()


def payload_json(payload: object) -> str:
    """A provider payload as stored (compact, non-ASCII kept)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)[:4000]
