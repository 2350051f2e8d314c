"""Staff single sign-on, end to end: the app's HTTP routes and a real OIDC provider,
each served by uvicorn on 127.0.0.1, driven by an HTTP client that keeps cookies
like a browser. Nothing under test is mocked."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlmodel import col, func, select

from prm_saas.accounts.auth import resolve_session
from prm_saas.accounts.models import (
    AccountStatus,
    OidcLoginState,
    PrincipalKind,
    StaffMember,
    UserSession,
)
from prm_saas.accounts.sso import begin_sso_login, clear_provider_cache
from prm_saas.accounts.staff import invite_staff, set_staff_enabled
from prm_saas.api.app import create_api
from prm_saas.audit.models import AuditEvent
from prm_saas.organization.services import update_sso
from tenants.db import tenant_session
from tenants.errors import DomainError
from tests.factories import World, make_tenant
from tests.oidc_provider import OidcProvider, run_provider, serve_app

# --- fixtures and a browser-like walk through the flow -----------------------------------


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcProvider]:
    """One provider for the module (a fresh RSA key); reset before each test."""
    with run_provider() as provider:
        yield provider


@pytest.fixture(scope="module")
def app_url(database: str) -> Iterator[str]:
    """The app's HTTP routes (prm_saas.api.app.create_api) on a real port."""
    with serve_app(create_api()) as url:
        yield url


@dataclass(frozen=True)
class Sso:
    """Two tenants, each with its own client at the provider and SSO enabled."""

    world: World
    idp: OidcProvider
    app: str


def _configure(world: World, idp: OidcProvider, app: str) -> None:
    for tenant, admin in ((world.a, world.admin_a), (world.b, world.admin_b)):
        idp.add_client(
            f"{tenant.slug}-app", f"secret-{tenant.slug}", [f"{app}/api/sso/{tenant.slug}/callback"]
        )
        with tenant_session(tenant.id) as s:
            update_sso(
                session=s,
                actor=admin,
                enabled=True,
                issuer=idp.issuer,
                client_id=f"{tenant.slug}-app",
                client_secret=f"secret-{tenant.slug}",
            )


@pytest.fixture
def sso(world: World, idp: OidcProvider, app_url: str) -> Sso:
    """SSO configured for both tenants through the admin settings service."""
    idp.reset()
    clear_provider_cache()
    _configure(world, idp, app_url)
    return Sso(world=world, idp=idp, app=app_url)


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a.get("action", "")
        elif tag == "input" and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")


def start(
    browser: httpx.Client, app: str, slug: str, next_path: str | None = None, **kw: object
) -> str:
    """Click "Sign in with SSO": returns where the app sends the browser."""
    params = {} if next_path is None else {"next": next_path}
    r = browser.get(f"{app}/api/sso/{slug}/login", params=params, **kw)  # type: ignore[arg-type]
    assert r.status_code == 302, r.text
    return r.headers["location"]


def sign_in_at_idp(
    browser: httpx.Client, authorize_url: str, email: str, *, deny: bool = False
) -> str:
    """Fill the provider's form like a person would; returns the callback URL it sends back."""
    page = browser.get(authorize_url)
    assert page.status_code == 200, page.text
    form = _Form()
    form.feed(page.text)
    assert "email" in form.fields
    assert "Sign in" in page.text
    data = {**form.fields, "email": email, **({"deny": "1"} if deny else {})}
    r = browser.post(urljoin(authorize_url, form.action), data=data)
    assert r.status_code == 303, r.text
    return r.headers["location"]


def finish(browser: httpx.Client, callback_url: str, **kw: object) -> httpx.Response:
    """Follow the provider's redirect back to the app."""
    r = browser.get(callback_url, **kw)  # type: ignore[arg-type]
    assert r.status_code == 302, r.text
    return r


def sso_login(
    sso: Sso, browser: httpx.Client, slug: str, email: str, next_path: str | None = None
) -> httpx.Response:
    """The whole flow; returns the app's answer to the callback."""
    return finish(browser, sign_in_at_idp(browser, start(browser, sso.app, slug, next_path), email))


