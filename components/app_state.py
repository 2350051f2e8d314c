"""The base state every page state inherits: tenant, principal, language.

Every event is resolved afresh from server-side facts: the tenant from the
websocket's Host header and the page path (tenants.resolution), the principal
from the session cookie looked up inside that tenant. Nothing a handler is
called with can choose the tenant. Public vars reach the browser; the ids the
server works with stay in ``_``-vars.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import quote

import reflex as rx

from prm_saas.accounts.auth import (
    SESSION_POLICIES,
    LoginOutcome,
    login_operator,
    login_patient,
    login_staff,
    logout,
    resolve_session,
)
from prm_saas.accounts.authz import Permission, Principal
from prm_saas.accounts.models import PrincipalKind
from prm_saas.accounts.patients import set_my_locale
from prm_saas.accounts.staff import set_my_staff_locale
from prm_saas.billing.staff_notice import staff_billing_notice
from prm_saas.display import local_time
from prm_saas.i18n import LOCALES, translate
from tenants.db import TenantSession, platform_session, tenant_session
from tenants.errors import DomainError, FieldErrors, NotFound
from tenants.resolution import Resolution, TenantInfo, resolve

T = TypeVar("T")

_LOGIN_BY_KIND: dict[PrincipalKind, tuple[Callable[..., LoginOutcome], str]] = {
    PrincipalKind.PATIENT: (login_patient, "identifier"),
    PrincipalKind.STAFF: (login_staff, "email"),
    PrincipalKind.OPERATOR: (login_operator, "email"),
}

_COOKIE_BY_KIND = {
    PrincipalKind.STAFF: "staff_token",
    PrincipalKind.PATIENT: "patient_token",
    PrincipalKind.OPERATOR: "operator_token",
}


# Cookies only over https in production (the proxy terminates TLS).
_SECURE = os.environ.get("PRM_ENV") == "production"


def _max_age(kind: PrincipalKind) -> int:
    return int(SESSION_POLICIES[kind].absolute.total_seconds())


class SessionExpired(Exception):
    """No valid session for the page's principal kind: go to the login page."""


