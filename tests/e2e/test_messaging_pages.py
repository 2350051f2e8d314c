"""The messaging pages in a real browser: the admin's delivery log, template
editor and settings; the patient's inbox and preferences.

Messages are arranged in this process through the engine's own services
(enqueue, claim_due, deliver_batch) on the database the server shares. Set
PRM_SCREENSHOTS=<dir> to keep screenshots of the pages along the way.
"""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from prm_saas.accounts.authz import Principal
from prm_saas.accounts.models import Patient
from prm_saas.messaging.delivery import deliver_batch
from prm_saas.messaging.models import (
    Channel,
    ContactPreference,
    InboxItem,
    Message,
    MessageStatus,
    MessageTemplate,
    MessagingSettings,
)
from prm_saas.messaging.outbox import claim_due, enqueue
from prm_saas.messaging.preferences import count_usage
from tenants.db import tenant_session
from tenants.models import TenantStatus
from tenants.resolution import TenantInfo
from tenants.types import utcnow
from tests.factories import PASSWORD, World, change_status, make_patient, make_tenant

pytestmark = pytest.mark.e2e
_n = itertools.count(1)
PHONE = {"width": 390, "height": 844}


def shot(page: Page, name: str, *, english: bool = False) -> None:
    """Keep a screenshot when PRM_SCREENSHOTS names a directory; ``english`` also
    keeps one in English (through the language cookie only, so the account's
    language stays as it is; the page is reloaded for it)."""
    where = os.environ.get("PRM_SCREENSHOTS")
    if not where:
        return
    Path(where).mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(400)  # let transitions settle
    page.screenshot(path=str(Path(where) / f"{name}.png"), full_page=True)
    if english:
        host = re.sub(r"^https?://([^:/]+).*$", r"\1", page.url)
        page.context.add_cookies([{"name": "prm_lang", "value": "en", "domain": host, "path": "/"}])
        page.reload()
        page.wait_for_timeout(1500)
        page.screenshot(path=str(Path(where) / f"{name}-en.png"), full_page=True)
        page.context.add_cookies([{"name": "prm_lang", "value": "", "domain": host, "path": "/"}])


def sign_in_staff(page: Page, server: str, tenant: TenantInfo, email: str) -> None:
    page.goto(f"{server}/t/{tenant.slug}/admin/login")
    page.fill("#f-email", email)
    page.fill("#f-password", PASSWORD)
    page.click("#submit")
    expect(page.locator("#admin-welcome")).to_be_visible()


def sign_in_patient(page: Page, server: str, tenant: TenantInfo, identifier: str) -> None:
    page.set_viewport_size(PHONE)
    page.goto(f"{server}/t/{tenant.slug}/login")
    page.fill("#f-identifier", identifier)
    page.fill("#f-password", PASSWORD)
    page.click("#submit")
    expect(page.locator("#patient-hello")).to_be_visible()


def fresh_patient(tenant: TenantInfo, **kw: object) -> Principal:
    return make_patient(tenant, phone=f"+86136{next(_n):08d}", **kw)  # type: ignore[arg-type]


def deliver_in_app(tenant: TenantInfo, patient_id: int, title: str) -> int:
    """Enqueue a reminder in the patient's inbox and deliver it as the dispatcher
    would (claim, then deliver the batch); returns the inbox item's id."""
    with tenant_session(tenant.id) as s:
        msg = enqueue(
            s,
            template_key="care.reminder",
            channel=Channel.INAPP,
            patient_id=patient_id,
            variables={"title": title, "when": "2026-12-01 09:30", "note": "请空腹。"},
            dedupe_key=f"e2e:{tenant.slug}:{patient_id}:{title}",
            urgent=True,  # whatever the hour of the test run, no quiet hours
        )
        message_id = msg.id
    with tenant_session(tenant.id) as s:
        claimed = claim_due(s, now=utcnow(), limit=100)
    assert message_id in claimed
    deliver_batch(tenant_id=tenant.id, message_ids=claimed)
    with tenant_session(tenant.id) as s:
        item = s.exec(select(InboxItem).where(InboxItem.message_id == message_id)).one()
        assert item.id is not None
        return item.id


def inbox_item(tenant: TenantInfo, item_id: int) -> InboxItem:
    with tenant_session(tenant.id) as s:
        item = s.exec(select(InboxItem).where(InboxItem.id == item_id)).one()
        s.expunge(item)
        return item


# --- admin -------------------------------------------------------------------------------------


