"""Issue 8's pages in a real browser against the production build and a real
localstripe: a clinic signs itself up on /signup (on a phone; a bad and a taken
address are refused first), its admin sees the trial, plan and usage on
/admin/billing, saves a card on the Stripe.js card page (a declined card first),
the trial ends (the billing cycle, run here as the beat runs it) and the admin
upgrades with the proration preview and sees the invoice; a downgrade below the
usage is refused in the preview. Staff without billing rights and another
tenant's admin do not get the page. The operator console shows the tenant's
plan, status and last invoice, and suspends it with a reason (the admin sees
the read-only banner) and resumes it. A past-due tenant's staff see until when
it keeps working.

Screenshots are kept under var/test-artifacts/billing/.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect
from sqlmodel import col, select

from prm_saas.billing import engine
from prm_saas.billing.models import BillingInvoice, TenantBilling
from prm_saas.display import local_time
from prm_saas.platform.models import TenantSubscription
from tenants.db import platform_session
from tenants.models import Tenant
from tenants.resolution import invalidate_tenant_cache, tenant_by_slug
from tenants.types import utcnow
from tests.billing.helpers import make_plan, open_billing
from tests.e2e.conftest import keep_artifact
from tests.factories import PASSWORD, World, make_admin, make_staff, make_tenant

pytestmark = pytest.mark.e2e

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 860}
CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000002"
_n = itertools.count(1)


@dataclass(frozen=True)
class Catalog:
    """Two plans on sale for these tests (first in the catalog's order)."""

    basic: int
    basic_code: str
    pro: int
    pro_code: str


@dataclass
class Clinic:
    """The clinic the sign-up test creates; the later tests use it."""

    slug: str = ""
    email: str = ""


CLINIC = Clinic()


@pytest.fixture(scope="module")
def catalog(server: str, world: World) -> Catalog:
    """Basic (¥1,000, 3 staff, 100 messages) and Pro (¥3,000, no staff limit)."""
    n = next(_n)
    basic_code, pro_code = f"ebasic{n}", f"epro{n}"
    basic = make_plan(
        basic_code,
        100000,
        name_zh="入门版",
        name_en="Starter",
        max_staff=3,
        max_locations=2,
        max_active_patients=500,
        messages_included=100,
        message_overage_fen=50,
        trial_days=14,
        sort_order=-20,
    )
    pro = make_plan(
        pro_code,
        300000,
        name_zh="旗舰版",
        name_en="Flagship",
        messages_included=1000,
        message_overage_fen=30,
        trial_days=14,
        sort_order=-10,
    )
    return Catalog(basic=basic, basic_code=basic_code, pro=pro, pro_code=pro_code)


def _sign_in_staff(page: Page, server: str, slug: str, email: str) -> None:
    page.goto(f"{server}/t/{slug}/admin/login")
    page.fill("#f-email", email)
    page.fill("#f-password", PASSWORD)
    page.click("#submit")
    expect(page).to_have_url(re.compile(rf"/t/{slug}/admin$"))


def _sign_in_operator(page: Page, server: str, world: World) -> None:
    page.goto(f"{server}/platform/login")
    page.fill("#f-email", world.operator.label)
    page.fill("#f-password", PASSWORD)
    page.click("#submit")
    expect(page.locator("#tenants-table")).to_be_visible()


def _fill_card(page: Page, number: str) -> None:
    card = page.locator("#card-element")
    card.locator("input[placeholder=number]").fill(number)
    card.locator("input[placeholder=exp_month]").fill("12")
    card.locator("input[placeholder=exp_year]").fill("30")
    card.locator("input[placeholder=cvc]").fill("123")
    card.locator("input[placeholder=postal_code]").fill("200000")
    page.click("#card-button")


def _account(slug: str) -> TenantBilling:
    tenant = tenant_by_slug(slug)
    assert tenant is not None
    with platform_session() as s:
        tb = engine.account(s, tenant.id)
        assert tb is not None
        return tb


def _invoices(slug: str) -> list[BillingInvoice]:
    tenant = tenant_by_slug(slug)
    assert tenant is not None
    with platform_session() as s:
        return list(
            s.exec(
                select(BillingInvoice)
                .where(BillingInvoice.subject_tenant_id == tenant.id)
                .order_by(col(BillingInvoice.id))
            ).all()
        )


def _end_trial_now(slug: str) -> None:
    """The trial ran out a minute ago (the server's clock cannot be moved), and the
    billing cycle runs as the beat would."""
    tenant = tenant_by_slug(slug)
    assert tenant is not None
    now = utcnow()
    with platform_session() as s:
        tb = engine.account(s, tenant.id)
        assert tb is not None
        tb.trial_ends_at = now - timedelta(minutes=1)
        tb.current_period_start = now - timedelta(days=14)
        tb.current_period_end = now - timedelta(minutes=1)
        s.add(tb)
    engine.run_cycle(now=now)
    invalidate_tenant_cache()


def test_a_clinic_signs_up_on_a_phone_and_its_admin_pays_and_upgrades(
    page: Page, server: str, world: World, catalog: Catalog
) -> None:
    n = next(_n)
    slug, email = f"newclinic{n}", f"boss{n}@newclinic.test"
    # given a visitor on a phone at the platform's landing page
    page.set_viewport_size(PHONE)
    page.goto(f"{server}/")
    page.click("#signup-link")
    expect(page).to_have_url(re.compile(r"/signup$"))
    expect(page.locator(f"[id='plan-{catalog.basic_code}']")).to_be_visible()
    expect(page.locator(".signup-plan").first).to_contain_text("¥1,000.00")
    page.fill("#f-name", "新芽诊所")
    page.fill("#f-slug", "Bad Slug!")
    page.fill("#f-admin_name", "王院长")
    page.fill("#f-admin_email", email)
    page.fill("#f-admin_password", PASSWORD)
    page.check(f"[id='plan-{catalog.basic_code}']")
    keep_artifact(page, "billing/signup-phone")

    # when the address is not a valid one, then it says so next to the field
    page.click("#signup-submit")
    expect(page.locator("#err-slug")).to_contain_text("小写字母")
    # when the address is another clinic's, then it says it is taken
    page.fill("#f-slug", world.a.slug)
    expect(page.locator("#slug-preview")).to_contain_text(f"/t/{world.a.slug}")
    page.click("#signup-submit")
    expect(page.locator("#err-slug")).to_contain_text("已被其他机构使用")
    # and in English once the visitor switches the language
    page.click("#lang-switch")
    expect(page.locator("#signup-submit")).to_have_text("Start the free trial")
    page.click("#signup-submit")
    expect(page.locator("#err-slug")).to_contain_text("is already taken")
    page.click("#lang-switch")
    expect(page.locator("#signup-submit")).to_have_text("开始免费试用")
    with platform_session() as s:
        assert s.exec(select(Tenant).where(Tenant.name == "新芽诊所")).first() is None

    # when the address is free, then the clinic is created in its trial
    page.fill("#f-slug", slug)
    page.click("#signup-submit")
    expect(page.locator("#signup-done")).to_be_visible(timeout=30_000)
    tb = _account(slug)
    assert tb.trial_ends_at is not None
    expect(page.locator("#trial-end")).to_contain_text(
        local_time(tb.trial_ends_at, "Asia/Shanghai")
    )
    expect(page.locator("#tenant-address")).to_have_text(f"/t/{slug}")
    keep_artifact(page, "billing/signup-done-phone")
    CLINIC.slug, CLINIC.email = slug, email

    # and its admin signs in from the link and sees the trial, the plan and the usage
    page.set_viewport_size(DESKTOP)
    page.click("#go-admin")
    expect(page).to_have_url(re.compile(rf"/t/{slug}/admin/login"))
    page.fill("#f-email", email)
    page.fill("#f-password", PASSWORD)
    page.click("#submit")
    page.click("#nav-billing")
    expect(page).to_have_url(re.compile(rf"/t/{slug}/admin/billing$"))
    expect(page.locator("#billing-status-badge")).to_have_text("试用")
    expect(page.locator("#billing-status")).to_contain_text("还剩 14 天")
    expect(page.locator("#billing-plan")).to_have_text("入门版")
    expect(page.locator("#usage-usage_staff .usage-numbers")).to_have_text("1 / 3")
    expect(page.locator("#usage-usage_staff .usage-bar")).to_have_attribute("aria-valuenow", "33")
    expect(page.locator("#usage-usage_locations .usage-numbers")).to_have_text("1 / 2")
    expect(page.locator("#usage-usage_messages .usage-numbers")).to_have_text("0 / 100")
    expect(page.locator("#card-on-file")).to_have_text("尚未绑定银行卡")
    expect(page.locator("#no-invoices")).to_be_visible()
    keep_artifact(page, "billing/trial")

    # when the admin updates the card on the Stripe.js page: a declined card first
    page.click("#update-card")
    expect(page).to_have_url(re.compile(r"/api/billing/card/"))
    _fill_card(page, CARD_DECLINED)
    expect(page.locator("#card-error")).to_contain_text("银行卡被拒绝")
    assert _account(slug).card_last4 == ""
    # then a good one
    _fill_card(page, CARD_OK)
    expect(page.locator("#card-current")).to_contain_text("4242", timeout=30_000)
    page.click("#billing-link")
    expect(page).to_have_url(re.compile(rf"/t/{slug}/admin/billing$"))
    expect(page.locator("#card-on-file")).to_contain_text("4242")

    # when the trial ends with the card on file, the first month is paid: active
    _end_trial_now(slug)
    page.reload()
    expect(page.locator("#billing-status-badge")).to_have_text("正常")
    expect(page.locator(".invoice-row")).to_have_count(1)
    expect(page.locator(".invoice-row .invoice-status")).to_have_text("已付款")
    expect(page.locator(".invoice-row .invoice-amount")).to_have_text("¥1,000.00")
    first = _invoices(slug)[0]
    page.click(f"#lines-{first.id}")
    expect(page.locator("#invoice-lines")).to_contain_text("¥1,000.00")

    # when the admin picks Pro, the proration is previewed before anything changes
    page.click(f"#choose-{catalog.pro_code}")
    expect(page.locator("#preview-new-price")).to_have_text("¥3,000.00")
    expect(page.locator("#preview-charge")).to_contain_text("¥")
    expect(page.locator("#preview-total")).to_contain_text("¥")
    with platform_session() as s:
        tenant_id = _account(slug).subject_tenant_id
        sub = s.exec(
            select(TenantSubscription).where(
                TenantSubscription.subject_tenant_id == tenant_id,
                col(TenantSubscription.ended_at).is_(None),
            )
        ).one()
        assert sub.plan_id == catalog.basic
    keep_artifact(page, "billing/upgrade-preview")
    # and confirming it changes the plan, and the difference is invoiced and paid
    page.click("#confirm-change")
    expect(page.locator("#form-notice")).to_contain_text("旗舰版")
    expect(page.locator("#billing-plan")).to_have_text("旗舰版")
    expect(page.locator(".invoice-row")).to_have_count(2)
    newest = _invoices(slug)[-1]
    assert newest.status == "paid"
    assert newest.total_fen > 0
    expect(page.locator(f"#invoice-{newest.id} .invoice-status")).to_have_text("已付款")
    keep_artifact(page, "billing/upgraded")

    # when the clinic has more staff than Starter allows, a downgrade is refused up front
    tenant = tenant_by_slug(slug)
    assert tenant is not None
    for _ in range(3):
        make_staff(tenant)
    page.reload()
    expect(page.locator("#usage-usage_staff .usage-numbers")).to_have_text("4 / 不限")
    page.click(f"#choose-{catalog.basic_code}")
    expect(page.locator("#preview-blocked")).to_contain_text("无法降级")
    expect(page.locator("#preview-blocked")).to_contain_text("员工 4/3")
    expect(page.locator("#confirm-change")).to_have_count(0)


def test_staff_without_billing_rights_and_other_tenants_do_not_get_the_page(
    page: Page, browser: Browser, server: str, world: World, catalog: Catalog
) -> None:
    # given a clinic in its trial with an admin and a front-desk staff member
    tenant = make_tenant(f"billa{next(_n)}", name="账单诊所")
    admin = make_admin(tenant, email=f"admin@{tenant.slug}.test")
    staff = make_staff(tenant, email=f"desk@{tenant.slug}.test")
    open_billing(tenant, catalog.basic, utcnow())
    # when a staff member without billing rights opens the billing page
    _sign_in_staff(page, server, tenant.slug, staff.label)
    expect(page.locator("#nav-billing")).to_have_count(0)
    page.goto(f"{server}/t/{tenant.slug}/admin/billing")
    # then it does not exist for them
    expect(page.locator("#not-found")).to_be_visible()
    expect(page.locator("#billing-plan")).to_have_count(0)

    # when tenant B's admin, signed in at B, opens A's billing page
    other = browser.new_page()
    _sign_in_staff(other, server, world.b.slug, world.admin_b.label)
    other.goto(f"{server}/t/{tenant.slug}/admin/billing")
    # then they are asked to sign in at A (their session is B's), nothing of A shown
    expect(other).to_have_url(re.compile(rf"/t/{tenant.slug}/admin/login\?next="))
    expect(other.locator("#billing-plan")).to_have_count(0)
    # and B's own billing page lists none of A's invoices (B has no account at all)
    other.goto(f"{server}/t/{world.b.slug}/admin/billing")
    expect(other.locator("#no-invoices")).to_be_visible()
    other.close()

    # while A's admin does see the page
    page.goto(f"{server}/t/{tenant.slug}/admin")
    page.click("#sign-out")
    _sign_in_staff(page, server, tenant.slug, admin.label)
    page.goto(f"{server}/t/{tenant.slug}/admin/billing")
    expect(page.locator("#billing-plan")).to_have_text("入门版")


def test_operator_suspends_with_a_reason_and_resumes(
    page: Page, browser: Browser, server: str, world: World, catalog: Catalog
) -> None:
    if not CLINIC.slug:
        pytest.skip("needs the clinic of the sign-up test")
    slug = CLINIC.slug
    row = f"[id='tenant-{slug}']"
    # given the operator on the console: the clinic's plan, status and last invoice
    _sign_in_operator(page, server, world)
    expect(page.locator(f"{row} .tenant-plan")).to_have_text("旗舰版")
    expect(page.locator(f"{row} .tenant-mrr")).to_have_text("¥3,000.00")
    expect(page.locator(f"{row} .tenant-invoice")).to_contain_text("已付款")
    keep_artifact(page, "billing/console")

    # when they suspend it without a reason, it is refused and nothing changes
    page.click(f"#suspend-{slug}")
    page.click("#confirm-status")
    expect(page.locator("#err-reason")).to_be_visible()
    tenant = tenant_by_slug(slug)
    assert tenant is not None
    with platform_session() as s:
        assert str(s.get(Tenant, tenant.id).status) == "active"  # type: ignore[union-attr]
    # when they give one, the clinic is suspended
    page.fill("#f-reason", "合同争议，暂停待核实")
    page.click("#confirm-status")
    expect(page.locator("#form-notice")).to_contain_text("已暂停")
    expect(page.locator(row)).to_contain_text("已暂停")

    # then the clinic's admin sees the read-only banner
    admin = browser.new_page()
    _sign_in_staff(admin, server, slug, CLINIC.email)
    expect(admin.locator("#read-only-banner")).to_be_visible()
    keep_artifact(admin, "billing/suspended-admin")

    # when the operator resumes it with a reason, it is active again and the banner gone
    page.click(f"#resume-{slug}")
    page.fill("#f-reason", "核实完毕")
    page.click("#confirm-status")
    expect(page.locator("#form-notice")).to_contain_text("已恢复")
    with platform_session() as s:
        assert str(s.get(Tenant, tenant.id).status) == "active"  # type: ignore[union-attr]
    invalidate_tenant_cache()
    admin.goto(f"{server}/t/{slug}/admin/billing")
    expect(admin.locator("#billing-plan")).to_have_text("旗舰版")
    expect(admin.locator("#read-only-banner")).to_have_count(0)
    admin.close()


def test_past_due_staff_see_until_when_and_admins_the_way_to_billing(
    page: Page, browser: Browser, server: str, world: World, catalog: Catalog
) -> None:
    # given a clinic whose trial ended without a card: past due from now
    tenant = make_tenant(f"late{next(_n)}", name="逾期诊所")
    admin = make_admin(tenant, email=f"admin@{tenant.slug}.test")
    staff = make_staff(tenant, email=f"desk@{tenant.slug}.test")
    start = utcnow() - timedelta(days=15)
    open_billing(tenant, catalog.basic, start)
    engine.run_cycle(now=utcnow())
    invalidate_tenant_cache()
    tb = _account(tenant.slug)
    assert tb.past_due_since is not None
    until = local_time(tb.past_due_since + timedelta(days=7), "Asia/Shanghai")[:10]

    # when a staff member signs in, the banner says until when the clinic keeps working
    _sign_in_staff(page, server, tenant.slug, staff.label)
    expect(page.locator("#past-due-banner")).to_contain_text(until)
    expect(page.locator("#banner-billing-link")).to_have_count(0)
    # and the admin gets the way to the billing page, which asks for a card by that day
    other = browser.new_page()
    _sign_in_staff(other, server, tenant.slug, admin.label)
    expect(other.locator("#past-due-banner")).to_contain_text(until)
    other.click("#banner-billing-link")
    expect(other.locator("#billing-status")).to_contain_text(f"请在 {until} 前更新银行卡")
    keep_artifact(other, "billing/past-due")
    other.close()
