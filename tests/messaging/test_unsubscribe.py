"""Unsubscribe links (RFC 8058): the page, the one-click POST from a mail client, and
tokens that must not act on another tenant or a patient who does not exist."""

from __future__ import annotations

import html
import re

import httpx
import pytest
from sqlmodel import select

from prm_saas.audit.models import AuditEvent
from prm_saas.messaging.models import Channel, ContactPreference, MessageStatus
from prm_saas.messaging.outbox import enqueue
from prm_saas.messaging.preferences import unsubscribe_token
from tenants.db import tenant_session
from tenants.models import TenantStatus
from tenants.resolution import TenantInfo
from tests.factories import World, change_status, make_admin, make_patient, make_tenant
from tests.sms_provider import load_message, send_due
from tests.smtp_sink import MailSink

UNSUBSCRIBE = "/api/messaging/unsubscribe"


def marketing(tenant: TenantInfo, patient_id: int, channel: Channel) -> bool:
    """Whether the patient still takes marketing on the channel (the default: yes)."""
    with tenant_session(tenant.id) as s:
        pref = s.exec(
            select(ContactPreference).where(
                ContactPreference.patient_id == patient_id, ContactPreference.channel == channel
            )
        ).first()
        return pref is None or pref.marketing


def enqueue_email(tenant: TenantInfo, patient_id: int, template_key: str, key: str) -> int:
    """An urgent email for the patient (quiet hours do not hold it)."""
    variables = (
        {"tip": "多喝水。"}
        if template_key == "marketing.health_tip"
        else {"title": "复诊", "when": "明天 9:00", "note": ""}
    )
    with tenant_session(tenant.id) as s:
        msg = enqueue(
            s,
            template_key=template_key,
            channel=Channel.EMAIL,
            patient_id=patient_id,
            variables=variables,
            dedupe_key=key,
            urgent=True,
        )
        assert msg.id is not None
        return msg.id


def link(base_url: str, token: str) -> str:
    """The unsubscribe link for ``token``."""
    return f"{base_url}{UNSUBSCRIBE}?t={token}"


def test_the_link_in_a_marketing_mail_unsubscribes_with_one_click(
    world: World, app_server: str, smtp_sink: MailSink
) -> None:
    # given tenant A sent a marketing email
    enqueue_email(world.a, world.patient_a.id, "marketing.health_tip", "tip-1")
    assert send_due(world.a) == {"sent": 1}
    mail = smtp_sink.last_to("p@a.test")
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = str(mail.message["List-Unsubscribe"]).strip("<>")
    assert url.startswith(f"{app_server}{UNSUBSCRIBE}?t=")
    # when the mail client makes the RFC 8058 one-click request (no cookies)
    r = httpx.post(url, data={"List-Unsubscribe": "One-Click"})
    # then the patient is unsubscribed from marketing email at A, and told so
    assert r.status_code == 200
    assert "已退订" in r.text
    assert "promotional email messages" in r.text
    assert not marketing(world.a, world.patient_a.id, Channel.EMAIL)
    assert marketing(world.a, world.patient_a.id, Channel.SMS)
    assert marketing(world.b, world.patient_b.id, Channel.EMAIL)
    # and the next marketing mail is suppressed while a reminder still goes out
    tip = enqueue_email(world.a, world.patient_a.id, "marketing.health_tip", "tip-2")
    reminder = enqueue_email(world.a, world.patient_a.id, "care.reminder", "reminder-1")
    assert send_due(world.a) == {"suppressed": 1, "sent": 1}
    tip_msg = load_message(world.a, tip)
    assert (tip_msg.status, tip_msg.suppressed_reason) == (MessageStatus.SUPPRESSED, "opted_out")
    assert load_message(world.a, reminder).status == MessageStatus.SENT


def test_the_page_asks_first_and_its_button_unsubscribes(world: World, app_server: str) -> None:
    # given a patient's unsubscribe link
    token = unsubscribe_token(world.a.id, world.patient_a.id, Channel.EMAIL)
    # when they open it
    page = httpx.get(link(app_server, token))
    # then a page in both languages asks, with a button that POSTs, and nothing has changed yet
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "<script" not in page.text
    assert "不再接收阳光社区诊所的邮件推广信息？" in page.text
    assert "Stop promotional email messages from 阳光社区诊所?" in page.text
    assert "确认退订 / Unsubscribe" in page.text
    assert marketing(world.a, world.patient_a.id, Channel.EMAIL)
    form = re.search(r'<form method="post" action="([^"]+)">', page.text)
    assert form is not None
    # when they press the button (the browser posts the form to its action)
    action = httpx.URL(link(app_server, token)).join(html.unescape(form.group(1)))
    done = httpx.post(action, data={"List-Unsubscribe": "One-Click"})
    # then they are unsubscribed, and the audit log says how
    assert done.status_code == 200
    assert "已退订：您将不再收到阳光社区诊所的邮件推广信息。" in done.text
    assert not marketing(world.a, world.patient_a.id, Channel.EMAIL)
    with tenant_session(world.a.id) as s:
        pref = s.exec(select(ContactPreference)).one()
        assert (pref.source, pref.blocked) == ("link", False)
        actions = [e.action for e in s.exec(select(AuditEvent)).all()]
    assert "messaging.unsubscribed" in actions


