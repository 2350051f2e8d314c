"""Tracked links and the open pixel of marketing messages (prm_saas.tracking).

GET /api/t/c/<tenant id>-<code>
    A click: recorded against the link's message and patient, then a 302 to the
    URL stored for that code, and only to it (the request never names a
    destination, so this is no open redirect). A HEAD request (link checkers,
    mail scanners) gets the same answer and records nothing. An unknown code, a malformed one,
    or one that another tenant's id does not hold is the same 404 page.
GET /api/t/o/<token>
    An open: the token names tenant and message, signed with the server secret
    (prm_saas.tracking.links.open_token). Always a 1x1 transparent GIF; a bad
    token, or one whose message the tenant does not have, records nothing.

The tenant is the one named in the code or the token; the lookup runs in that
tenant's session, so another tenant's code is simply not found. When the
request's Host names a tenant (its custom domain or subdomain), it must be
the same tenant, else 404: one origin never serves two tenants.
"""

from __future__ import annotations

import base64
import html
import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from prm_saas.i18n import LOCALES, translate
from prm_saas.tracking.links import parse_click_code, read_open_token, record_click, record_open
from tenants.db import tenant_session
from tenants.resolution import resolve
from tenants.types import utcnow

log = logging.getLogger(__name__)

# The smallest transparent GIF (43 bytes).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_NO_STORE = {
    "Cache-Control": "no-store, private",
    # The link's code is in the URL: do not pass it on to the destination.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def _host_allows(request: Request, tenant_id: int) -> bool:
    """False when the request's host serves another tenant (or an unknown one)."""
    resolution = resolve(host=request.headers.get("host", ""), path="/")
    if not resolution.requested:
        return True  # the platform's own host: the code names the tenant
    return resolution.tenant is not None and resolution.tenant.id == tenant_id


def _not_found() -> HTMLResponse:
    title = " / ".join(translate("tracking.link_invalid.title", loc) for loc in LOCALES)
    body = "".join(
        f'<p lang="{loc}">{html.escape(translate("tracking.link_invalid.body", loc))}</p>'
        for loc in LOCALES
    )
    return HTMLResponse(
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>",
        status_code=404,
        headers={**_NO_STORE, "Content-Security-Policy": "default-src 'none'"},
    )


def _click(tenant_id: int, code: str, record: bool) -> str | None:
    with tenant_session(tenant_id) as session:
        return record_click(session, code=code, now=utcnow(), record=record)


async def click(request: Request) -> Response:
    """A click on a tracked link: record it, then redirect to the stored URL."""
    parsed = parse_click_code(str(request.path_params.get("code", "")))
    if parsed is None:
        return _not_found()
    tenant_id, code = parsed
    if not await run_in_threadpool(_host_allows, request, tenant_id):
        return _not_found()
    url = await run_in_threadpool(_click, tenant_id, code, request.method == "GET")
    if url is None:
        return _not_found()
    return RedirectResponse(url, status_code=302, headers=_NO_STORE)


def _open(tenant_id: int, message_id: int) -> bool:
    with tenant_session(tenant_id) as session:
        return record_open(session, message_id=message_id, now=utcnow())


async def open_pixel(request: Request) -> Response:
    """The open pixel: record the open of a valid token; always the GIF."""
    parsed = read_open_token(str(request.path_params.get("token", "")))
    if parsed is not None:
        tenant_id, message_id = parsed
        try:
            if await run_in_threadpool(_host_allows, request, tenant_id):
                await run_in_threadpool(_open, tenant_id, message_id)
        except Exception:
            # A pixel never fails the mail client; the open is just not counted.
            log.exception("open of message %s (tenant %s) not recorded", message_id, tenant_id)
    return Response(PIXEL, media_type="image/gif", headers=_NO_STORE)


ROUTES: list[BaseRoute] = [
    Route("/api/t/c/{code:path}", click, methods=["GET"]),
    Route("/api/t/o/{token:path}", open_pixel, methods=["GET"]),
]
