"""The outbox and the delivery pipeline, against a real SMTP server."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select, update

from prm_saas.accounts.models import Patient
from prm_saas.messaging.channels import ChannelError, Outbound
from prm_saas.messaging.delivery import BACKOFF, MAX_ATTEMPTS, deliver_batch
from prm_saas.messaging.models import (
    Channel,
    InboxItem,
    Message,
    MessageStatus,
    MessagingSettings,
    UsageCounter,
)
from prm_saas.messaging.outbox import NoAddress, claim_due, enqueue
from prm_saas.messaging.preferences import set_consent
from tenants.db import tenant_session
from tenants.resolution import TenantInfo
from tenants.types import utcnow
from tests.factories import World, make_patient
from tests.smtp_sink import MailSink

REMINDER = {"title": "复诊", "when": "12月1日 09:30", "note": "请空腹。"}
TIP = {"tip": "多喝水。"}


def settings(tenant: TenantInfo, **fields: Any) -> None:
    """Store the tenant's messaging settings (quiet hours off unless given)."""
    with tenant_session(tenant.id) as s:
        row = s.exec(select(MessagingSettings)).first() or MessagingSettings()
        row.quiet_start, row.quiet_end = "00:00", "00:00"
        for k, v in fields.items():
            setattr(row, k, v)
        s.add(row)


def quiet_now(tenant: TenantInfo) -> None:
    """Quiet hours that contain the present moment in the tenant's zone."""
    local = utcnow().astimezone(zoneinfo.ZoneInfo(tenant.timezone))
    start, end = local - timedelta(hours=1), local + timedelta(hours=1)
    settings(tenant, quiet_start=start.strftime("%H:%M"), quiet_end=end.strftime("%H:%M"))


def send(
    tenant: TenantInfo,
    patient_id: int,
    *,
    key: str = "care.reminder",
    channel: Channel = Channel.EMAIL,
    dedupe: str = "m1",
    urgent: bool = False,
    **kw: Any,
) -> int:
    """Enqueue one message due now; returns its id."""
    variables = REMINDER if key == "care.reminder" else TIP
    with tenant_session(tenant.id) as s:
        msg = enqueue(
            s,
            template_key=key,
            channel=channel,
            patient_id=patient_id,
            variables=variables,
            dedupe_key=dedupe,
            urgent=urgent,
            **kw,
        )
        assert msg.id is not None
        return msg.id


def dispatch(tenant: TenantInfo, **kw: Any) -> dict[str, int]:
    """Claim the tenant's due messages and deliver them (what the tasks do)."""
    with tenant_session(tenant.id) as s:
        ids = claim_due(s, now=utcnow(), limit=1000)
    return deliver_batch(tenant_id=tenant.id, message_ids=ids, **kw).counts


def message(tenant: TenantInfo, message_id: int) -> Message:
    with tenant_session(tenant.id) as s:
        return s.exec(select(Message).where(Message.id == message_id)).one()


# --- outbox -----------------------------------------------------------------------------


def test_enqueue_is_idempotent_on_the_dedupe_key(world: World) -> None:
    first = send(world.a, world.patient_a.id, dedupe="booking:1:confirm")
    again = send(world.a, world.patient_a.id, dedupe="booking:1:confirm")
    assert first == again
    with tenant_session(world.a.id) as s:
        assert len(s.exec(select(Message)).all()) == 1


def test_the_same_dedupe_key_in_two_tenants_is_two_messages(world: World) -> None:
    a = send(world.a, world.patient_a.id, dedupe="same")
    b = send(world.b, world.patient_b.id, dedupe="same")
    assert a != b


def test_claiming_twice_claims_each_due_row_once(world: World) -> None:
    # given two due messages and one for tomorrow
    send(world.a, world.patient_a.id, dedupe="d1")
    send(world.a, world.patient_a.id, dedupe="d2")
    send(world.a, world.patient_a.id, dedupe="later", due_at=utcnow() + timedelta(days=1))
    # when two dispatchers claim one after the other (as beat firing twice would)
    with tenant_session(world.a.id) as s:
        first = claim_due(s, now=utcnow(), limit=100)
    with tenant_session(world.a.id) as s:
        second = claim_due(s, now=utcnow(), limit=100)
    # then each due row was claimed exactly once and the future one not at all
    assert len(first) == 2
    assert second == []