def staff_cookie(r: httpx.Response) -> str | None:
    """The raw Set-Cookie header of prm_staff, if the response sets it."""
    found = [h for h in r.headers.get_list("set-cookie") if h.startswith("prm_staff=")]
    return found[0] if found else None


def token_of(header: str) -> str:
    return header.split(";", 1)[0].split("=", 1)[1]


def sso_failures(tenant_id: int) -> list[dict[str, str]]:
    """Reasons of the tenant's "auth.sso_failed" audit rows, oldest first."""
    with tenant_session(tenant_id) as s:
        rows = s.exec(
            select(AuditEvent)
            .where(AuditEvent.action == "auth.sso_failed")
            .order_by(col(AuditEvent.id))
        ).all()
        return [{**json.loads(r.details), "actor": r.actor_label} for r in rows]


def session_count(tenant_id: int) -> int:
    with tenant_session(tenant_id) as s:
        return s.exec(select(func.count()).select_from(UserSession)).one()


def login_page(slug: str, key: str) -> str:
    return f"/t/{slug}/admin/login?sso_error={key}"


# --- the happy paths --------------------------------------------------------------------


def test_staff_member_signs_in_with_the_tenants_identity_provider(sso: Sso) -> None:
    # given: staff@a.test works at tenant A, whose provider knows that address
    w = sso.world
    with httpx.Client() as browser:
        # when
        r = sso_login(sso, browser, "clinic-a", "staff@a.test")
    # then: a staff session cookie the Reflex app can read, and the admin home
    assert r.headers["location"] == "/t/clinic-a/admin"
    header = staff_cookie(r)
    assert header is not None
    attrs = header.lower()
    assert "max-age=43200" in attrs
    assert "path=/" in attrs
    assert "samesite=lax" in attrs
    assert "httponly" not in attrs
    assert "secure" not in attrs
    with tenant_session(w.a.id) as s:
        principal = resolve_session(session=s, token=token_of(header), kind=PrincipalKind.STAFF)
        member = s.exec(select(StaffMember).where(StaffMember.id == w.staff_a.id)).one()
        login = s.exec(select(AuditEvent).where(AuditEvent.action == "auth.login")).one()
    assert principal is not None
    assert principal.id == w.staff_a.id
    assert member.sso_subject == f"{sso.idp.issuer}|{sso.idp.subject_of('staff@a.test')}"
    assert member.last_login_at is not None
    assert login.actor_id == w.staff_a.id
    assert json.loads(login.details) == {"method": "sso"}
    # and the token is worthless in tenant B
    with tenant_session(w.b.id) as s:
        assert resolve_session(session=s, token=token_of(header), kind=PrincipalKind.STAFF) is None


def test_next_path_of_the_tenant_is_honoured(sso: Sso) -> None:
    with httpx.Client() as browser:
        r = sso_login(
            sso, browser, "clinic-a", "staff@a.test", next_path="/t/clinic-a/admin/staff?page=2"
        )
    assert r.headers["location"] == "/t/clinic-a/admin/staff?page=2"


def test_invited_staff_member_is_activated_by_sso(sso: Sso) -> None:
    # given: an admin invited new@a.test, who never opened the emailed link
    w = sso.world
    with tenant_session(w.a.id) as s:
        invited = invite_staff(
            session=s, actor=w.admin_a, email="new@a.test", name="新同事", role="staff"
        )
    # when
    with httpx.Client() as browser:
        r = sso_login(sso, browser, "clinic-a", "new@a.test")
    # then
    header = staff_cookie(r)
    assert header is not None
    with tenant_session(w.a.id) as s:
        member = s.exec(select(StaffMember).where(StaffMember.id == invited.id)).one()
        principal = resolve_session(session=s, token=token_of(header), kind=PrincipalKind.STAFF)
        accepted = s.exec(
            select(AuditEvent).where(AuditEvent.action == "staff.invite_accepted")
        ).one()
    assert member.status == AccountStatus.ACTIVE
    assert member.invite_token_hash is None
    assert member.invite_expires_at is None
    assert member.sso_subject == f"{sso.idp.issuer}|{sso.idp.subject_of('new@a.test')}"
    assert principal is not None
    assert principal.id == invited.id
    assert json.loads(accepted.details) == {"method": "sso"}


