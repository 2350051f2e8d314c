"""Unsubscribe links of marketing messages (RFC 8058 one-click).

GET  /api/messaging/unsubscribe?t=<token>
    A small page in Chinese and English with a button that POSTs; a GET never
    changes anything (mail scanners open links).
POST /api/messaging/unsubscribe?t=<token>
    Unsubscribes: the page's button, or a mail client's one-click request
    (body ``List-Unsubscribe=One-Click``, no cookies). Repeating it is harmless.

The signed token names the tenant, the patient and the channel
(prm_saas.messaging.preferences.unsubscribe_token); the work runs in that
tenant's session. A bad token, or one for a patient who does not exist, is a
404 page. Everything put into the page is HTML-escaped.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from urllib.parse import quote

from sqlmodel import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from prm_saas.accounts.models import Patient
from prm_saas.i18n import LOCALES, translate
from prm_saas.messaging.models import Channel
from prm_saas.messaging.preferences import read_unsubscribe_token, unsubscribe
from tenants.db import tenant_session
from tenants.errors import NotFound
from tenants.models import Tenant

_HEADERS = {
    "Cache-Control": "no-store",
    # The token is in the URL: do not hand it to anyone the page links to.
    "Referrer-Policy": "no-referrer",
    # No scripts, no framing (a framed button could be clicked by deceit).
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}
_STYLE = (
    "body{font-family:system-ui,-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;"
    "max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.6;color:#1f2937}"
    "h1{font-size:1.3rem}p.en{color:#4b5563}"
    "button{font-size:1rem;padding:.6rem 1.4rem;border:0;border-radius:.4rem;"
    "background:#2563eb;color:#fff;cursor:pointer}"
)


@dataclass(frozen=True)
class _Subject:
    """Whose link it is."""

    tenant_name: str
    channel: Channel


def _both(key: str, channel: Channel | None = None, tenant: str = "") -> list[tuple[str, str]]:
    """(locale, escaped text) for each language, Chinese first."""
    out = []
    for locale in LOCALES:
        params: dict[str, str] = {}
        if channel is not None:
            params = {
                "channel": translate(f"messaging.channel.{channel}", locale),
                "tenant": tenant,
            }
        out.append((locale, html.escape(translate(key, locale, **params))))
    return out


def _paragraphs(key: str, channel: Channel | None = None, tenant: str = "") -> str:
    return "".join(
        f'<p lang="{loc}" class="{"en" if loc == "en" else "zh"}">{text}</p>'
        for loc, text in _both(key, channel, tenant)
    )


def _page(body: str, status: int = 200) -> HTMLResponse:
    title = " / ".join(text for _loc, text in _both("messaging.unsubscribe.title"))
    return HTMLResponse(
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{title}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{title}</h1>{body}</body></html>",
        status_code=status,
        headers=_HEADERS,
    )


def _not_found() -> HTMLResponse:
    return _page(_paragraphs("messaging.unsubscribe.invalid"), status=404)


def _subject(token: str, *, perform: bool) -> _Subject | None:
    """The link's tenant and channel (after unsubscribing when ``perform``), or None."""
    parsed = read_unsubscribe_token(token)
    if parsed is None:
        return None
    tenant_id, patient_id, channel = parsed
    with tenant_session(tenant_id) as session:
        tenant = session.get(Tenant, tenant_id)
        if tenant is None:
            return None
        if perform:
            try:
                unsubscribe(session, patient_id=patient_id, channel=channel)
            except NotFound:
                return None
        elif session.exec(select(Patient.id).where(Patient.id == patient_id)).first() is None:
            return None
        return _Subject(tenant_name=tenant.name, channel=channel)


async def unsubscribe_page(request: Request) -> Response:
    """GET: what the link does, and a button to do it."""
    token = request.query_params.get("t", "")
    subject = await run_in_threadpool(_subject, token, perform=False)
    if subject is None:
        return _not_found()
    action = html.escape(f"unsubscribe?t={quote(token, safe='')}")
    button = " / ".join(text for _loc, text in _both("messaging.unsubscribe.button"))
    return _page(
        _paragraphs("messaging.unsubscribe.question", subject.channel, subject.tenant_name)
        + _paragraphs("messaging.unsubscribe.note", subject.channel, subject.tenant_name)
        + f'<form method="post" action="{action}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        f'<button type="submit">{button}</button></form>'
    )


async def unsubscribe_post(request: Request) -> Response:
    """POST: unsubscribe (the page's button or a mail client's one-click request)."""
    token = request.query_params.get("t", "")
    subject = await run_in_threadpool(_subject, token, perform=True)
    if subject is None:
        return _not_found()
    return _page(_paragraphs("messaging.unsubscribe.done", subject.channel, subject.tenant_name))


ROUTES: list[BaseRoute] = [
    Route("/api/messaging/unsubscribe", unsubscribe_page, methods=["GET"]),
    Route("/api/messaging/unsubscribe", unsubscribe_post, methods=["POST"]),
]
