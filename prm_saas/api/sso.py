"""OpenID Connect routes for staff single sign-on.

GET /api/sso/<slug>/login?next=<path>
    Resolves the tenant (from the /t/<slug> form on the platform's host, or
    from a tenant host, which must carry the same slug), starts the sign-in
    and redirects to the tenant's identity provider.
GET /api/sso/<slug>/callback?state=&code=   (or &error=)
    Finishes it: on success sets the ``prm_staff`` session cookie and
    redirects to the stored next path; on failure redirects to the tenant's
    staff sign-in page with ``?sso_error=<message key>``.

The handlers only translate HTTP; prm_saas.accounts.sso does the work, in a
threadpool because it is synchronous database and network I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from prm_saas.accounts.auth import SESSION_POLICIES
from prm_saas.accounts.credentials import new_token
from prm_saas.accounts.models import PrincipalKind
from prm_saas.accounts.sso import STATE_TTL, begin_sso_login, complete_sso_login
from tenants.db import tenant_session
from tenants.errors import DomainError
from tenants.resolution import TenantInfo, host_slug, resolve

# The Reflex app reads this cookie (rx.Cookie) in JavaScript: it cannot be HttpOnly.
STAFF_COOKIE = "prm_staff"
# A random value per browser that the OIDC state is bound to (login CSRF defence).
BINDING_COOKIE = "prm_sso_browser"
_BINDING_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True)
class _Site:
    """The tenant a request is for, and where its staff pages live on this origin."""

    tenant: TenantInfo
    host: str
    base_path: str  # "/t/<slug>" on the platform host, "" on the tenant's own host

    @property
    def admin_home(self) -> str:
        return f"{self.base_path}/admin"

    def login_page(self, error_key: str) -> str:
        return f"{self.base_path}/admin/login?{urlencode({'sso_error': error_key})}"


def _site(host: str, slug: str) -> _Site | None:
    res = resolve(host=host, path=f"/t/{slug}")
    if res.tenant is None:
        return None
    on_tenant_host = host_slug(host) is not None
    return _Site(tenant=res.tenant, host=host, base_path="" if on_tenant_host else res.base_path)


def safe_next_path(site: _Site, next_path: str) -> str:
    """``next_path`` if it is a local path serving this site's tenant, else its admin home."""
    p = (next_path or "").strip()
    if (
        not p.startswith("/")
        or p.startswith("//")
        or "\\" in p
        or len(p) > 500
        # Browsers drop tabs and newlines from URLs: "/\t/evil.example" is "//evil.example".
        or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in p)
    ):
        return site.admin_home
    res = resolve(host=site.host, path=p)
    if res.tenant is None or res.tenant.id != site.tenant.id:
        return site.admin_home
    return p


def _begin(host: str, slug: str, next_path: str, redirect_uri: str, binding: str) -> str | None:
    site = _site(host, slug)
    if site is None:
        return None
    try:
        with tenant_session(site.tenant.id) as s:
            return begin_sso_login(
                session=s,
                redirect_uri=redirect_uri,
                next_path=safe_next_path(site, next_path),
                browser_binding=binding,
            )
    except DomainError as exc:
        return site.login_page(exc.key)


def _complete(
    host: str, slug: str, params: dict[str, str], binding: str, ip: str, user_agent: str
) -> tuple[str, str] | None:
    site = _site(host, slug)
    if site is None:
        return None
    try:
        with tenant_session(site.tenant.id) as s:
            outcome = complete_sso_login(
                session=s,
                state=params.get("state", ""),
                code=params.get("code", ""),
                error=params.get("error") or None,
                browser_binding=binding,
                ip=ip,
                user_agent=user_agent,
            )
    except DomainError as exc:  # e.g. the tenant was suspended mid-way
        return site.login_page(exc.key if exc.key.startswith("auth.") else "auth.sso_failed"), ""
    if not outcome.ok:
        return site.login_page(outcome.error_key), ""
    return safe_next_path(site, outcome.next_path), outcome.token


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


async def sso_login(request: Request) -> Response:
    """Start SSO for the tenant in the path and redirect to its identity provider."""
    binding = request.cookies.get(BINDING_COOKIE, "")
    if not _BINDING_RE.match(binding):
        binding = new_token()
    location = await run_in_threadpool(
        _begin,
        request.headers.get("host", ""),
        request.path_params["slug"],
        request.query_params.get("next", ""),
        str(request.url_for("sso_callback", slug=request.path_params["slug"])),
        binding,
    )
    if location is None:
        return PlainTextResponse("Not Found", status_code=404)
    response = RedirectResponse(location, status_code=302, headers=_NO_STORE)
    response.set_cookie(
        BINDING_COOKIE,
        binding,
        max_age=int(STATE_TTL.total_seconds()),
        path="/api/sso/",
        secure=_secure(request),
        httponly=True,
        samesite="lax",
    )
    return response


async def sso_callback(request: Request) -> Response:
    """Finish SSO: set the staff session cookie and go on, or back to the sign-in page."""
    params = {k: request.query_params.get(k, "") for k in ("state", "code", "error")}
    result = await run_in_threadpool(
        _complete,
        request.headers.get("host", ""),
        request.path_params["slug"],
        params,
        request.cookies.get(BINDING_COOKIE, ""),
        request.client.host if request.client else "",
        request.headers.get("user-agent", ""),
    )
    if result is None:
        return PlainTextResponse("Not Found", status_code=404)
    location, token = result
    response = RedirectResponse(location, status_code=302, headers=_NO_STORE)
    if token:
        response.set_cookie(
            STAFF_COOKIE,
            token,
            max_age=int(SESSION_POLICIES[PrincipalKind.STAFF].idle.total_seconds()),
            path="/",
            secure=_secure(request),
            httponly=False,
            samesite="lax",
        )
    return response


ROUTES: list[BaseRoute] = [
    Route("/api/sso/{slug}/login", sso_login, methods=["GET"], name="sso_login"),
    Route("/api/sso/{slug}/callback", sso_callback, methods=["GET"], name="sso_callback"),
]