def test_tenant_on_its_own_host_lands_on_its_admin_home(sso: Sso) -> None:
    # given: tenant A served on clinic-a.localhost (the app listens on 127.0.0.1)
    port = urlsplit(sso.app).port
    host = f"clinic-a.localhost:{port}"
    sso.idp.add_client(
        "clinic-a-app", "secret-clinic-a", [f"http://{host}/api/sso/clinic-a/callback"]
    )
    with httpx.Client() as browser:
        # when
        authorize = start(browser, sso.app, "clinic-a", headers={"Host": host})
        callback = sign_in_at_idp(browser, authorize, "staff@a.test")
        assert callback.startswith(f"http://{host}/api/sso/clinic-a/callback?")
        r = finish(browser, sso.app + callback.split(host, 1)[1], headers={"Host": host})
        # then: paths on a tenant host carry no /t/<slug> prefix
        assert r.headers["location"] == "/admin"
        assert staff_cookie(r) is not None
        # and another tenant's slug on this host is not found
        other = browser.get(f"{sso.app}/api/sso/center-b/login", headers={"Host": host})
        assert other.status_code == 404


# --- failures land on the sign-in page with a message key, audited ---------------------------


def test_unknown_email_gets_no_session_and_a_message_on_the_login_page(sso: Sso) -> None:
    with httpx.Client() as browser:
        r = sso_login(sso, browser, "clinic-a", "stranger@a.test")
    assert r.headers["location"] == login_page("clinic-a", "auth.sso_unknown_staff")
    assert staff_cookie(r) is None
    assert session_count(sso.world.a.id) == 0
    assert sso_failures(sso.world.a.id) == [
        {"reason": "no_account", "method": "sso", "actor": "stranger@a.test"}
    ]


def test_a_state_cannot_be_used_twice(sso: Sso) -> None:
    # given: a completed sign-in
    with httpx.Client() as browser:
        callback = sign_in_at_idp(browser, start(browser, sso.app, "clinic-a"), "staff@a.test")
        assert staff_cookie(finish(browser, callback)) is not None
        # when: the same callback is replayed
        again = finish(browser, callback)
    # then
    assert again.headers["location"] == login_page("clinic-a", "auth.sso_state_invalid")
    assert staff_cookie(again) is None
    assert session_count(sso.world.a.id) == 1
    assert [f["reason"] for f in sso_failures(sso.world.a.id)] == ["state_used"]


def test_an_unknown_state_is_refused_before_any_code_exchange(sso: Sso) -> None:
    with httpx.Client() as browser:
        r = finish(browser, f"{sso.app}/api/sso/clinic-a/callback?state=forged&code=whatever")
    assert r.headers["location"] == login_page("clinic-a", "auth.sso_state_invalid")
    assert sso.idp.token_requests == []
    assert [f["reason"] for f in sso_failures(sso.world.a.id)] == ["state_unknown"]


def test_an_expired_state_is_refused(sso: Sso) -> None:
    with httpx.Client() as browser:
        callback = sign_in_at_idp(browser, start(browser, sso.app, "clinic-a"), "staff@a.test")
        with tenant_session(sso.world.a.id) as s:
            row = s.exec(select(OidcLoginState)).one()
            row.expires_at = row.created_at
            s.add(row)
        r = finish(browser, callback)
    assert r.headers["location"] == login_page("clinic-a", "auth.sso_state_invalid")
    assert [f["reason"] for f in sso_failures(sso.world.a.id)] == ["state_expired"]


def test_a_callback_opened_in_another_browser_is_refused(sso: Sso) -> None:
    # given: someone signs in at the provider and keeps the callback URL (login CSRF)
    with httpx.Client() as attacker:
        planted = sign_in_at_idp(attacker, start(attacker, sso.app, "clinic-a"), "staff@a.test")
    # when: the victim's browser, which never started a sign-in, opens it
    with httpx.Client() as victim:
        r = finish(victim, planted)
    # then
    assert r.headers["location"] == login_page("clinic-a", "auth.sso_state_invalid")
    assert staff_cookie(r) is None
    assert [f["reason"] for f in sso_failures(sso.world.a.id)] == ["browser_mismatch"]