def test_unsubscribing_twice_is_harmless(world: World, app_server: str) -> None:
    # given a patient who already unsubscribed from marketing texts
    token = unsubscribe_token(world.a.id, world.patient_a.id, Channel.SMS)
    assert httpx.post(link(app_server, token)).status_code == 200
    # when the link is used again
    r = httpx.post(link(app_server, token))
    # then it says the same and nothing else changes
    assert r.status_code == 200
    assert "短信" in r.text
    assert not marketing(world.a, world.patient_a.id, Channel.SMS)


def test_the_tenant_name_is_escaped_on_the_page(app_server: str) -> None:
    # given a tenant whose name contains markup
    t = make_tenant("evil-clinic", name='<script>alert("x")</script>诊所')
    make_admin(t)
    patient = make_patient(t)
    token = unsubscribe_token(t.id, patient.id, Channel.EMAIL)
    # when its patient opens the page, and unsubscribes
    for r in (httpx.get(link(app_server, token)), httpx.post(link(app_server, token))):
        # then the name is shown as text, never as markup
        assert r.status_code == 200
        assert "<script" not in r.text
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;诊所" in r.text


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "1.2.email", "1.2.email.AAAAAAAAAAAAAAAAAAAAAAAA", "1.2.fax.sig", "a.b.c.d"],
)
def test_a_bad_token_is_a_404_page(world: World, app_server: str, token: str) -> None:
    # given a token nobody signed
    # when it is opened or posted
    for r in (httpx.get(link(app_server, token)), httpx.post(link(app_server, token))):
        # then the page says the link is not valid, in both languages
        assert r.status_code == 404
        assert "退订链接无效" in r.text
        assert "not valid" in r.text
    assert marketing(world.a, world.patient_a.id, Channel.EMAIL)


def test_a_token_of_tenant_a_cannot_be_altered_to_act_on_tenant_b(
    world: World, app_server: str
) -> None:
    # given A's patient's token, with its tenant and patient replaced by B's
    token = unsubscribe_token(world.a.id, world.patient_a.id, Channel.EMAIL)
    _tid, _pid, channel, signature = token.split(".")
    forged = f"{world.b.id}.{world.patient_b.id}.{channel}.{signature}"
    forged_tenant_only = f"{world.b.id}.{world.patient_a.id}.{channel}.{signature}"
    for bad in (forged, forged_tenant_only):
        # when the forged token is posted
        r = httpx.post(link(app_server, bad))
        # then the signature does not match: nothing happens in either tenant
        assert r.status_code == 404
    assert marketing(world.b, world.patient_b.id, Channel.EMAIL)
    assert marketing(world.a, world.patient_a.id, Channel.EMAIL)


def test_a_validly_signed_token_for_a_patient_not_in_that_tenant_is_404(
    world: World, app_server: str
) -> None:
    # given signed tokens naming a patient id that does not exist, and B's patient under A
    missing = unsubscribe_token(world.a.id, 999_999, Channel.EMAIL)
    other_tenants = unsubscribe_token(world.a.id, world.patient_b.id, Channel.EMAIL)
    no_tenant = unsubscribe_token(999_999, world.patient_a.id, Channel.EMAIL)
    for token in (missing, other_tenants, no_tenant):
        # when they are opened or posted
        for r in (httpx.get(link(app_server, token)), httpx.post(link(app_server, token))):
            # then they are not found, and nothing is written
            assert r.status_code == 404
    assert marketing(world.b, world.patient_b.id, Channel.EMAIL)
    with tenant_session(world.a.id) as s:
        assert s.exec(select(ContactPreference)).all() == []


def test_a_suspended_tenants_patient_can_still_unsubscribe(world: World, app_server: str) -> None:
    # given tenant A is suspended
    change_status(world.a, TenantStatus.SUSPENDED)
    token = unsubscribe_token(world.a.id, world.patient_a.id, Channel.EMAIL)
    # when its patient uses the link
    r = httpx.post(link(app_server, token))
    # then the opt-out is recorded all the same
    assert r.status_code == 200
    assert not marketing(world.a, world.patient_a.id, Channel.EMAIL)