class AppState(rx.State):
    """Tenant, principal and language of the current browser tab."""

    # Client storage. Tokens are opaque random strings; the server keeps only hashes.
    lang_pref: str = rx.Cookie("", name="prm_lang", max_age=365 * 24 * 3600, secure=_SECURE)
    staff_token: str = rx.Cookie(
        "", name="prm_staff", max_age=_max_age(PrincipalKind.STAFF), secure=_SECURE
    )
    patient_token: str = rx.Cookie(
        "", name="prm_patient", max_age=_max_age(PrincipalKind.PATIENT), secure=_SECURE
    )
    operator_token: str = rx.Cookie(
        "",
        name="prm_op",
        max_age=_max_age(PrincipalKind.OPERATOR),
        secure=_SECURE,
        same_site="strict",
    )

    # What the layouts show.
    page_status: str = "loading"  # loading | ok | not_found
    base_path: str = ""
    tenant_slug: str = ""
    tenant_name: str = ""
    tenant_kind: str = ""
    tenant_color: str = "#0f766e"
    tenant_logo: str = ""
    tenant_status: str = ""
    tenant_locale: str = "zh-CN"
    user_name: str = ""
    user_role: str = ""
    # Staff banners: the day a past-due tenant is suspended unless paid (tenant's
    # zone), and whether a suspension is for unpaid bills.
    billing_grace_until: str = ""
    billing_suspension: bool = False

    @rx.var
    def lang(self) -> str:
        """The UI language: the user's choice, else the tenant default."""
        return self.lang_pref if self.lang_pref in LOCALES else (self.tenant_locale or "zh-CN")

    @rx.var
    def read_only(self) -> bool:
        """Whether the tenant is suspended (staff see a notice, writes are refused)."""
        return self.tenant_status == "suspended"

    @rx.var
    def is_admin(self) -> bool:
        """Whether the signed-in staff member is a tenant admin."""
        return self.user_role == "tenant_admin"

    # --- server-side helpers (not events) -----------------------------------------

    def tr(self, key: str, **params: Any) -> str:
        """``key`` in the current language."""
        return translate(key, self.lang, **params)

    def _resolution(self) -> Resolution:
        return resolve(host=self.router.headers.host, path=self.router.url.path)

    def _client(self) -> tuple[str, str]:
        return self.router.session.client_ip or "", self.router.headers.user_agent or ""

    def _show_tenant(self, res: Resolution) -> TenantInfo | None:
        t = res.tenant
        self.base_path = res.base_path
        if t is None:
            self.page_status = "not_found" if res.requested else "ok"
            self.tenant_slug = self.tenant_name = self.tenant_status = ""
            return None
        self.page_status = "ok"
        self.tenant_slug, self.tenant_name, self.tenant_kind = t.slug, t.name, t.kind
        self.tenant_color, self.tenant_logo = t.primary_color, t.logo_url
        self.tenant_status, self.tenant_locale = t.status, t.default_locale
        return t

    def _tenant(self) -> TenantInfo:
        t = self._resolution().tenant
        if t is None:
            raise NotFound()
        return t

    def _token(self, kind: PrincipalKind) -> str:
        return str(getattr(self, _COOKIE_BY_KIND[kind]) or "")

    @contextmanager
    def _uow(
        self, kind: PrincipalKind, *, allow_tenant_switch: bool = False
    ) -> Iterator[tuple[TenantSession, Principal]]:
        """One use case: a transaction in the request's tenant (or the platform for
        operators) and the principal of ``kind`` signed in there."""
        scope = (
            platform_session(allow_tenant_switch=allow_tenant_switch)
            if kind == PrincipalKind.OPERATOR
            else tenant_session(self._tenant().id)
        )
        with scope as session:
            principal = resolve_session(session=session, token=self._token(kind), kind=kind)
            if principal is None:
                raise SessionExpired()
            yield session, principal

    def _login_path(self, kind: PrincipalKind) -> str:
        if kind == PrincipalKind.OPERATOR:
            return "/platform/login"
        return (
            f"{self.base_path}/admin/login"
            if kind == PrincipalKind.STAFF
            else (f"{self.base_path}/login")
        )

    def _to_login(self, kind: PrincipalKind) -> Any:
        here = self.router.url.path or "/"
        query = self.router.url.query
        nxt = here + (f"?{query}" if query else "")
        return rx.redirect(f"{self._login_path(kind)}?next={quote(nxt, safe='')}")

    def _load(self, kind: PrincipalKind | None, permission: Permission | None = None) -> Any:
        """Page-load guard: show the tenant, require a principal of ``kind``.

        Returns an event (a redirect to the login page) when the visitor must
        sign in first, else None; sets ``page_status`` for the layouts.
        """
        res = self._resolution()
        if kind == PrincipalKind.OPERATOR:
            self._show_tenant(Resolution(requested=False, tenant=None, base_path=""))
            if res.requested:
                self.page_status = "not_found"
                return None
        elif self._show_tenant(res) is None:
            return None
        if kind is None:
            return None
        self.billing_grace_until, self.billing_suspension = "", False
        try:
            with self._uow(kind) as (session, principal):
                if kind == PrincipalKind.STAFF and self.tenant_status in ("past_due", "suspended"):
                    notice = staff_billing_notice(session=session, actor=principal)
                    tz = res.tenant.timezone if res.tenant else "Asia/Shanghai"
                    self.billing_grace_until = local_time(notice.grace_ends_at, tz)[:10]
                    self.billing_suspension = notice.billing_suspension
        except SessionExpired:
            self.user_name = self.user_role = ""
            return self._to_login(kind)
        if permission is not None and not principal.can(permission):
            self.page_status = "not_found"
            return None
        self.user_name, self.user_role = principal.name, principal.role or ""
        return None

    def _run(
        self,
        kind: PrincipalKind,
        fn: Callable[[TenantSession, Principal], T],
        on_error: Callable[[str, dict[str, str]], None],
        *,
        allow_tenant_switch: bool = False,
    ) -> tuple[T | None, Any]:
        """Run a use case as the signed-in principal; map errors to messages.

        Returns (result, event): the event is a redirect when the session expired.
        """

        def use_case() -> T:
            with self._uow(kind, allow_tenant_switch=allow_tenant_switch) as (session, principal):
                return fn(session, principal)

        try:
            return self._attempt(use_case, on_error), None
        except SessionExpired:
            return None, self._to_login(kind)

    def _attempt(
        self, fn: Callable[[], T], on_error: Callable[[str, dict[str, str]], None]
    ) -> T | None:
        """Run ``fn``; a user-facing error becomes a message (and per-field
        messages) in the user's language, handed to ``on_error``."""
        try:
            return fn()
        except FieldErrors as exc:
            on_error(
                self.tr("error.invalid_input"),
                {f: self.tr(k, **p) for f, (k, p) in exc.errors.items()},
            )
        except DomainError as exc:
            on_error(self.tr(exc.key, **exc.params), {})
        return None

    def _sign_in(
        self,
        kind: PrincipalKind,
        form: dict[str, Any],
        default_next: str,
        on_error: Callable[[str, dict[str, str]], None],
    ) -> Any:
        """Password sign-in for any kind of principal; redirects to ?next= or
        ``default_next`` on success, hands the message to ``on_error`` otherwise."""
        login, field = _LOGIN_BY_KIND[kind]
        res = self._resolution()
        if kind == PrincipalKind.OPERATOR:
            if res.requested:  # operators sign in on the platform host only
                on_error(self.tr("error.not_found"), {})
                return None
            scope = platform_session()
        elif res.tenant is None:
            on_error(self.tr("error.not_found"), {})
            return None
        else:
            scope = tenant_session(res.tenant.id)
        ip, ua = self._client()
        value = form.get(field, "") if isinstance(form, dict) else ""
        password = form.get("password", "") if isinstance(form, dict) else ""
        with scope as session:
            out = login(
                session=session,
                **{field: value if isinstance(value, str) else ""},
                password=password if isinstance(password, str) else "",
                ip=ip,
                user_agent=ua,
            )
        if out.principal is None:
            on_error(self.tr(out.error_key, **(out.error_params or {})), {})
            return None
        setattr(self, _COOKIE_BY_KIND[kind], out.token)
        if out.principal.locale:
            self.lang_pref = out.principal.locale
        nxt = self.router.url.query_parameters.get("next", "")
        base = "/platform" if kind == PrincipalKind.OPERATOR else res.base_path
        return rx.redirect(safe_next(nxt, base, default_next))

    def _sign_out(self, kind: PrincipalKind) -> None:
        token = self._token(kind)
        if token:
            ip, _ua = self._client()
            try:
                scope = (
                    platform_session()
                    if kind == PrincipalKind.OPERATOR
                    else tenant_session(self._tenant().id)
                )
                with scope as session:
                    logout(session=session, token=token, kind=kind, ip=ip)
            except NotFound:
                pass
        setattr(self, _COOKIE_BY_KIND[kind], "")
        self.user_name = self.user_role = ""

    # --- events ----------------------------------------------------------------------

    @rx.event
    def set_lang(self, lang: str) -> None:
        """Switch the UI language: remembered in a cookie and, for a signed-in
        patient or staff member, on their account (so other devices follow)."""
        if lang not in LOCALES:
            return
        self.lang_pref = lang
        path = self.router.url.path or ""
        kind = PrincipalKind.STAFF if "/admin" in path else PrincipalKind.PATIENT
        if path.startswith("/platform") or not self._token(kind):
            return
        save = set_my_staff_locale if kind == PrincipalKind.STAFF else set_my_locale
        # Best effort: a suspended tenant or an expired session keeps the cookie only.
        self._run(kind, lambda s, p: save(session=s, actor=p, locale=lang), lambda _m, _f: None)

    @rx.event
    def load_public(self) -> None:
        """on_load of pages anyone may see (login, registration, the landing page)."""
        self._load(None)

    @rx.event
    def sign_out_staff(self) -> Any:
        """Sign the staff member out (revokes the server-side session)."""
        self._sign_out(PrincipalKind.STAFF)
        return rx.redirect(f"{self.base_path}/admin/login")

    @rx.event
    def sign_out_patient(self) -> Any:
        """Sign the patient out."""
        self._sign_out(PrincipalKind.PATIENT)
        return rx.redirect(f"{self.base_path}/login")

    @rx.event
    def sign_out_operator(self) -> Any:
        """Sign the operator out."""
        self._sign_out(PrincipalKind.OPERATOR)
        return rx.redirect("/platform/login")


def safe_next(next_path: str, base_path: str, default: str) -> str:
    """A post-login destination that stays on this site and tenant (no open redirect)."""
    n = (next_path or "").strip()
    if not n.startswith("/") or n.startswith("//") or "\\" in n or "://" in n:
        return default
    if base_path and not (
        n == base_path or n.startswith(base_path + "/") or n.startswith(base_path + "?")
    ):
        return default
    return n
