"""Issue 7's platform dashboard and the plan console in a real browser against the
production build, over the demo data: the operator opens /platform/dashboard from
the console's menu and every chart renders (Plotly's SVG for each chart with
data, the empty state otherwise), one chart downloads as CSV, a bad range is
refused; on the tenants page the operator sees each tenant's plan and MRR and puts
a tenant on a plan with a reason; the plan catalog refuses a bad price and saves a
good one. A full-page screenshot is kept at var/test-artifacts/dashboards/platform.png.

What each chart should show is asked of the same service the page calls, in this
process, right before the browser opens the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import col, select

from prm_saas.demo import load_demo
from prm_saas.display import yuan
from prm_saas.mall.money import fen_to_yuan_text
from prm_saas.platform.billing import end_subscription
from prm_saas.platform.kpis import PlatformDashboard, platform_dashboard
from prm_saas.platform.models import Plan, TenantSubscription
from tenants.db import platform_session
from tenants.models import Tenant
from tests.e2e.conftest import expect_chart_cards, keep_artifact
from tests.factories import PASSWORD, World

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(server: str, world: World) -> dict[str, int]:
    """The demo tenants, plans and subscriptions (loading twice adds nothing)."""
    load_demo()
    with platform_session() as s:
        return {slug: int(tid) for slug, tid in s.exec(select(Tenant.slug, Tenant.id))}


def _expected(world: World) -> PlatformDashboard:
    with platform_session() as s:
        return platform_dashboard(session=s, actor=world.operator)


def _sign_in(page: Page, server: str, world: World) -> None:
    page.goto(f"{server}/platform/login")
    page.fill("#f-email", world.operator.label)
    page.fill("#f-password", PASSWORD)
    page.click("#submit")
    expect(page.locator("#tenants-table")).to_be_visible()


def test_operator_sees_every_platform_chart(
    page: Page, server: str, world: World, demo: dict[str, int]
) -> None:
    dash = _expected(world)
    assert [c.key for c in dash.charts] == [
        "tenants_by_status",
        "signups",
        "mrr",
        "churn",
        "usage",
        "top_tenants",
    ]
    drawn = [c.key for c in dash.charts if not c.empty]
    assert {"tenants_by_status", "mrr", "usage"} <= set(drawn)
    # the demo's Pro + Enterprise, plus what earlier browser tests signed up (billing)
    mrr_fen = int(next(c for c in dash.charts if c.key == "mrr").totals["current"] or 0)
    assert mrr_fen >= 299900 + 999900

    # given the operator in the console: the demo clinic's plan and MRR are listed
    _sign_in(page, server, world)
    expect(page.locator("[id='tenant-sunshine'] .tenant-plan")).to_have_text("专业版")
    expect(page.locator("[id='tenant-sunshine'] .tenant-mrr")).to_have_text("¥2,999.00")
    expect(page.locator("[id='tenant-kangjian'] .tenant-mrr")).to_have_text("¥9,999.00")

    # when they open the dashboard from the menu
    page.click("#nav-dashboard")
    expect(page).to_have_url(re.compile(r"/platform/dashboard$"))

    # then every chart is drawn (or says it is empty), titled in Chinese
    expect_chart_cards(page, dash.charts)
    expect(page.locator("#chart-mrr .dash-title")).to_have_text("月经常性收入（MRR）")
    expect(page.locator("#chart-mrr .dash-current")).to_have_text(yuan(mrr_fen))
    expect(page.locator("#dash-freshness")).to_contain_text("按日汇总至")
    expect(page.locator("#dash-start")).to_have_value(dash.period.start.isoformat())
    shot = keep_artifact(page, "dashboards/platform")
    assert (
        shot == Path(__file__).resolve().parents[2] / "var/test-artifacts/dashboards/platform.png"
    )
    assert shot.stat().st_size > 0

    # and the MRR chart downloads as CSV in yuan, labelled in Chinese
    with page.expect_download() as info:
        page.click("#csv-mrr")
    text = Path(info.value.path()).read_bytes().decode("utf-8").lstrip("\ufeff")
    lines = text.splitlines()
    assert lines[0].startswith("分类/日期,MRR")
    assert lines[-1].split(",")[1] == fen_to_yuan_text(mrr_fen)

    # a start after the end, from the controls: refused in Chinese, no chart
    page.fill("#dash-start", dash.period.end.isoformat())
    page.fill("#dash-end", dash.period.start.isoformat())
    page.click("#dash-apply")
    expect(page.locator("#dash-error")).to_have_text("开始日期不能晚于结束日期。")
    expect(page.locator(".dash-card")).to_have_count(0)
    page.click("#lang-switch")
    expect(page.locator("#dash-error")).to_have_text("The start date cannot be after the end date.")
    page.click("#lang-switch")


@pytest.fixture
def clinic_a_back_without_a_plan(world: World) -> Iterator[None]:
    """The browser tests share one world: clinic A leaves this test without a plan,
    so the demo Basic plan's limits (one location) do not follow it into later tests."""
    yield
    with platform_session() as s:
        end_subscription(session=s, actor=world.operator, tenant_id=world.a.id, reason="e2e")