def test_admin_edits_a_template_sees_the_unknown_variable_then_both_previews_and_saves(
    page: Page, server: str, world: World
) -> None:
    # given tenant A's admin on the template page
    sign_in_staff(page, server, world.a, world.admin_a.label)
    page.goto(f"{server}/t/{world.a.slug}/admin/templates")
    row = page.locator("[id='tpl-care.reminder-email-zh-CN']")
    expect(row).to_contain_text("默认")
    shot(page, "admin-templates")

    # when they open the care reminder's email wording
    row.get_by_role("button", name="编辑").click()
    expect(page.locator("#tpl-variables")).to_contain_text("{when}")
    # then both languages are previewed with sample values
    expect(page.locator("#preview-zh-body")).to_contain_text("复诊")
    expect(page.locator("#preview-en-body")).to_contain_text("Dear 李娜")

    # when they use a variable the template does not have
    page.fill("#tpl-zh_body", "{patient_name}您好：{visit_time} 请到院{title}。")
    # then the field names the unknown variable (while typing and on save)
    expect(page.locator("#err-zh_body")).to_contain_text("visit_time")
    page.click("#save-template")
    expect(page.locator("#err-zh_body")).to_contain_text("visit_time")
    shot(page, "admin-template-error")
    with tenant_session(world.a.id) as s:
        assert s.exec(select(MessageTemplate)).all() == []

    # when they fix it, and change the English subject too
    page.fill("#tpl-zh_body", "{patient_name}您好：{when} 请到院{title}。")
    page.fill("#tpl-en_subject", "[{tenant_name}] See you at {when}")
    # then the previews show both new wordings rendered
    expect(page.locator("#err-zh_body")).to_have_count(0)
    expect(page.locator("#preview-zh-body")).to_have_text("李娜您好：2026-12-01 09:30 请到院复诊。")
    expect(page.locator("#preview-en-subject")).to_have_text(
        f"[{world.a.name}] See you at 2026-12-01 09:30"
    )
    shot(page, "admin-template-previews")

    # when they save
    page.click("#save-template")
    # then both languages are stored, the table says so, and the rest stays default
    expect(page.locator("#form-notice")).to_contain_text("模板已保存")
    expect(row).to_contain_text("已自定义")
    with tenant_session(world.a.id) as s:
        saved = {
            (r.key, r.channel, r.locale): (r.subject, r.body)
            for r in s.exec(select(MessageTemplate)).all()
        }
    assert saved[("care.reminder", "email", "zh-CN")][1] == (
        "{patient_name}您好：{when} 请到院{title}。"
    )
    assert saved[("care.reminder", "email", "en")][0] == "[{tenant_name}] See you at {when}"
    assert len(saved) == 2

    # and the English one can go back to the default
    page.locator("[id='reset-care.reminder-email-en']").click()
    expect(page.locator("#form-notice")).to_contain_text("已恢复默认文案")
    with tenant_session(world.a.id) as s:
        assert len(s.exec(select(MessageTemplate)).all()) == 1
    shot(page, "admin-templates-after", english=True)


def test_delivery_log_shows_a_failed_message_and_retry_schedules_it_again(
    page: Page, server: str, world: World
) -> None:
    # given a reminder email to a patient of tenant A that failed for good
    patient = fresh_patient(world.a, email=f"fail{next(_n)}@example.com")
    with tenant_session(world.a.id) as s:
        msg = enqueue(
            s,
            template_key="care.reminder",
            channel=Channel.EMAIL,
            patient_id=patient.id,
            variables={"title": "复诊", "when": "明天 9:00", "note": ""},
            dedupe_key=f"e2e:failed:{patient.id}",
        )
        msg.status, msg.attempts = MessageStatus.FAILED, 5
        msg.error = "smtp: 550 mailbox unavailable"
        s.add(msg)
        count_usage(s, channel=Channel.EMAIL, month=utcnow().strftime("%Y-%m"), n=7)
        message_id = msg.id

    # when the admin opens the delivery log and filters for failed messages
    sign_in_staff(page, server, world.a, world.admin_a.label)
    page.goto(f"{server}/t/{world.a.slug}/admin/messages")
    expect(page.locator("#usage-table")).to_contain_text(utcnow().strftime("%Y-%m"))
    page.select_option("#filter-status", "failed")
    page.click("#apply-filters")

    # then the message is listed as failed, with its template name and reason
    row = page.locator(f"#msg-{message_id}")
    expect(row).to_contain_text("失败")
    expect(row).to_contain_text("就诊 / 随访提醒")
    expect(row).to_contain_text("550 mailbox unavailable")
    expect(page.locator("#message-log [data-status='sent']")).to_have_count(0)
    shot(page, "admin-delivery-log")

    # when they retry it
    page.click(f"#retry-{message_id}")
    # then it is scheduled again with fresh attempts
    expect(page.locator("#form-notice")).to_contain_text("已重新排队")
    with tenant_session(world.a.id) as s:
        again = s.exec(select(Message).where(Message.id == message_id)).one()
        assert (again.status, again.attempts, again.error) == (MessageStatus.SCHEDULED, 0, "")
    # and it leaves the failed filter's list
    expect(row).to_have_count(0)
    page.click("#filter-clear")
    shot(page, "admin-delivery-log-all", english=True)


