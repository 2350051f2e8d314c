"""Issue 6's campaign flow in a real browser against the production build: a
manager builds an audience from a tag expression (a malformed one shows a caret
and a Chinese message; the count and the reach per channel leave the opted-out
patient out), builds a campaign, is refused a start without content, writes the
content, starts it, and after the release sees it in the report (sent, delivered,
a conversion and its revenue in yuan). Front-desk staff and the other tenant find
nothing.

No Celery worker runs beside the browser tests: the test drives the release the
way the beat would (``release_due``, then the messaging engine's delivery of the
released batch) on the database the server shares.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from prm_saas.accounts.models import Patient, Sex
from prm_saas.audiences.services import create_audience
from prm_saas.campaigns import services as campaigns
from prm_saas.campaigns.models import Campaign, CampaignRecipient, CampaignStatus
from prm_saas.campaigns.release import release_due
from prm_saas.messaging.delivery import deliver_batch
from prm_saas.messaging.models import Channel, ContactPreference, MessagingSettings
from prm_saas.orders.models import Order, OrderStatus, PaymentMethod
from prm_saas.tags import services as tags
from tenants.db import tenant_session
from tenants.types import utcnow
from tests.e2e.test_foundation_flows import sign_in_staff
from tests.e2e.test_messaging_pages import shot
from tests.factories import World

pytestmark = pytest.mark.e2e
NOT_FOUND = "未找到该记录"
_n = itertools.count(1)


def _admin(page: Page, server: str, world: World, path: str) -> None:
    sign_in_staff(page, server, world.a.slug, world.admin_a.label)
    expect(page).to_have_url(re.compile(rf"/t/{world.a.slug}/admin$"))
    page.goto(f"{server}/t/{world.a.slug}{path}")


@pytest.fixture
def no_quiet_hours(world: World) -> Iterator[None]:
    """Tenant A's quiet hours off for the test (it may run at night in Shanghai)."""
    with tenant_session(world.a.id) as s:
        row = s.exec(select(MessagingSettings)).first()
        before = (row.quiet_start, row.quiet_end) if row else None
        row = row or MessagingSettings()
        row.quiet_start, row.quiet_end = "00:00", "00:00"
        s.add(row)
    yield
    with tenant_session(world.a.id) as s:
        row = s.exec(select(MessagingSettings)).one()
        if before is None:
            s.delete(row)
        else:
            row.quiet_start, row.quiet_end = before
            s.add(row)


def _tagged_patients(world: World, tag_name: str, n: int) -> list[int]:
    with tenant_session(world.a.id) as s:
        tag = tags.create_tag(session=s, actor=world.admin_a, data=tags.TagInput(name=tag_name))
        ids = []
        for i in range(3):
            sex = Sex.FEMALE if i == 0 else Sex.MALE
            p = Patient(name=f"春检客户{n}-{i}", phone=f"+86135{n:04d}{i:04d}", sex=sex)
            s.add(p)
            s.flush()
            ids.append(int(p.id or 0))
        tags.add_tags(session=s, actor=world.admin_a, patient_ids=ids, tag_ids=[tag.id])
        # The last one said no to marketing in the app.
        s.add(ContactPreference(patient_id=ids[2], channel=Channel.INAPP, marketing=False))
    return ids


