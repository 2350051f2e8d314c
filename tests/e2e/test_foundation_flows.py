"""The foundation's flows in a real browser against the production build."""

from __future__ import annotations

import itertools
import re

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from prm_saas.accounts.auth import revoke_all_sessions
from prm_saas.accounts.models import Patient, PrincipalKind, StaffMember
from prm_saas.organization.services import update_sso
from tenants.db import platform_session, tenant_session
from tenants.models import Tenant, TenantStatus
from tests.factories import PASSWORD, World, change_status, make_admin, make_tenant
from tests.oidc_provider import OidcProvider
from tests.smtp_sink import MailSink

pytestmark = pytest.mark.e2e
_n = itertools.count(1)


def sign_in_staff(page: Page, server: str, slug: str, email: str, password: str = PASSWORD) -> None:
    """Password sign-in on a tenant's staff login page."""
    page.goto(f"{server}/t/{slug}/admin/login")
    page.fill("#f-email", email)
    page.fill("#f-password", password)
    page.click("#submit")


def test_patient_registers_signs_in_switches_language_and_sees_home(
    page: Page, server: str, world: World
) -> None:
    # given a new visitor on tenant A's member pages, on a phone-sized screen
    page.set_viewport_size({"width": 390, "height": 844})
    phone = f"1370000{next(_n):04d}"
    page.goto(f"{server}/t/{world.a.slug}/register")
    expect(page.locator("#tenant-name")).to_have_text(world.a.name)

    # when they register with a weak password first
    page.fill("#f-name", "林小雨")
    page.fill("#f-phone", phone)
    page.fill("#f-password", "abc")
    page.fill("#f-password_confirm", "abc")
    page.click("#submit")
    # then the form says what is wrong, in Chinese, and nothing is written
    expect(page.locator("#err-password")).to_contain_text("密码至少 8 位")
    with tenant_session(world.a.id) as s:
        assert s.exec(select(Patient).where(Patient.phone == "+86" + phone)).first() is None

    # when they fix it
    page.fill("#f-password", "Yuyu2026go")
    page.fill("#f-password_confirm", "Yuyu2026go")
    page.click("#submit")
    # then they are signed in on the member home
    expect(page.locator("#patient-hello")).to_contain_text("林小雨")

    # when they sign out and sign in again with the phone number
    page.click("#patient-sign-out")
    expect(page).to_have_url(re.compile(rf"/t/{world.a.slug}/login"))
    page.fill("#f-identifier", f"{phone[:3]} {phone[3:7]} {phone[7:]}")
    page.fill("#f-password", "Yuyu2026go")
    page.click("#submit")
    expect(page.locator("#patient-hello")).to_contain_text("林小雨")

    # when they switch to English
    page.click("#lang-switch")
    # then the home speaks English, and still does after a reload
    expect(page.locator("#patient-hello")).to_contain_text("Hello, 林小雨")
    page.reload()
    expect(page.locator("#patient-hello")).to_contain_text("Hello, 林小雨")
    expect(page.get_by_text("Member card", exact=True)).to_be_visible()


def test_staff_member_signs_in_through_oidc(
    page: Page, server: str, world: World, idp: OidcProvider
) -> None:
    # given tenant A's admin configured the tenant's identity provider
    client_id = f"prm-{world.a.slug}"
    idp.add_client(client_id, "idp-secret-1", [f"{server}/api/sso/{world.a.slug}/callback"])
    with tenant_session(world.a.id) as s:
        update_sso(
            session=s,
            actor=world.admin_a,
            enabled=True,
            issuer=idp.issuer,
            client_id=client_id,
            client_secret="idp-secret-1",
        )

    # when the staff member picks SSO on the sign-in page and signs in at the provider
    page.goto(f"{server}/t/{world.a.slug}/admin/login")
    page.click("#sso-login")
    page.wait_for_timeout(500)
    page.fill("input[name=email]", world.staff_a.label)
    page.get_by_role("button", name="Sign in").click()

    # then they are back in tenant A's admin, signed in as themselves
    expect(page).to_have_url(re.compile(rf"/t/{world.a.slug}/admin$"))
    expect(page.locator("#user-name")).to_have_text(world.staff_a.name)


