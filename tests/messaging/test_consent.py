"""Consent per channel, STOP replies, unsubscribe tokens, usage counters."""

from __future__ import annotations

import pytest
from sqlmodel import select

from prm_saas.audit.models import AuditEvent
from prm_saas.messaging.models import Channel, ContactPreference
from prm_saas.messaging.preferences import (
    count_usage,
    my_consents,
    read_unsubscribe_token,
    set_my_consent,
    stop_reply,
    unsubscribe,
    unsubscribe_token,
    update_messaging_settings,
    usage_report,
)
from tenants.db import tenant_session
from tenants.errors import FieldErrors, NotFound, PermissionDenied
from tests.factories import World


def test_a_patient_sees_defaults_then_their_own_choices(world: World) -> None:
    with tenant_session(world.a.id) as s:
        before = {
            c.channel: (c.marketing, c.blocked)
            for c in my_consents(session=s, actor=world.patient_a)
        }
        set_my_consent(
            session=s, actor=world.patient_a, channel="sms", marketing=False, enabled=False
        )
        after = {
            c.channel: (c.marketing, c.blocked)
            for c in my_consents(session=s, actor=world.patient_a)
        }
    assert before == {"email": (True, False), "sms": (True, False), "inapp": (True, False)}
    assert after["sms"] == (False, True)


def test_the_inbox_cannot_be_blocked(world: World) -> None:
    with tenant_session(world.a.id) as s:
        c = set_my_consent(
            session=s, actor=world.patient_a, channel="inapp", marketing=False, enabled=False
        )
    assert (c.marketing, c.blocked) == (False, False)


def test_consent_is_per_tenant(world: World) -> None:
    with tenant_session(world.a.id) as s:
        set_my_consent(
            session=s, actor=world.patient_a, channel="email", marketing=False, enabled=True
        )
    with tenant_session(world.b.id) as s:
        assert s.exec(select(ContactPreference)).all() == []
        with pytest.raises(NotFound):
            set_my_consent(
                session=s, actor=world.patient_a, channel="email", marketing=True, enabled=True
            )


def test_staff_cannot_use_the_patient_consent_service(world: World) -> None:
    with pytest.raises(PermissionDenied), tenant_session(world.a.id) as s:
        my_consents(session=s, actor=world.staff_a)


@pytest.mark.parametrize("word", ["STOP", "stop", " 退订 ", "T", "TD"])
def test_a_stop_reply_blocks_sms_and_is_audited(world: World, word: str) -> None:
    with tenant_session(world.a.id) as s:
        who = stop_reply(s, phone="138 0000 0001", text=word)
    assert who == world.patient_a.id
    with tenant_session(world.a.id) as s:
        pref = s.exec(select(ContactPreference)).one()
        actions = s.exec(select(AuditEvent.action)).all()
    assert (pref.channel, pref.blocked, pref.source) == (Channel.SMS, True, "stop_reply")
    assert "messaging.stop_reply" in actions


def test_other_replies_and_unknown_numbers_change_nothing(world: World) -> None:
    with tenant_session(world.a.id) as s:
        assert stop_reply(s, phone="+8613800000001", text="谢谢") is None
        assert stop_reply(s, phone="+8613999999999", text="STOP") is None
        assert s.exec(select(ContactPreference)).all() == []


def test_a_stop_in_one_tenant_leaves_the_same_phone_in_another_alone(world: World) -> None:
    # patient_a and patient_b share the phone +8613800000001
    with tenant_session(world.b.id) as s:
        stop_reply(s, phone="+8613800000001", text="STOP")
    with tenant_session(world.a.id) as s:
        assert s.exec(select(ContactPreference)).all() == []


def test_unsubscribe_tokens_name_one_patient_and_cannot_be_altered(world: World) -> None:
    token = unsubscribe_token(world.a.id, world.patient_a.id, Channel.EMAIL)
    assert read_unsubscribe_token(token) == (world.a.id, world.patient_a.id, Channel.EMAIL)
    forged = token.replace(f"{world.a.id}.", f"{world.b.id}.", 1)
    assert read_unsubscribe_token(forged) is None
    assert read_unsubscribe_token("garbage") is None
    with tenant_session(world.a.id) as s:
        unsubscribe(s, patient_id=world.patient_a.id, channel=Channel.EMAIL)
        pref = s.exec(select(ContactPreference)).one()
    assert (pref.marketing, pref.blocked, pref.source) == (False, False, "link")


def test_unsubscribing_another_tenants_patient_is_not_found(world: World) -> None:
    with pytest.raises(NotFound), tenant_session(world.a.id) as s:
        unsubscribe(s, patient_id=world.patient_b.id, channel=Channel.EMAIL)


def test_settings_refuse_bad_times_caps_and_missing_sms_details(world: World) -> None:
    with pytest.raises(FieldErrors) as err, tenant_session(world.a.id) as s:
        update_messaging_settings(
            session=s,
            actor=world.admin_a,
            email_enabled=True,
            email_from_name="",
            sms_enabled=True,
            sms_provider_url="ftp://x",
            sms_sender="",
            quiet_start="25:00",
            quiet_end="08:00",
            daily_cap="many",
            marketing_default=True,
        )
    assert set(err.value.errors) == {
        "sms_provider_url",
        "sms_sender",
        "quiet_start",
        "daily_cap",
        "sms_api_key",
        "sms_webhook_secret",
    }


def test_settings_are_saved_audited_and_secrets_never_returned(world: World) -> None:
    with tenant_session(world.a.id) as s:
        view = update_messaging_settings(
            session=s,
            actor=world.admin_a,
            email_enabled=True,
            email_from_name="阳光诊所",
            sms_enabled=True,
            sms_provider_url="https://sms.example.com",
            sms_sender="SUNSHINE",
            quiet_start="22:00",
            quiet_end="07:30",
            daily_cap="2",
            marketing_default=False,
            sms_api_key="key-123",
            sms_webhook_secret="whsec-1",
        )
        details = s.exec(
            select(AuditEvent.details).where(AuditEvent.action == "messaging.settings_changed")
        ).one()
    assert (view.quiet_start, view.daily_cap, view.sms_has_api_key) == ("22:00", 2, True)
    assert "key-123" not in details
    assert "whsec-1" not in details


def test_only_admins_change_settings(world: World) -> None:
    kwargs = dict(
        email_enabled=True,
        email_from_name="",
        sms_enabled=False,
        sms_provider_url="",
        sms_sender="",
        quiet_start="21:00",
        quiet_end="08:00",
        daily_cap=3,
        marketing_default=True,
    )
    with tenant_session(world.a.id) as s:
        with pytest.raises(PermissionDenied):
            update_messaging_settings(session=s, actor=world.staff_a, **kwargs)  # type: ignore[arg-type]
        with pytest.raises(NotFound):
            update_messaging_settings(session=s, actor=world.admin_b, **kwargs)  # type: ignore[arg-type]


def test_usage_counts_per_channel_and_month(world: World) -> None:
    with tenant_session(world.a.id) as s:
        count_usage(s, channel=Channel.EMAIL, month="2026-11")
        count_usage(s, channel=Channel.EMAIL, month="2026-11", n=2)
        count_usage(s, channel=Channel.SMS, month="2026-10")
    with tenant_session(world.b.id) as s:
        count_usage(s, channel=Channel.EMAIL, month="2026-11")
    with tenant_session(world.a.id) as s:
        rows = usage_report(session=s, actor=world.admin_a)
    assert [(r.month, r.channel, r.count) for r in rows] == [
        ("2026-11", "email", 3),
        ("2026-10", "sms", 1),
    ]