def test_cancelling_at_the_provider_says_so(sso: Sso) -> None:
    with httpx.Client() as browser:
        callback = sign_in_at_idp(
            browser, start(browser, sso.app, "clinic-a"), "staff@a.test", deny=True
        )
        r = finish(browser, callback)
    assert r.headers["location"] == login_page("clinic-a", "auth.sso_cancelled")
    assert [f["reason"] for f in sso_failures(sso.world.a.id)] == ["provider_error:access_denied"]


@pytest.mark.parametrize(
    ("tampering", "reason"),
    [
        ({"nonce": "not-the-nonce-we-sent"}, "id_token_invalid:invalid_claim:nonce"),
        ({"nonce": None}, "id_token_invalid:missing_claim:nonce"),
        ({"aud": "another-client"}, "id_token_invalid:invalid_claim:aud"),
        ({"iss": "http://127.0.0.1:1"}, "id_token_invalid:invalid_claim:iss"),
        ({"exp": int(time.time()) - 3600}, "id_token_invalid:expired_token"),
        ({"foreign_key": True}, "id_token_invalid:bad_signature"),
    ],
    ids=["nonce", "no-nonce", "audience", "issuer", "expired", "signature"],
)
def test_a_tampered_id_token_is_refused(
    sso: Sso, tampering: dict[str, object], reason: str
) -> None:
    # given: the provider issues a bad ID token
    sso.idp.tamper(**tampering)  # type: ignore[arg-type]
    # when
    with httpx.Client() as browser:
        r = sso_login(sso, browser, "clinic-a", "staff@a.test")
    # then
    assert r.headers["location"] == login_page("clinic-a", "auth.sso_token_invalid")
    assert staff_cookie(r) is None
    assert session_count(sso.world.a.id) == 0
    [failure] = sso_failures(sso.world.a.id)
    assert failure["reason"].startswith(reason)


def test_an_unverified_email_is_refused(sso: Sso) -> None:
    sso.idp.tamper(email_verified=False)
    with httpx.Client() as browser:
        r = sso_login(sso, browser, "clinic-a", "staff@a.test")
    assert r.headers["location"] == login_page("clinic-a", "auth.sso_email_unverified")
    assert session_count(sso.world.a.id) == 0


def test_a_disabled_staff_member_is_refused(sso: Sso) -> None:
    w = sso.world
    with tenant_session(w.a.id) as s:
        set_staff_enabled(session=s, actor=w.admin_a, staff_id=w.staff_a.id, enabled=False)
    with httpx.Client() as browser:
        r = sso_login(sso, browser, "clinic-a", "staff@a.test")
    assert r.headers["location"] == login_page("clinic-a", "auth.disabled")
    assert session_count(w.a.id) == 0


def test_an_email_change_at_the_provider_cannot_take_over_another_account(sso: Sso) -> None:
    # given: staff@a.test signed in once, linking the provider identity to that member
    with httpx.Client() as browser:
        assert staff_cookie(sso_login(sso, browser, "clinic-a", "staff@a.test")) is not None
    # when: that identity now claims the admin's address
    sso.idp.tamper(sub=sso.idp.subject_of("staff@a.test"))
    with httpx.Client() as browser:
        r = sso_login(sso, browser, "clinic-a", "admin@a.test")
    # then
    assert r.headers["location"] == login_page("clinic-a", "auth.sso_identity_mismatch")
    # and when: another identity claims staff@a.test
    sso.idp.tamper(sub="someone-else")
    with httpx.Client() as browser:
        r = sso_login(sso, browser, "clinic-a", "staff@a.test")
    # then
    assert r.headers["location"] == login_page("clinic-a", "auth.sso_identity_mismatch")
    assert [f["reason"] for f in sso_failures(sso.world.a.id)] == [
        "subject_linked_to_other_member",
        "member_linked_to_other_subject",
    ]
    assert session_count(sso.world.a.id) == 1