def test_tenant_admin_invites_staff_who_accepts_and_signs_in(
    page: Page, server: str, world: World, mail: MailSink
) -> None:
    # given tenant A's admin on the staff page
    sign_in_staff(page, server, world.a.slug, world.admin_a.label)
    expect(page.locator("#admin-welcome")).to_be_visible()
    page.goto(f"{server}/t/{world.a.slug}/admin/staff")
    email = f"nurse{next(_n)}@a.test"

    # when they invite a nurse
    page.click("#open-invite")
    page.fill("#f-name", "吴护士")
    page.fill("#f-email", email)
    page.click("#send-invite")

    # then the nurse is listed as invited and has mail with a link
    row = page.locator(f"[id='staff-{email}']")
    expect(row).to_contain_text("已邀请")
    token = mail.last_to(email).accept_token()

    # when the nurse opens the link in their own browser and sets a password
    page.context.clear_cookies()
    page.goto(f"{server}/t/{world.a.slug}/admin/accept?token={token}")
    expect(page.locator("#invite-email")).to_have_text(email)
    page.fill("#f-password", "Ward2026ok")
    page.fill("#f-password_confirm", "Ward2026ok")
    page.click("#submit")

    # then they are signed in to tenant A's admin as staff
    expect(page.locator("#user-name")).to_have_text("吴护士")
    with tenant_session(world.a.id) as s:
        member = s.exec(select(StaffMember).where(StaffMember.email == email)).one()
        assert member.status == "active"


def test_operator_creates_tenant_c_and_its_admin_signs_in(
    page: Page, server: str, world: World
) -> None:
    slug = f"tenant-c{next(_n)}"
    # given the platform operator signed in to the console
    page.goto(f"{server}/platform/login")
    page.fill("#f-email", world.operator.label)
    page.fill("#f-password", PASSWORD)
    page.click("#submit")
    expect(page.locator("#tenants-table")).to_be_visible()

    # when they create tenant C with its first admin (a bad slug first)
    page.click("#open-create")
    page.fill("#f-name", "明德体检中心")
    page.fill("#f-slug", "Bad Slug!")
    page.fill("#f-admin_name", "孙主任")
    page.fill("#f-admin_email", f"boss@{slug}.test")
    page.fill("#f-admin_password", "Mingde2026go")
    page.click("#create-tenant")
    expect(page.locator("#err-slug")).to_be_visible()
    page.fill("#f-slug", slug)
    page.click("#create-tenant")

    # then C is listed
    expect(page.locator(f"[id='tenant-{slug}']")).to_contain_text("明德体检中心")

    # and C's admin can sign in to C's admin pages
    page.context.clear_cookies()
    sign_in_staff(page, server, slug, f"boss@{slug}.test", "Mingde2026go")
    expect(page.locator("#user-name")).to_have_text("孙主任")
    expect(page.locator("#tenant-name")).to_have_text("明德体检中心")


def test_admin_of_tenant_a_cannot_open_tenant_b_admin_pages(
    page: Page, server: str, world: World
) -> None:
    # given tenant A's admin is signed in
    sign_in_staff(page, server, world.a.slug, world.admin_a.label)
    expect(page.locator("#admin-welcome")).to_be_visible()

    # when they open tenant B's staff page
    page.goto(f"{server}/t/{world.b.slug}/admin/staff")

    # then B sends them to B's sign-in page and shows none of B's staff
    expect(page).to_have_url(re.compile(rf"/t/{world.b.slug}/admin/login"))
    expect(page.get_by_text(world.staff_b.label)).to_have_count(0)