def test_admin_changes_quiet_hours_and_cap_and_bad_time_is_refused(
    page: Page, server: str, world: World
) -> None:
    # given tenant A's admin on the messaging settings page
    sign_in_staff(page, server, world.a, world.admin_a.label)
    page.goto(f"{server}/t/{world.a.slug}/admin/messaging-settings")
    expect(page.locator("#f-quiet_start")).to_have_value("21:00")

    # when they type an hour that does not exist
    page.fill("#f-quiet_start", "25:00")
    page.click("#save-messaging")
    # then the field says how times look, and nothing is stored
    expect(page.locator("#err-quiet_start")).to_contain_text("HH:MM")
    shot(page, "admin-messaging-settings-error")
    with tenant_session(world.a.id) as s:
        assert s.exec(select(MessagingSettings)).first() is None

    # when they enter real times and a cap
    page.fill("#f-quiet_start", "22:30")
    page.fill("#f-quiet_end", "07:00")
    page.fill("#f-daily_cap", "5")
    page.click("#save-messaging")
    # then they are stored, and the switches left alone keep their values
    expect(page.locator("#form-notice")).to_contain_text("已保存")
    with tenant_session(world.a.id) as s:
        row = s.exec(select(MessagingSettings)).one()
        assert (row.quiet_start, row.quiet_end, row.daily_cap) == ("22:30", "07:00", 5)
        assert (row.email_enabled, row.sms_enabled, row.marketing_default) == (True, False, True)
    page.reload()
    expect(page.locator("#f-quiet_start")).to_have_value("22:30")
    expect(page.locator("#f-daily_cap")).to_have_value("5")
    shot(page, "admin-messaging-settings", english=True)


# --- patient -----------------------------------------------------------------------------------


def test_patient_reads_an_in_app_message_and_the_unread_badge_clears(
    page: Page, server: str
) -> None:
    # given a patient with one message delivered to their inbox
    tenant = make_tenant(f"dawn{next(_n)}", name="晨曦门诊部")
    patient = fresh_patient(tenant)
    item_id = deliver_in_app(tenant, patient.id, "复诊")

    # when they sign in
    sign_in_patient(page, server, tenant, patient.label)
    # then the bottom navigation shows one unread message
    expect(page.locator("#inbox-badge")).to_have_text("1")
    shot(page, "patient-home")

    # when they open the inbox
    page.click("#nav-inbox")
    item = page.locator(f"#inbox-{item_id}")
    expect(item).to_have_attribute("data-unread", "1")
    expect(item).to_contain_text("提醒：复诊")
    shot(page, "patient-inbox")

    # and tap the message
    item.click()
    # then it opens, is marked read, and the badge is gone
    expect(page.locator(f"#inbox-body-{item_id}")).to_contain_text("时间 2026-12-01 09:30")
    expect(item).to_have_attribute("data-unread", "0")
    expect(page.locator("#inbox-badge")).to_have_count(0)
    assert inbox_item(tenant, item_id).read_at is not None
    shot(page, "patient-inbox-open")

    # when two more arrive and they mark everything read
    second = deliver_in_app(tenant, patient.id, "体检报告已出")
    third = deliver_in_app(tenant, patient.id, "疫苗接种")
    page.reload()
    expect(page.locator("#inbox-badge")).to_have_text("2")
    # newest first
    ids = page.locator("#inbox-list > div").evaluate_all("els => els.map(e => e.id)")
    assert ids[:3] == [f"inbox-{third}", f"inbox-{second}", f"inbox-{item_id}"]
    page.click("#mark-all-read")
    expect(page.locator("#inbox-badge")).to_have_count(0)
    assert inbox_item(tenant, second).read_at is not None
    assert inbox_item(tenant, third).read_at is not None
    shot(page, "patient-inbox-all-read", english=True)