def test_a_patient_without_an_email_cannot_be_emailed(world: World) -> None:
    p = make_patient(world.a, email=None)
    with pytest.raises(NoAddress), tenant_session(world.a.id) as s:
        enqueue(
            s,
            template_key="care.reminder",
            channel=Channel.EMAIL,
            patient_id=p.id,
            variables=REMINDER,
            dedupe_key="x",
        )


def test_enqueue_for_another_tenants_patient_finds_no_one(world: World) -> None:
    with pytest.raises(NoAddress), tenant_session(world.a.id) as s:
        enqueue(
            s,
            template_key="care.reminder",
            channel=Channel.INAPP,
            patient_id=world.patient_b.id,
            variables=REMINDER,
            dedupe_key="x",
        )


# --- delivery ---------------------------------------------------------------------------


def test_email_is_rendered_in_the_patients_language_and_sent_once(
    world: World, smtp_sink: MailSink
) -> None:
    settings(world.a)
    mid = send(world.a, world.patient_a.id)
    assert dispatch(world.a) == {"sent": 1}
    assert dispatch(world.a) == {}  # nothing left to send
    [mail] = smtp_sink.to("p@a.test")
    assert mail.subject == f"【{world.a.name}】提醒：复诊"
    assert "请空腹。" in mail.body
    msg = message(world.a, mid)
    assert msg.status == MessageStatus.SENT
    assert msg.provider_message_id == str(mail.message["Message-ID"])
    with tenant_session(world.a.id) as s:
        usage = s.exec(select(UsageCounter)).one()
    assert (usage.channel, usage.count) == (Channel.EMAIL, 1)


def test_in_app_message_lands_in_the_inbox_exactly_once(world: World) -> None:
    settings(world.a)
    mid = send(world.a, world.patient_a.id, channel=Channel.INAPP)
    dispatch(world.a)
    # a second delivery attempt of the same id (a duplicated task) changes nothing
    assert deliver_batch(tenant_id=world.a.id, message_ids=[mid]).counts == {"skipped": 1}
    with tenant_session(world.a.id) as s:
        items = s.exec(select(InboxItem)).all()
    assert [(i.patient_id, i.title) for i in items] == [(world.patient_a.id, "提醒：复诊")]


def test_a_stale_reminder_expires_instead_of_being_sent(world: World, smtp_sink: MailSink) -> None:
    settings(world.a)
    mid = send(world.a, world.patient_a.id, expires_at=utcnow() - timedelta(minutes=1))
    assert dispatch(world.a) == {"expired": 1}
    assert message(world.a, mid).status == MessageStatus.EXPIRED
    assert smtp_sink.messages == []


def test_quiet_hours_hold_a_message_until_the_window_ends(
    world: World, smtp_sink: MailSink
) -> None:
    quiet_now(world.a)
    mid = send(world.a, world.patient_a.id)
    assert dispatch(world.a) == {"held": 1}
    msg = message(world.a, mid)
    assert msg.status == MessageStatus.SCHEDULED
    assert msg.due_at > utcnow() + timedelta(minutes=30)
    assert smtp_sink.messages == []


def test_urgent_messages_ignore_quiet_hours(world: World, smtp_sink: MailSink) -> None:
    quiet_now(world.a)
    send(world.a, world.patient_a.id, urgent=True)
    assert dispatch(world.a) == {"sent": 1}


def test_a_message_whose_expiry_falls_inside_quiet_hours_expires(world: World) -> None:
    quiet_now(world.a)
    mid = send(world.a, world.patient_a.id, expires_at=utcnow() + timedelta(minutes=10))
    assert dispatch(world.a) == {"expired": 1}
    assert message(world.a, mid).status == MessageStatus.EXPIRED