def test_hostile_client_rewriting_ids_to_another_tenant_gets_not_found(
    page: Page, server: str, world: World
) -> None:
    # given tenant A's admin on A's staff page
    sign_in_staff(page, server, world.a.slug, world.admin_a.label)
    expect(page.locator("#admin-welcome")).to_be_visible()
    page.goto(f"{server}/t/{world.a.slug}/admin/staff")
    row = page.locator(f"[id='staff-{world.staff_a.label}']")
    expect(row).to_be_visible()

    # when the client rewrites the outgoing event to name tenant B's staff member
    page.evaluate(
        """(victim) => { window.__reflex_otel = { onEventSend: (ev) => {
               if (ev.name.endsWith('.set_role')) { ev.payload.staff_id = victim; }
           } }; }""",
        world.staff_b.id,
    )
    row.get_by_role("button", name="设为管理员").click()

    # then the server answers "not found", and B's staff member is untouched
    expect(page.locator("#form-error")).to_contain_text("未找到该记录")
    with tenant_session(world.b.id) as s:
        member = s.exec(select(StaffMember).where(StaffMember.id == world.staff_b.id)).one()
        assert member.role == "staff"


def test_unknown_tenant_shows_404(page: Page, server: str) -> None:
    page.goto(f"{server}/t/no-such-clinic/login")
    expect(page.locator("#not-found")).to_be_visible()


def test_tenant_subdomain_serves_the_tenant_without_a_path_prefix(
    page: Page, server: str, world: World
) -> None:
    host_url = server.replace("://localhost", f"://{world.b.slug}.localhost")
    page.goto(f"{host_url}/login")
    expect(page.locator("#tenant-name")).to_have_text(world.b.name)
    page.goto(f"{host_url}/t/{world.a.slug}/login")
    expect(page.locator("#not-found")).to_be_visible()


def test_expired_session_goes_to_sign_in_and_back_to_the_page(
    page: Page, server: str, world: World
) -> None:
    # given a signed-in admin whose sessions are then revoked on the server
    sign_in_staff(page, server, world.a.slug, world.admin_a.label)
    expect(page.locator("#admin-welcome")).to_be_visible()
    with tenant_session(world.a.id) as s:
        revoke_all_sessions(s, kind=PrincipalKind.STAFF, principal_id=world.admin_a.id)

    # when they open the settings page
    page.goto(f"{server}/t/{world.a.slug}/admin/settings")
    # then they must sign in, and land on the settings page afterwards
    expect(page).to_have_url(re.compile(r"/admin/login\?next="))
    page.fill("#f-email", world.admin_a.label)
    page.fill("#f-password", PASSWORD)
    page.click("#submit")
    expect(page).to_have_url(re.compile(rf"/t/{world.a.slug}/admin/settings$"))
    expect(page.locator("#save-branding")).to_be_visible()


def test_suspended_tenant_staff_see_read_only_notice_and_cannot_change_anything(
    page: Page, server: str, mail: MailSink
) -> None:
    # given a suspended tenant and its admin
    tenant = make_tenant(f"sleepy{next(_n)}", name="暂停诊所")
    admin = make_admin(tenant, email=f"admin@{tenant.slug}.test")
    change_status(tenant, TenantStatus.SUSPENDED)

    # when the admin signs in and tries to invite someone
    sign_in_staff(page, server, tenant.slug, admin.label)
    expect(page.locator("#read-only-banner")).to_be_visible()
    page.goto(f"{server}/t/{tenant.slug}/admin/staff")
    page.click("#open-invite")
    page.fill("#f-name", "新人")
    page.fill("#f-email", f"new@{tenant.slug}.test")
    page.click("#send-invite")

    # then the change is refused with the read-only message and nothing is written
    expect(page.locator("#dialog-error")).to_contain_text("只读")
    with tenant_session(tenant.id) as s:
        assert len(s.exec(select(StaffMember)).all()) == 1
    assert mail.to(f"new@{tenant.slug}.test") == []
    with platform_session() as s:
        assert s.get(Tenant, tenant.id).status == TenantStatus.SUSPENDED  # type: ignore[union-attr]