def test_manager_builds_an_audience_sends_a_campaign_and_sees_the_report(
    page: Page, server: str, world: World, no_quiet_hours: None
) -> None:
    n = next(_n)
    tag = f"春检{n}"
    ids = _tagged_patients(world, tag, n)
    _admin(page, server, world, "/admin/audiences")

    # The audience: a malformed expression shows where it is wrong, in Chinese.
    page.click("#new-audience")
    audience = f"春检人群{n}"
    page.fill("#f-name", audience)
    page.fill("#f-expression", f"{tag} AND")
    expect(page.locator("#err-expression")).to_contain_text("表达式不完整")
    expect(page.locator("#expr-caret")).to_contain_text("^")
    shot(page, "audience-caret")
    page.fill("#f-expression", f"{tag} {tag}")
    expect(page.locator("#err-expression")).to_contain_text("前缺少运算符")
    # The live count: three tagged, two reachable in the app (one opted out).
    page.fill("#f-expression", tag)
    expect(page.locator("#aud-count")).to_have_text("3")
    expect(page.locator("#reach-inapp")).to_have_text("2")
    expect(page.locator("#err-expression")).to_have_count(0)
    expect(page.locator(f"#aud-sample-{ids[0]}")).to_have_text(f"春检客户{n}-0")
    shot(page, "audience-builder")
    # An attribute filter from the tag conditions narrows the count live.
    page.select_option("#add-condition", "sex")
    page.select_option("#cond-0-sex", "female")
    expect(page.locator("#aud-count")).to_have_text("1")
    expect(page.locator(f"#aud-sample-{ids[1]}")).to_have_count(0)
    page.click("#cond-0-remove")
    expect(page.locator("#aud-count")).to_have_text("3")
    page.click("#save-audience")
    expect(page.locator(f"#audience-{audience}")).to_be_visible()

    # The campaign: saved without content, its start is refused and says why.
    page.goto(f"{server}/t/{world.a.slug}/admin/campaigns")
    page.click("#new-campaign")
    name = f"春季体检{n}"
    page.fill("#f-name", name)
    page.select_option("#f-audience_id", label=audience)
    page.fill("#f-quiet_start", "00:00")
    page.fill("#f-quiet_end", "00:00")
    page.click("#save-campaign")
    expect(page.locator("#builder-status")).to_contain_text("草稿")
    with tenant_session(world.a.id) as s:
        campaign = s.exec(select(Campaign).where(Campaign.name == name)).one()
    cid = int(campaign.id or 0)
    page.click(f"#start-{cid}-detail")
    expect(page.locator("#form-error")).to_contain_text("还没有内容")
    with tenant_session(world.a.id) as s:
        assert s.exec(select(Campaign).where(Campaign.id == cid)).one().status == "draft"

    # Bad content is refused in Chinese; good content saves; the start goes through.
    page.fill("#f-A_inapp_subject", "春季体检")
    page.fill("#f-A_inapp_body", "{patient_name}，您好：{unknown}")
    page.click("#save-campaign")
    expect(page.locator("#err-A_inapp_body")).to_be_visible()
    page.fill("#f-A_inapp_body", "{patient_name}，您好：春季体检套餐八折。")
    page.click("#save-campaign")
    expect(page.locator("#form-notice")).to_contain_text("已保存")
    shot(page, "campaign-builder")
    page.click(f"#start-{cid}-detail")
    expect(page.locator("#builder-status")).to_contain_text("发送中")
    expect(page.locator(f"#status-{cid}")).to_contain_text("发送中")

    # The release, as the beat and the messaging worker would do it.
    with tenant_session(world.a.id) as s:
        released = release_due(s, now=utcnow(), send=False)
    assert len(released.message_ids) == 2
    deliver_batch(tenant_id=world.a.id, message_ids=released.message_ids)
    with tenant_session(world.a.id) as s:
        got = {
            r.patient_id
            for r in s.exec(
                select(CampaignRecipient).where(CampaignRecipient.campaign_id == cid)
            ).all()
        }
        # A recipient books a checkup and pays: a conversion of the campaign.
        s.add(
            Order(
                number=f"C{n}{cid}",
                patient_id=ids[0],
                status=OrderStatus.PAID,
                payment_method=PaymentMethod.STRIPE,
                total_fen=129900,
                paid_fen=129900,
                idempotency_key=f"campaign-e2e-{n}-{cid}",
                paid_at=utcnow(),
            )
        )
    assert got == {ids[0], ids[1]}  # the opted-out patient is not in the snapshot

    # The report: per variant and channel, and the total.
    page.click(f"#report-{cid}-detail")
    expect(page).to_have_url(re.compile(rf"/admin/campaigns/{cid}/report$"))
    expect(page.locator("#report-title")).to_contain_text(name)
    expect(page.locator("#rep-A-inapp-recipients")).to_have_text("2")
    expect(page.locator("#rep-A-inapp-sent")).to_have_text("2")
    expect(page.locator("#rep-A-inapp-delivered")).to_have_text("2")
    expect(page.locator("#rep-A-inapp-failed")).to_have_text("0")
    expect(page.locator("#rep-A-inapp-conversions")).to_have_text("1")
    expect(page.locator("#rep-A-inapp-revenue")).to_have_text("¥1,299.00")
    expect(page.locator("#rep-all-all-sent")).to_have_text("2")
    shot(page, "campaign-report", english=True)
    with tenant_session(world.a.id) as s:
        assert s.exec(select(Campaign).where(Campaign.id == cid)).one().status in {
            CampaignStatus.RUNNING,
            CampaignStatus.DONE,
        }