def test_quiet_hours_follow_the_patients_own_time_zone(world: World) -> None:
    # given quiet hours that contain "now" in Shanghai, and a patient in New York
    quiet_now(world.a)
    p = make_patient(world.a, email="ny@a.test")
    with tenant_session(world.a.id) as s:
        s.exec(update(Patient).where(Patient.id == p.id).values(timezone="America/New_York"))  # type: ignore[call-overload]
    mid = send(world.a, p.id, channel=Channel.INAPP)
    # then the window is judged in New York (12-13 hours apart), where it is not quiet
    assert dispatch(world.a) == {"sent": 1}
    assert message(world.a, mid).recipient_tz == "America/New_York"


def test_marketing_respects_opt_out_but_transactional_still_goes(
    world: World, smtp_sink: MailSink
) -> None:
    settings(world.a)
    with tenant_session(world.a.id) as s:
        set_consent(
            s,
            patient_id=world.patient_a.id,
            channel=Channel.EMAIL,
            marketing=False,
            source="patient",
        )
    tip = send(world.a, world.patient_a.id, key="marketing.health_tip", dedupe="tip")
    reminder = send(world.a, world.patient_a.id, dedupe="rem")
    assert dispatch(world.a) == {"suppressed": 1, "sent": 1}
    assert message(world.a, tip).suppressed_reason == "opted_out"
    assert message(world.a, reminder).status == MessageStatus.SENT


def test_a_blocked_channel_suppresses_everything_on_it(world: World) -> None:
    settings(world.a)
    with tenant_session(world.a.id) as s:
        set_consent(
            s, patient_id=world.patient_a.id, channel=Channel.EMAIL, blocked=True, source="patient"
        )
    mid = send(world.a, world.patient_a.id)
    assert dispatch(world.a) == {"suppressed": 1}
    assert message(world.a, mid).suppressed_reason == "blocked"


def test_the_daily_cap_limits_marketing_per_patient(world: World) -> None:
    settings(world.a, daily_cap=2)
    ids = [
        send(
            world.a,
            world.patient_a.id,
            key="marketing.health_tip",
            channel=Channel.INAPP,
            dedupe=f"tip{i}",
        )
        for i in range(3)
    ]
    send(world.a, world.patient_a.id, channel=Channel.INAPP, dedupe="transactional")
    assert dispatch(world.a) == {"sent": 3, "suppressed": 1}
    assert message(world.a, ids[2]).suppressed_reason == "daily_cap"


def test_a_disabled_channel_suppresses(world: World) -> None:
    settings(world.a, email_enabled=False)
    mid = send(world.a, world.patient_a.id)
    assert dispatch(world.a) == {"suppressed": 1}
    assert message(world.a, mid).suppressed_reason == "channel_disabled"


class Flaky:
    """A channel adapter that fails the way it is told to (the provider side)."""

    def __init__(self, error: ChannelError | None) -> None:
        self.error = error
        self.sent: list[Outbound] = []

    def send(self, out: Outbound) -> str:
        self.sent.append(out)
        if self.error is not None:
            raise self.error
        return f"p-{out.message_id}"

    def close(self) -> None:
        pass


def test_transient_provider_errors_are_retried_with_back_off_then_fail(world: World) -> None:
    settings(world.a)
    mid = send(world.a, world.patient_a.id)
    flaky = Flaky(ChannelError("503 busy", transient=True))
    assert dispatch(world.a, adapters=lambda _c: flaky) == {"retry": 1}
    msg = message(world.a, mid)
    assert msg.status == MessageStatus.SCHEDULED
    assert msg.error == "503 busy"
    assert msg.due_at >= utcnow() + BACKOFF[0] - timedelta(seconds=5)
    for _ in range(MAX_ATTEMPTS - 1):
        with tenant_session(world.a.id) as s:
            s.exec(update(Message).where(Message.id == mid).values(due_at=utcnow()))  # type: ignore[call-overload]
        dispatch(world.a, adapters=lambda _c: flaky)
    msg = message(world.a, mid)
    assert (msg.status, msg.attempts) == (MessageStatus.FAILED, MAX_ATTEMPTS)
    assert len(flaky.sent) == MAX_ATTEMPTS