# --- PKCE -------------------------------------------------------------------------------


def test_the_authorization_request_carries_an_s256_challenge_and_a_nonce(sso: Sso) -> None:
    with httpx.Client() as browser:
        authorize = start(browser, sso.app, "clinic-a")
        q = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
        with tenant_session(sso.world.a.id) as s:
            row = s.exec(select(OidcLoginState)).one()
        finish(browser, sign_in_at_idp(browser, authorize, "staff@a.test"))
    assert authorize.startswith(f"{sso.idp.issuer}/authorize?")
    assert q["response_type"] == "code"
    assert q["scope"] == "openid email profile"
    assert q["client_id"] == "clinic-a-app"
    assert q["state"] == row.state
    assert q["redirect_uri"] == f"{sso.app}/api/sso/clinic-a/callback"
    assert q["nonce"] == row.nonce
    assert q["code_challenge_method"] == "S256"
    assert q["code_challenge"] == create_s256_code_challenge(row.code_verifier)
    assert "code_verifier" not in q
    # the verifier travels only to the token endpoint, with the client's credentials
    [token_request] = sso.idp.token_requests
    assert token_request["code_verifier"] == row.code_verifier
    assert "client_secret" not in token_request  # sent as HTTP Basic


def test_the_provider_rejects_a_wrong_code_verifier(sso: Sso) -> None:
    # given: the stored verifier no longer matches the challenge the provider saw
    with httpx.Client() as browser:
        callback = sign_in_at_idp(browser, start(browser, sso.app, "clinic-a"), "staff@a.test")
        with tenant_session(sso.world.a.id) as s:
            row = s.exec(select(OidcLoginState)).one()
            row.code_verifier = "x" * 64
            s.add(row)
        # when
        r = finish(browser, callback)
    # then: the provider said invalid_grant and nobody is signed in
    assert r.headers["location"] == login_page("clinic-a", "auth.sso_provider_error")
    assert sso.idp.token_requests[0]["code_verifier"] == "x" * 64
    assert [f["reason"] for f in sso_failures(sso.world.a.id)] == ["token_error:invalid_grant"]
    assert session_count(sso.world.a.id) == 0


def test_the_test_provider_insists_on_pkce(sso: Sso) -> None:
    params = {
        "response_type": "code",
        "client_id": "clinic-a-app",
        "scope": "openid",
        "redirect_uri": f"{sso.app}/api/sso/clinic-a/callback",
        "state": "s",
        "nonce": "n",
    }
    r = httpx.get(f"{sso.idp.issuer}/authorize", params=params)
    assert r.status_code == 303
    assert "error=invalid_request" in r.headers["location"]
    r = httpx.get(
        f"{sso.idp.issuer}/authorize", params={**params, "redirect_uri": "https://evil.example/cb"}
    )
    assert r.status_code == 400


# --- configuration ----------------------------------------------------------------------


def test_sso_disabled_is_not_configured(sso: Sso) -> None:
    # given: tenant A turned SSO off; tenant C never set it up
    w = sso.world
    with tenant_session(w.a.id) as s:
        update_sso(session=s, actor=w.admin_a, enabled=False, issuer="", client_id="")
    c = make_tenant("clinic-c")
    # when / then: the route sends the browser back with the message
    with httpx.Client() as browser:
        location = start(browser, sso.app, "clinic-a")
    assert location == login_page("clinic-a", "auth.sso_not_configured")
    # and the service says so directly
    with pytest.raises(DomainError) as err, tenant_session(c.id) as s:
        begin_sso_login(
            session=s, redirect_uri="http://127.0.0.1/cb", next_path="/", browser_binding="b" * 43
        )
    assert err.value.key == "auth.sso_not_configured"
    with tenant_session(w.a.id) as s:
        assert s.exec(select(OidcLoginState)).all() == []