def test_front_desk_and_the_other_tenant_find_no_campaigns(
    page: Page, server: str, world: World
) -> None:
    n = next(_n)
    _tagged_patients(world, f"他人{n}", 100 + n)
    with tenant_session(world.a.id) as s:
        aud = create_audience(
            session=s, actor=world.admin_a, name=f"A人群{n}", expression=f"他人{n}"
        )
        aid = int(aud.id or 0)
        c = campaigns.create_campaign(
            session=s,
            actor=world.admin_a,
            data=campaigns.CampaignInput(name=f"A的活动{n}", audience_id=aid, channels=["inapp"]),
        )
        cid = int(c.id or 0)

    # Front-desk staff: the pages are not found, no nav entries.
    sign_in_staff(page, server, world.a.slug, world.staff_a.label)
    expect(page).to_have_url(re.compile(rf"/t/{world.a.slug}/admin$"))
    expect(page.locator("#nav-campaigns")).to_have_count(0)
    expect(page.locator("#nav-audiences")).to_have_count(0)
    for path in ("/admin/campaigns", "/admin/audiences", f"/admin/campaigns/{cid}/report"):
        page.goto(f"{server}/t/{world.a.slug}{path}")
        expect(page.locator("#not-found")).to_be_visible()

    # Tenant B's admin asks for A's campaign by id: the same not found, nothing shown.
    sign_in_staff(page, server, world.b.slug, world.admin_b.label)
    expect(page).to_have_url(re.compile(rf"/t/{world.b.slug}/admin$"))
    page.goto(f"{server}/t/{world.b.slug}/admin/campaigns/{cid}/report")
    expect(page.locator("#form-error")).to_contain_text(NOT_FOUND)
    expect(page.get_by_text(f"A的活动{n}")).to_have_count(0)
    page.goto(f"{server}/t/{world.b.slug}/admin/campaigns?campaign={cid}")
    expect(page.locator("#form-error")).to_contain_text(NOT_FOUND)
    expect(page.locator("#campaign-builder")).to_have_count(0)
    page.goto(f"{server}/t/{world.b.slug}/admin/audiences?audience={aid}")
    expect(page.locator("#form-error")).to_contain_text(NOT_FOUND)
    expect(page.get_by_text(f"A人群{n}")).to_have_count(0)


def _campaign_with_content(world: World, n: int, expression: str, per_minute: int) -> int:
    with tenant_session(world.a.id) as s:
        aud = create_audience(
            session=s, actor=world.admin_a, name=f"人群{n}-{per_minute}", expression=expression
        )
        c = campaigns.create_campaign(
            session=s,
            actor=world.admin_a,
            data=campaigns.CampaignInput(
                name=f"活动{n}-{per_minute}",
                audience_id=int(aud.id or 0),
                channels=["inapp"],
                per_minute=per_minute,
                quiet_start="00:00",
                quiet_end="00:00",
            ),
        )
        cid = int(c.id or 0)
        campaigns.set_content(
            session=s,
            actor=world.admin_a,
            campaign_id=cid,
            variant="A",
            channel="inapp",
            subject="通知",
            body="{patient_name}，您好。",
        )
    return cid


def _status(world: World, cid: int) -> str:
    with tenant_session(world.a.id) as s:
        return str(s.exec(select(Campaign).where(Campaign.id == cid)).one().status)