def test_operator_sets_a_plan_and_edits_the_catalog(
    page: Page,
    server: str,
    world: World,
    demo: dict[str, int],
    clinic_a_back_without_a_plan: None,
) -> None:
    _sign_in(page, server, world)
    row = page.locator("[id='tenant-clinic-a']")
    expect(row.locator(".tenant-plan")).to_have_text("无订阅")

    # when the operator puts clinic A on Basic without a reason, then with one
    page.click("[id='plan-clinic-a']")
    basic = _plan_id("basic")
    page.select_option("#f-plan_id", str(basic))
    page.click("#save-tenant-plan")
    expect(page.locator("#err-reason")).to_have_text("此项必填。")
    page.fill("#f-reason", "签约基础版")
    page.click("#save-tenant-plan")

    # then the row shows the plan and its price, and the history has the row
    expect(row.locator(".tenant-plan")).to_have_text("基础版")
    expect(row.locator(".tenant-mrr")).to_have_text("¥999.00")
    with platform_session() as s:
        sub = s.exec(
            select(TenantSubscription).where(TenantSubscription.subject_tenant_id == world.a.id)
        ).one()
    assert (sub.plan_id, sub.reason, sub.ended_at) == (basic, "签约基础版", None)

    # the same plan again is refused with a clear message
    page.click("[id='plan-clinic-a']")
    page.select_option("#f-plan_id", str(basic))
    page.fill("#f-reason", "再来一次")
    page.click("#save-tenant-plan")
    expect(page.locator("#err-plan_id")).to_have_text("该机构已在使用套餐 basic。")
    page.keyboard.press("Escape")

    # the catalog: a bad price is refused, a good one saved
    page.click("#nav-plans")
    expect(page.locator("#plans-table")).to_be_visible()
    expect(page.locator("#plan-enterprise")).to_contain_text("¥9,999.00")
    page.click("#new-plan")
    page.fill("#f-code", "starter")
    page.fill("#f-name_zh", "入门版")
    page.fill("#f-name_en", "Starter")
    page.fill("#f-monthly_yuan", "abc")
    page.click("#save-plan")
    expect(page.locator("#err-monthly_yuan")).to_be_visible()
    page.fill("#f-monthly_yuan", "499.5")
    page.click("#save-plan")
    expect(page.locator("#plan-starter")).to_contain_text("¥499.50")
    with platform_session() as s:
        fen = s.exec(select(Plan.monthly_fen).where(Plan.code == "starter")).one()
    assert fen == 49950


def _plan_id(code: str) -> int:
    with platform_session() as s:
        return int(s.exec(select(Plan.id).where(col(Plan.code) == code)).one() or 0)