def test_a_permanent_provider_error_fails_at_once_with_the_error(world: World) -> None:
    settings(world.a)
    mid = send(world.a, world.patient_a.id)
    assert dispatch(
        world.a, adapters=lambda _c: Flaky(ChannelError("recipient refused", transient=False))
    ) == {"failed": 1}
    msg = message(world.a, mid)
    assert (msg.status, msg.error) == (MessageStatus.FAILED, "recipient refused")


def test_smtp_down_is_transient(world: World, smtp_down: None) -> None:
    settings(world.a)
    mid = send(world.a, world.patient_a.id)
    assert dispatch(world.a) == {"retry": 1}
    assert "SMTP" in message(world.a, mid).error


def test_a_send_whose_worker_died_is_claimed_again_with_the_same_key(world: World) -> None:
    # given a message a worker took ("sending") and then died with, its lease over
    settings(world.a)
    mid = send(world.a, world.patient_a.id)
    with tenant_session(world.a.id) as s:
        s.exec(
            update(Message)
            .where(Message.id == mid)
            .values(  # type: ignore[call-overload]
                status=MessageStatus.SENDING, lease_until=utcnow() - timedelta(seconds=1)
            )
        )
    # when the dispatcher runs again
    with tenant_session(world.a.id) as s:
        reclaimed = claim_due(s, now=utcnow(), limit=10)
    flaky = Flaky(None)
    deliver_batch(tenant_id=world.a.id, message_ids=reclaimed, adapters=lambda _c: flaky)
    # then it is sent, under the message's one idempotency key
    assert reclaimed == [mid]
    assert [o.idempotency_key for o in flaky.sent] == [f"prm-{world.a.id}-{mid}"]
    assert message(world.a, mid).status == MessageStatus.SENT


def test_a_live_lease_is_not_claimed(world: World) -> None:
    settings(world.a)
    mid = send(world.a, world.patient_a.id)
    with tenant_session(world.a.id) as s:
        s.exec(
            update(Message)
            .where(Message.id == mid)
            .values(  # type: ignore[call-overload]
                status=MessageStatus.SENDING, lease_until=utcnow() + timedelta(minutes=5)
            )
        )
    with tenant_session(world.a.id) as s:
        assert claim_due(s, now=utcnow(), limit=10) == []


def test_another_tenants_message_ids_deliver_nothing(world: World, smtp_sink: MailSink) -> None:
    # given a due, claimed message of tenant B
    settings(world.b)
    mid_b = send(world.b, world.patient_b.id)
    with tenant_session(world.b.id) as s:
        claim_due(s, now=utcnow(), limit=10)
    # when tenant A's delivery is handed B's id (a forged or misrouted task)
    result = deliver_batch(tenant_id=world.a.id, message_ids=[mid_b])
    # then nothing is sent and B's message is untouched
    assert result.counts == {"skipped": 1}
    assert smtp_sink.messages == []
    assert message(world.b, mid_b).status == MessageStatus.QUEUED


def test_claiming_in_one_tenant_never_sees_the_other(world: World) -> None:
    send(world.b, world.patient_b.id)
    with tenant_session(world.a.id) as s:
        assert claim_due(s, now=utcnow(), limit=10) == []


def test_a_resend_carries_the_first_rendering_even_if_the_wording_changed(world: World) -> None:
    from prm_saas.messaging.templates import save_template

    # given a message sent once (the worker then died before recording it)
    settings(world.a, sms_enabled=True)
    mid = send(world.a, world.patient_a.id, channel=Channel.SMS)
    first = Flaky(ChannelError("timeout", transient=True))
    dispatch(world.a, adapters=lambda _c: first)
    # and the tenant rewords the template meanwhile
    with tenant_session(world.a.id) as s:
        save_template(
            session=s,
            actor=world.admin_a,
            key="care.reminder",
            channel="sms",
            locale="zh-CN",
            subject="",
            body="新措辞 {title}",
        )
        s.exec(update(Message).where(Message.id == mid).values(due_at=utcnow()))  # type: ignore[call-overload]
    # when it is sent again
    again = Flaky(None)
    dispatch(world.a, adapters=lambda _c: again)
    # then the same key carries the same text as the first attempt
    assert [o.body for o in again.sent] == [o.body for o in first.sent]
    assert again.sent[0].idempotency_key == first.sent[0].idempotency_key