def test_controls_refuse_an_empty_audience_and_pause_resume_and_stop_a_send(
    page: Page, server: str, world: World
) -> None:
    n = 200 + next(_n)
    ids = _tagged_patients(world, f"控制{n}", n)
    with tenant_session(world.a.id) as s:
        tags.create_tag(session=s, actor=world.admin_a, data=tags.TagInput(name=f"空{n}"))
    empty = _campaign_with_content(world, n, f"空{n}", 60)
    slow = _campaign_with_content(world, n, f"控制{n}", 1)
    _admin(page, server, world, "/admin/campaigns")

    # Nobody to send to: refused with a message, still a draft.
    page.click(f"#start-{empty}")
    expect(page.locator("#form-error")).to_contain_text("没有可以接收营销消息的客户")
    assert _status(world, empty) == "draft"

    # One a minute: start, one released, pause holds the rest, resume, stop cancels.
    page.click(f"#start-{slow}")
    expect(page.locator(f"#status-{slow}")).to_contain_text("发送中")
    with tenant_session(world.a.id) as s:
        assert len(release_due(s, now=utcnow(), send=False).message_ids) == 1
    page.click(f"#pause-{slow}")
    expect(page.locator(f"#status-{slow}")).to_contain_text("已暂停")
    assert _status(world, slow) == "paused"
    with tenant_session(world.a.id) as s:
        later = utcnow().replace(microsecond=0)
        assert release_due(s, now=later.replace(year=later.year + 1), send=False).message_ids == []
    page.click(f"#resume-{slow}")
    expect(page.locator(f"#status-{slow}")).to_contain_text("发送中")
    page.click(f"#stop-{slow}")
    page.click(f"#confirm-stop-{slow}")
    expect(page.locator(f"#status-{slow}")).to_contain_text("已停止")
    with tenant_session(world.a.id) as s:
        rows = s.exec(select(CampaignRecipient).where(CampaignRecipient.campaign_id == slow)).all()
    assert sorted(str(r.status) for r in rows) == ["cancelled", "released"]
    assert {r.patient_id for r in rows} == {ids[0], ids[1]}
    # Stopped for good: no control but the report.
    expect(page.locator(f"#resume-{slow}")).to_have_count(0)
    expect(page.locator(f"#report-{slow}")).to_be_visible()


def test_builder_schedules_a_weekly_ab_campaign_from_a_template(
    page: Page, server: str, world: World
) -> None:
    n = 300 + next(_n)
    _tagged_patients(world, f"周报{n}", n)
    with tenant_session(world.a.id) as s:
        create_audience(session=s, actor=world.admin_a, name=f"周报人群{n}", expression=f"周报{n}")
    _admin(page, server, world, "/admin/campaigns")
    name = f"每周提醒{n}"
    page.click("#new-campaign")
    page.fill("#f-name", name)
    page.select_option("#f-audience_id", label=f"周报人群{n}")
    page.click("#mode-recurring")
    page.select_option("#f-recurrence", "weekly")
    page.select_option("#f-weekday", "2")
    page.fill("#f-at_time", "25:00")
    page.click("#ab-on")
    page.fill("#f-ab_split", "30")
    # "Start from a template" copies a template's wording into the editor.
    page.select_option("#tpl-A_inapp", index=1)
    expect(page.locator("#f-A_inapp_body")).not_to_have_value("")
    page.fill("#f-A_inapp_subject", "A 版")
    page.fill("#f-A_inapp_body", "{patient_name}，本周体检名额已开放。")
    page.fill("#f-B_inapp_subject", "B 版")
    page.fill("#f-B_inapp_body", "{patient_name}，点此预约：{link}")
    page.click("#save-campaign")
    expect(page.locator("#err-at_time")).to_contain_text("时间格式应为 HH:MM")
    with tenant_session(world.a.id) as s:
        assert s.exec(select(Campaign).where(Campaign.name == name)).first() is None

    page.fill("#f-at_time", "09:30")
    page.click("#save-campaign")
    expect(page.locator("#form-notice")).to_contain_text("已保存")
    with tenant_session(world.a.id) as s:
        c = s.exec(select(Campaign).where(Campaign.name == name)).one()
        cid = int(c.id or 0)
        assert (c.mode, c.recurrence, c.weekday, c.at_time, c.ab_split) == (
            "recurring",
            "weekly",
            2,
            "09:30",
            30,
        )
    with tenant_session(world.a.id) as s:
        got = campaigns.get_campaign(session=s, actor=world.admin_a, campaign_id=cid)
        assert {(r.variant, r.channel) for r in got.contents} == {("A", "inapp"), ("B", "inapp")}

    # Started, it waits for Wednesday 09:30 in the clinic's zone.
    page.click(f"#start-{cid}-detail")
    expect(page.locator("#builder-status")).to_contain_text("已排期")
    expect(page.locator("#next-run")).to_contain_text("09:30")
    assert _status(world, cid) == "scheduled"
