"""Tracked links and the open pixel of marketing messages.

When the delivery renders a marketing message for the first time, every
http(s) URL of its body becomes ``<origin>/api/t/c/<tenant id>-<code>``: a short
random code per (message, URL), stored in ``tracked_link``. The rendered body is
stored on the message, so a retry sends the same links. A click looks the code
up in the tenant the link names (inside that tenant's session: another
tenant's code is simply not there), records the click and redirects to the URL
stored for it, never to anything taken from the request.

An email's open pixel is ``<origin>/api/t/o/<token>``: the token names tenant and
message and is signed with the server secret (like the unsubscribe token, with
its own purpose), so it cannot be pointed at another tenant's message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import string
from datetime import datetime

from sqlmodel import col, select

from prm_saas.messaging.models import Message
from prm_saas.settings import get_settings
from prm_saas.tracking.models import (
    CODE_LENGTH,
    URL_MAX,
    TrackedLink,
    TrackingEvent,
    TrackingKind,
)
from tenants.db import TenantSession

CLICK_PATH = "/api/t/c/"
OPEN_PATH = "/api/t/o/"
_ALPHABET = string.ascii_letters + string.digits
# The characters a URL may hold (RFC 3986); anything else (a space, a Chinese
# character or full-width punctuation right after the link) ends it.
URL_RE = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_TRAILING = ".,;:!?'"
_CODE_RE = re.compile(rf"^([1-9][0-9]{{0,9}})-([A-Za-z0-9]{{{CODE_LENGTH}}})$")


def _trim(url: str) -> str:
    """A URL without the sentence punctuation that follows it: a trailing ``.``,
    ``,`` etc., and a closing bracket that has no opening one in the URL."""
    pairs = {")": "(", "]": "["}
    while url:
        last = url[-1]
        unbalanced = last in pairs and url.count(pairs[last]) < url.count(last)
        if last not in _TRAILING and not unbalanced:
            break
        url = url[:-1]
    return url


def find_urls(text: str) -> list[tuple[int, int, str]]:
    """(start, end, url) of each http(s) URL in ``text``, in order."""
    out = []
    for m in URL_RE.finditer(text):
        url = _trim(m.group(0))
        if len(url) > len("https://"):
            out.append((m.start(), m.start() + len(url), url))
    return out


def _new_code() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))


def click_url(origin: str, tenant_id: int, code: str) -> str:
    """The public URL of a tracked link."""
    return f"{origin.rstrip('/')}{CLICK_PATH}{tenant_id}-{code}"


def parse_click_code(value: str) -> tuple[int, str] | None:
    """(tenant id, code) of a link's path segment, or None when it is malformed."""
    m = _CODE_RE.match(value or "")
    return (int(m.group(1)), m.group(2)) if m else None


def rewrite_links(
    session: TenantSession, *, message: Message, body: str, origin: str, now: datetime
) -> str:
    """``body`` with every http(s) URL replaced by a tracked link of ``message``.

    One code per (message, URL): a URL that appears twice gets one code, and a
    re-render of the same message reuses the codes it already has. URLs longer
    than the table holds are left as they are."""
    found = find_urls(body)
    if not found:
        return body
    assert message.id is not None
    codes = {
        url: code
        for url, code in session.exec(
            select(TrackedLink.url, TrackedLink.code).where(TrackedLink.message_id == message.id)
        ).all()
    }
    tenant_id = session.tenant_id
    assert tenant_id is not None
    parts: list[str] = []
    pos = 0
    for start, end, url in found:
        if len(url) > URL_MAX:
            continue
        code = codes.get(url)
        if code is None:
            code = codes[url] = _new_code()
            session.add(
                TrackedLink(
                    code=code,
                    message_id=message.id,
                    patient_id=message.patient_id,
                    url=url,
                    created_at=now,
                )
            )
        parts += [body[pos:start], click_url(origin, tenant_id, code)]
        pos = end
    parts.append(body[pos:])
    return "".join(parts)


def record_click(
    session: TenantSession, *, code: str, now: datetime, record: bool = True
) -> str | None:
    """Record a click on the tenant's link ``code``; the URL to redirect to, or None
    when the tenant has no such link. ``record=False`` only looks it up (a HEAD
    request: link checkers and mail scanners, not a person)."""
    link = session.exec(select(TrackedLink).where(TrackedLink.code == code)).first()
    if link is None or link.id is None:
        return None
    if not link.url.startswith(("https://", "http://")):
        return None  # never stored so; refuse rather than redirect anywhere else
    if not record:
        return link.url
    session.add(
        TrackingEvent(
            message_id=link.message_id,
            patient_id=link.patient_id,
            kind=TrackingKind.CLICK,
            link_id=link.id,
            url=link.url,
            at=now,
        )
    )
    return link.url


# --- the open pixel -------------------------------------------------------------------------


def _sign(payload: str) -> str:
    key = get_settings().secret_key.encode()
    digest = hmac.new(key, f"open:{payload}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")


def open_token(tenant_id: int, message_id: int) -> str:
    """The signed token of a message's open pixel."""
    payload = f"{tenant_id}.{message_id}"
    return f"{payload}.{_sign(payload)}"


def read_open_token(token: str) -> tuple[int, int] | None:
    """(tenant id, message id) of a valid token, else None."""
    parts = (token or "").split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts[:2]):
        return None
    payload = ".".join(parts[:2])
    if not hmac.compare_digest(_sign(payload), parts[2]):
        return None
    return int(parts[0]), int(parts[1])


def open_url(origin: str, tenant_id: int, message_id: int) -> str:
    """The URL of a message's open pixel."""
    return f"{origin.rstrip('/')}{OPEN_PATH}{open_token(tenant_id, message_id)}"


def record_open(session: TenantSession, *, message_id: int, now: datetime) -> bool:
    """Record an open of the tenant's message ``message_id``; False when the tenant
    has no such message."""
    row = session.exec(
        select(Message.id, Message.patient_id).where(col(Message.id) == message_id)
    ).first()
    if row is None:
        return False
    patient_id = row[1]
    session.add(
        TrackingEvent(message_id=message_id, patient_id=patient_id, kind=TrackingKind.OPEN, at=now)
    )
    return True