def test_sso_switched_off_mid_sign_in_is_refused(sso: Sso) -> None:
    w = sso.world
    with httpx.Client() as browser:
        callback = sign_in_at_idp(browser, start(browser, sso.app, "clinic-a"), "staff@a.test")
        with tenant_session(w.a.id) as s:
            update_sso(session=s, actor=w.admin_a, enabled=False, issuer="", client_id="")
        r = finish(browser, callback)
    assert r.headers["location"] == login_page("clinic-a", "auth.sso_not_configured")
    assert sso.idp.token_requests == []


def test_an_unreachable_provider_is_a_message_not_a_crash(sso: Sso) -> None:
    w = sso.world
    with tenant_session(w.a.id) as s:
        update_sso(
            session=s,
            actor=w.admin_a,
            enabled=True,
            issuer="http://127.0.0.1:9",
            client_id="clinic-a-app",
        )
    with httpx.Client() as browser:
        location = start(browser, sso.app, "clinic-a")
    assert location == login_page("clinic-a", "auth.sso_provider_error")


def test_an_unknown_tenant_is_not_found(sso: Sso) -> None:
    with httpx.Client() as browser:
        assert browser.get(f"{sso.app}/api/sso/no-such-clinic/login").status_code == 404
        assert browser.get(f"{sso.app}/api/sso/no-such-clinic/callback?state=x").status_code == 404


# --- two tenants ------------------------------------------------------------------------


def test_a_state_of_tenant_a_is_unknown_at_tenant_b(sso: Sso) -> None:
    # given: a sign-in started at tenant A, back from the provider
    w = sso.world
    with httpx.Client() as browser:
        callback = sign_in_at_idp(browser, start(browser, sso.app, "clinic-a"), "staff@a.test")
        # when: its callback is presented at tenant B
        at_b = finish(browser, callback.replace("/api/sso/clinic-a/", "/api/sso/center-b/"))
        # then: exactly like a forged state, and nothing was exchanged
        assert at_b.headers["location"] == login_page("center-b", "auth.sso_state_invalid")
        assert [f["reason"] for f in sso_failures(w.b.id)] == ["state_unknown"]
        assert sso.idp.token_requests == []
        assert session_count(w.b.id) == 0
        # and tenant A's state was left alone: it still completes at A
        at_a = finish(browser, callback)
    assert at_a.headers["location"] == "/t/clinic-a/admin"
    assert staff_cookie(at_a) is not None


def test_an_identity_of_tenant_a_cannot_sign_in_to_tenant_b(sso: Sso) -> None:
    w = sso.world
    with httpx.Client() as browser:
        # A's staff member going through B's sign-in is nobody there
        r = sso_login(sso, browser, "center-b", "staff@a.test")
        assert r.headers["location"] == login_page("center-b", "auth.sso_unknown_staff")
        # and a code issued to A's client, injected into B's callback, is refused by the
        # provider: B redeems it with B's client credentials
        code_for_a = parse_qs(
            urlsplit(
                sign_in_at_idp(browser, start(browser, sso.app, "clinic-a"), "staff@a.test")
            ).query
        )["code"][0]
        b_state = parse_qs(urlsplit(start(browser, sso.app, "center-b")).query)["state"][0]
        r = finish(
            browser, f"{sso.app}/api/sso/center-b/callback?state={b_state}&code={code_for_a}"
        )
    assert r.headers["location"] == login_page("center-b", "auth.sso_provider_error")
    assert [f["reason"] for f in sso_failures(w.b.id)] == [
        "no_account",
        "token_error:invalid_grant",
    ]
    assert session_count(w.b.id) == 0
    assert session_count(w.a.id) == 0


@pytest.mark.parametrize(
    "next_path",
    [
        "//evil.example",
        "https://evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "/t/center-b/admin",
        "/admin",
    ],
)
def test_next_path_cannot_leave_the_tenant(sso: Sso, next_path: str) -> None:
    with httpx.Client() as browser:
        r = sso_login(sso, browser, "clinic-a", "staff@a.test", next_path=next_path)
    assert r.headers["location"] == "/t/clinic-a/admin"
    assert staff_cookie(r) is not None
