"""Issue 7's tenant dashboard in a real browser against the production build, over
the demo data: a tenant admin opens /admin/dashboard and every chart renders
(Plotly's SVG with at least one trace for each chart that has data, the empty
state otherwise); one chart's CSV downloads with its header in Chinese; an
inverted range is refused in Chinese and then in English after switching the
language; a location of the other tenant in the URL is "门店不存在" with no
charts; staff see the operational subset only (no revenue). A full-page
screenshot is kept at var/test-artifacts/dashboards/tenant.png.

What each chart should show is asked of the same service the page calls, in
this process, right before the browser opens the page.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import col, select

from prm_saas.accounts.auth import staff_principal
from prm_saas.accounts.models import StaffMember
from prm_saas.booking.models import Location
from prm_saas.booking.schedule import local_today, tenant_zone
from prm_saas.dashboards.tenant import TenantDashboard, tenant_dashboard
from prm_saas.demo import DEMO_PASSWORD, load_demo
from tenants.db import platform_session, tenant_session
from tenants.models import Tenant
from tenants.types import utcnow
from tests.e2e.conftest import PLOT_TIMEOUT, expect_chart_cards, keep_artifact
from tests.e2e.test_foundation_flows import sign_in_staff
from tests.factories import World

pytestmark = pytest.mark.e2e

SLUG, OTHER = "sunshine", "kangjian"
ADMIN, STAFF = "admin@sunshine.demo", "doctor@sunshine.demo"
# What Plotly draws per trace: lines/bars/funnels are g.trace, a heatmap g.hm, a pie g.slice.


@pytest.fixture(scope="module")
def demo(server: str, world: World) -> dict[str, int]:
    """The demo tenants (loaded once; the package's world is wiped afterwards)."""
    load_demo()
    with platform_session() as s:
        rows = s.exec(select(Tenant.slug, Tenant.id).where(col(Tenant.slug).in_([SLUG, OTHER])))
        ids = {slug: int(tid) for slug, tid in rows}
    assert set(ids) == {SLUG, OTHER}
    return ids


def _expected(tenant_id: int, email: str, **view: object) -> TenantDashboard:
    with tenant_session(tenant_id) as s:
        staff = s.exec(select(StaffMember).where(StaffMember.email == email)).one()
        return tenant_dashboard(session=s, actor=staff_principal(staff), **view)  # type: ignore[arg-type]


def _url(server: str, **query: str) -> str:
    base = f"{server}/t/{SLUG}/admin/dashboard"
    return base + ("?" + urlencode(query) if query else "")


def _sign_in(page: Page, server: str, email: str) -> None:
    sign_in_staff(page, server, SLUG, email, DEMO_PASSWORD)
    expect(page).to_have_url(re.compile(rf"/t/{SLUG}/admin$"))


def test_admin_sees_every_chart_and_downloads_one_as_csv(
    page: Page, server: str, demo: dict[str, int]
) -> None:
    # given the clinic's admin, signed in; the first admin menu entry is the dashboard
    _sign_in(page, server, ADMIN)
    expect(page.locator("a[id^=nav-]").first).to_have_id("nav-dashboard")
    expect(page.locator("#nav-dashboard")).to_contain_text("数据看板")
    dash = _expected(demo[SLUG], ADMIN)
    assert [c.key for c in dash.charts][:3] == ["bookings", "revenue", "funnel"]
    assert any(not c.empty for c in dash.charts), "the demo data draws nothing"

    # when they open the dashboard (the last 30 days by default)
    page.click("#nav-dashboard")
    expect(page).to_have_url(re.compile(rf"/t/{SLUG}/admin/dashboard$"))

    # then every chart the service returns is drawn, titled in Chinese
    expect_chart_cards(page, dash.charts)
    expect(page.locator("#chart-revenue .dash-title")).to_have_text("收入（实收减退款）")
    revenue = next(c for c in dash.charts if c.key == "revenue")
    if not revenue.empty:  # money in yuan on the axis
        expect(page.locator("#chart-revenue .ytick text").last).to_contain_text("¥")
    expect(page.locator("#dash-freshness")).to_contain_text("实时")
    expect(page.locator("#dash-start")).to_have_value(dash.period.start.isoformat())
    expect(page.locator("#dash-end")).to_have_value(dash.period.end.isoformat())
    # two columns on a desktop
    first, second = (page.locator(".dash-card").nth(i).bounding_box() for i in (0, 1))
    assert first is not None
    assert second is not None
    assert abs(first["y"] - second["y"]) < 2
    assert second["x"] > first["x"] + 100
    shot = keep_artifact(page, "dashboards/tenant")
    assert shot == Path(__file__).resolve().parents[2] / "var/test-artifacts/dashboards/tenant.png"

    # and one chart's data downloads as CSV, labelled in Chinese, money-free here
    bookings = next(c for c in dash.charts if c.key == "bookings")
    with page.expect_download() as info:
        page.click("#csv-bookings")
    download = info.value
    start, end = dash.period.start.isoformat(), dash.period.end.isoformat()
    assert download.suggested_filename == f"bookings-{start}_{end}.csv"
    text = Path(download.path()).read_bytes().decode("utf-8")
    assert text.startswith("\ufeff")
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[0] == "分类/日期,预约 (次)"
    assert len(lines) == len(bookings.x) + 1
    assert lines[1].split(",")[0] == bookings.x[0]

    # when they compare with the previous period through the controls, the view
    # goes into the URL (a bookmark) and the CSV gets the previous-period column
    page.click("#dash-cmp")
    page.click("#dash-apply")
    expect(page).to_have_url(re.compile(r"cmp=1"))
    expect(page.locator(".dash-card")).to_have_count(len(dash.charts), timeout=PLOT_TIMEOUT)
    expect(page.locator("#chart-bookings .dash-previous")).to_be_visible()
    with page.expect_download() as info:
        page.click("#csv-bookings")
    text = Path(info.value.path()).read_bytes().decode("utf-8").lstrip("\ufeff")
    assert next(csv.reader(io.StringIO(text))) == ["分类/日期", "预约 (次)", "预约 (次, 上期)"]

    # and on a phone the charts are in one column
    page.set_viewport_size({"width": 390, "height": 844})
    first, second = (page.locator(".dash-card").nth(i).bounding_box() for i in (0, 1))
    assert first is not None
    assert second is not None
    assert second["y"] > first["y"] + first["height"] - 2


def test_inverted_range_is_refused_in_chinese_then_english(
    page: Page, server: str, demo: dict[str, int]
) -> None:
    with tenant_session(demo[SLUG]) as s:
        today = local_today(utcnow(), tenant_zone(s))
    later, earlier = (
        (today - timedelta(days=1)).isoformat(),
        (today - timedelta(days=10)).isoformat(),
    )
    _sign_in(page, server, ADMIN)
    page.goto(_url(server))
    expect(page.locator(".dash-card").first).to_be_visible(timeout=PLOT_TIMEOUT)

    # when the admin types a start after the end and applies
    page.fill("#dash-start", later)
    page.fill("#dash-end", earlier)
    page.click("#dash-apply")

    # then the range is in the URL, refused in Chinese, and no chart is shown
    expect(page).to_have_url(re.compile(rf"start={later}&end={earlier}"))
    expect(page.locator("#dash-error")).to_have_text("开始日期不能晚于结束日期。")
    expect(page.locator(".dash-card")).to_have_count(0)
    # and the message follows a switch to English without asking again
    page.click("#lang-switch")
    expect(page.locator("#dash-error")).to_have_text("The start date cannot be after the end date.")
    expect(page.locator(".dash-card")).to_have_count(0)
    # a range longer than a year, from a shared link
    page.goto(_url(server, start=(today - timedelta(days=400)).isoformat(), end=today.isoformat()))
    expect(page.locator("#dash-error")).to_have_text(
        "The range can span at most 366 days; choose a shorter one."
    )
    # the admin's language is remembered on the account: back to Chinese
    page.click("#lang-switch")
    expect(page.locator("#dash-error")).to_have_text("日期范围最长 366 天，请缩短范围。")


def test_location_of_another_tenant_is_not_found_and_own_location_filters(
    page: Page, server: str, demo: dict[str, int]
) -> None:
    with tenant_session(demo[OTHER]) as s:
        theirs = s.exec(select(Location.id)).first()
    with tenant_session(demo[SLUG]) as s:
        ours = s.exec(select(Location.id).order_by(col(Location.id))).first()
    assert theirs is not None
    assert ours is not None
    _sign_in(page, server, ADMIN)

    # a location of the other clinic in a link: the same message as a missing one
    page.goto(_url(server, loc=str(theirs)))
    expect(page.locator("#dash-error")).to_have_text("门店不存在。")
    expect(page.locator(".dash-card")).to_have_count(0)
    page.goto(_url(server, loc="999999"))
    expect(page.locator("#dash-error")).to_have_text("门店不存在。")
    page.goto(_url(server, loc="abc"))
    expect(page.locator("#dash-error")).to_have_text("门店不存在。")
    expect(page.locator(".dash-card")).to_have_count(0)

    # its own location filters; charts that are not by location say so
    dash = _expected(demo[SLUG], ADMIN, location_id=ours)
    page.goto(_url(server, loc=str(ours)))
    expect_chart_cards(page, dash.charts)
    expect(page.locator("#dash-error")).to_have_count(0)
    expect(page.locator("#dash-loc")).to_have_value(str(ours))
    unsplit = [c.key for c in dash.charts if not c.by_location]
    expect(page.locator(".dash-hint")).to_have_count(len(unsplit))
    for key in unsplit:
        expect(page.locator(f"#chart-{key} .dash-hint")).to_contain_text("不按门店区分")


def test_staff_see_the_operational_subset(page: Page, server: str, demo: dict[str, int]) -> None:
    dash = _expected(demo[SLUG], STAFF)
    keys = [c.key for c in dash.charts]
    assert "revenue" not in keys
    assert "bookings" in keys
    _sign_in(page, server, STAFF)
    expect(page.locator("#nav-dashboard")).to_be_visible()
    page.goto(_url(server))
    expect_chart_cards(page, dash.charts)
    for hidden in ("revenue", "funnel", "points", "campaigns", "cohorts"):
        expect(page.locator(f"#chart-{hidden}")).to_have_count(0)