def test_patient_turns_off_marketing_sms_and_changes_email(
    page: Page, server: str, world: World
) -> None:
    # given a patient of tenant A with a phone and no email, on their preferences
    patient = fresh_patient(world.a)
    sign_in_patient(page, server, world.a, patient.label)
    page.click("#home-preferences")
    sms_marketing = page.locator("#marketing-sms")
    expect(sms_marketing).to_have_attribute("data-state", "checked")
    expect(page.locator("#receive-inapp")).to_be_disabled()

    # when they turn off health tips and offers by SMS
    sms_marketing.click()
    # then that is stored, and SMS itself stays on
    expect(page.locator("#prefs-notice")).to_contain_text("偏好已保存")
    expect(sms_marketing).to_have_attribute("data-state", "unchecked")
    with tenant_session(world.a.id) as s:
        pref = s.exec(
            select(ContactPreference).where(
                ContactPreference.patient_id == patient.id,
                ContactPreference.channel == Channel.SMS,
            )
        ).one()
        assert (pref.marketing, pref.blocked) == (False, False)

    # when they enter an email that is not one
    page.fill("#f-email", "lin.at.example.com")
    page.click("#save-contact")
    # then it is refused and nothing is stored
    expect(page.locator("#err-email")).to_contain_text("邮箱格式不正确")
    shot(page, "patient-preferences-error")

    # when they enter another patient's email
    page.fill("#f-email", "p@a.test")  # tenant A's world patient
    page.click("#save-contact")
    expect(page.locator("#err-email")).to_contain_text("已在本机构注册")

    # when they enter a valid one of their own
    email = f"lin{next(_n)}@example.com"
    page.fill("#f-email", email)
    page.click("#save-contact")
    # then it is stored and shown
    expect(page.locator("#form-notice")).to_contain_text("联系方式已更新")
    expect(page.locator("#f-email")).to_have_value(email)
    with tenant_session(world.a.id) as s:
        stored = s.exec(select(Patient).where(Patient.id == patient.id)).one()
        assert stored.email == email
    shot(page, "patient-preferences", english=True)


def test_patient_of_tenant_a_rewriting_the_item_id_to_tenant_b_gets_not_found(
    page: Page, server: str, world: World
) -> None:
    # given a message in the inbox of a patient of A, and one in tenant B's
    patient = fresh_patient(world.a)
    mine = deliver_in_app(world.a, patient.id, "复诊")
    victim = deliver_in_app(world.b, world.patient_b.id, f"B 的私密消息 {next(_n)}")
    sign_in_patient(page, server, world.a, patient.label)
    page.goto(f"{server}/t/{world.a.slug}/inbox")
    expect(page.locator(f"#inbox-{mine}")).to_be_visible()

    # when the client rewrites the outgoing event to name B's inbox item
    page.evaluate(
        """(victim) => { window.__reflex_otel = { onEventSend: (ev) => {
               if (ev.name.endsWith('.open_item')) { ev.payload.item_id = victim; }
           } }; }""",
        victim,
    )
    page.click(f"#inbox-{mine}")

    # then the server answers "not found", shows nothing of B's, and B's item stays unread
    expect(page.locator("#form-error")).to_contain_text("未找到该记录")
    expect(page.get_by_text(re.compile("B 的私密消息"))).to_have_count(0)
    assert inbox_item(world.b, victim).read_at is None
    assert inbox_item(world.a, mine).read_at is None


def test_patient_of_a_suspended_tenant_can_still_read_the_inbox(page: Page, server: str) -> None:
    # given a message delivered before the tenant was suspended
    tenant = make_tenant(f"paused{next(_n)}", name="暂停体检中心")
    patient = fresh_patient(tenant)
    item_id = deliver_in_app(tenant, patient.id, "体检报告已出")
    change_status(tenant, TenantStatus.SUSPENDED)

    # when the patient opens it
    sign_in_patient(page, server, tenant, patient.label)
    page.click("#nav-inbox")
    page.click(f"#inbox-{item_id}")

    # then they can read it, though nothing is written
    expect(page.locator(f"#inbox-body-{item_id}")).to_contain_text("时间 2026-12-01 09:30")
    expect(page.locator("#form-error")).to_have_count(0)
    assert inbox_item(tenant, item_id).read_at is None
