"""The campaign builder and controls: validation in both languages with nothing
written, content checked like templates, start refusals, the snapshot (opt-outs
excluded, A/B split), pause/resume/stop, and the tenant wall."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlmodel import func, select

from prm_saas.audit.models import AuditEvent
from prm_saas.campaigns import services as cs
from prm_saas.campaigns.models import Campaign, CampaignRun, CampaignVariant
from prm_saas.i18n import translate
from prm_saas.messaging.content import MessageContent
from prm_saas.messaging.models import Channel
from prm_saas.messaging.preferences import set_consent
from tenants.db import tenant_session
from tenants.errors import DomainError, FieldErrors, NotFound, PermissionDenied
from tests.campaigns import helpers as h
from tests.factories import World


def _count(tenant_id: int, model: type) -> int:
    with tenant_session(tenant_id) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def test_create_and_read_back_in_local_time(world: World) -> None:
    aud = h.audience(world.a, world.admin_a, h.patients(world.a, 2))
    with tenant_session(world.a.id) as s:
        c = cs.create_campaign(
            session=s,
            actor=world.admin_a,
            data=h.form(aud, mode="at", send_at="2099-03-01 09:30", channels=["sms", "email"]),
        )
        cid = int(c.id or 0)
    with tenant_session(world.a.id) as s:
        detail = cs.get_campaign(session=s, actor=world.admin_a, campaign_id=cid)
    assert detail.campaign.status == "draft"
    assert detail.form.send_at == "2099-03-01 09:30"  # Shanghai wall time
    assert detail.campaign.send_at is not None
    assert detail.campaign.send_at.hour == 1
    assert list(detail.form.channels) == ["email", "sms"]
    assert detail.audience_name == "VIP人群"


BAD = {
    "name": "",
    "channels": ["fax"],
    "link": "javascript:alert(1)",
    "mode": "at",
    "send_at": "2026-02-30 10:00",
    "per_minute": "0",
    "daily_cap": "-1",
    "ab_split": "100",
    "attribution_days": "abc",
    "quiet_start": "22:00",
    "quiet_end": "",
}


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_bad_input_names_every_field_in_both_languages_and_writes_nothing(
    world: World, locale: str
) -> None:
    aud = h.audience(world.a, world.admin_a, h.patients(world.a, 1))
    before = _count(world.a.id, AuditEvent)
    with pytest.raises(FieldErrors) as exc, tenant_session(world.a.id) as s:
        cs.create_campaign(session=s, actor=world.admin_a, data=h.form(aud, **BAD))
    errors = exc.value.errors
    assert set(errors) == {
        "name",
        "channels",
        "link",
        "send_at",
        "per_minute",
        "daily_cap",
        "ab_split",
        "attribution_days",
        "quiet_end",
    }
    texts = {f: translate(k, locale, **p) for f, (k, p) in errors.items()}
    for f, text in texts.items():
        assert text != errors[f][0], f"{f}: untranslated {errors[f][0]}"
    if locale == "en":
        assert texts["per_minute"] == "Enter a whole number from 1 to 10000."
        assert "YYYY-MM-DD HH:MM" in texts["send_at"]
    else:
        assert texts["per_minute"] == "请输入 1 到 10000 之间的整数。"
    assert _count(world.a.id, Campaign) == 0
    assert _count(world.a.id, AuditEvent) == before


def test_recurring_form_checks_its_fields(world: World) -> None:
    aud = h.audience(world.a, world.admin_a, h.patients(world.a, 1))
    with pytest.raises(FieldErrors) as exc, tenant_session(world.a.id) as s:
        cs.create_campaign(
            session=s,
            actor=world.admin_a,
            data=h.form(aud, mode="recurring", recurrence="weekly", weekday=7, at_time="25:00"),
        )
    assert set(exc.value.errors) == {"weekday", "at_time"}
    with pytest.raises(FieldErrors) as exc, tenant_session(world.a.id) as s:
        cs.create_campaign(
            session=s,
            actor=world.admin_a,
            data=h.form(aud, mode="recurring", recurrence="monthly", month_day=0),
        )
    assert set(exc.value.errors) == {"month_day"}
    with pytest.raises(FieldErrors) as exc, tenant_session(world.a.id) as s:
        cs.create_campaign(
            session=s, actor=world.admin_a, data=h.form(aud, mode="at", send_at="2020-01-01 10:00")
        )
    assert exc.value.errors["send_at"][0] == "campaigns.field.send_at_past"


def test_another_tenants_audience_or_campaign_is_not_found(world: World) -> None:
    aud_b = h.audience(world.b, world.admin_b, h.patients(world.b, 3))
    cid_b = h.campaign(world.b, world.admin_b, aud_b)
    aud_a = h.audience(world.a, world.admin_a, h.patients(world.a, 1))
    with pytest.raises(NotFound), tenant_session(world.a.id) as s:
        cs.create_campaign(session=s, actor=world.admin_a, data=h.form(aud_b))
    cid_a = h.campaign(world.a, world.admin_a, aud_a)
    with pytest.raises(NotFound), tenant_session(world.a.id) as s:
        cs.update_campaign(session=s, actor=world.admin_a, campaign_id=cid_a, data=h.form(aud_b))
    for call in (cs.get_campaign, cs.start_campaign, cs.stop_campaign, cs.pause_campaign):
        with pytest.raises(NotFound), tenant_session(world.a.id) as s:
            call(session=s, actor=world.admin_a, campaign_id=cid_b)
    with pytest.raises(NotFound), tenant_session(world.a.id) as s:
        cs.set_content(
            session=s,
            actor=world.admin_a,
            campaign_id=cid_b,
            variant="A",
            channel="inapp",
            subject="x",
            body="hi",
        )
    # B's admin acting in A's session is not A's staff
    with pytest.raises(NotFound), tenant_session(world.a.id) as s:
        cs.list_campaigns(session=s, actor=world.admin_b)
    assert h.status(world.b, cid_b) == "draft"
    with tenant_session(world.a.id) as s:
        assert [c.id for c in cs.list_campaigns(session=s, actor=world.admin_a)] == [cid_a]


def test_front_desk_staff_and_patients_may_not_manage_campaigns(world: World) -> None:
    with pytest.raises(PermissionDenied), tenant_session(world.a.id) as s:
        cs.list_campaigns(session=s, actor=world.staff_a)
    with pytest.raises(PermissionDenied), tenant_session(world.a.id) as s:
        cs.list_campaigns(session=s, actor=world.patient_a)


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_content_is_checked_like_a_template(world: World, locale: str) -> None:
    aud = h.audience(world.a, world.admin_a, h.patients(world.a, 1))
    with tenant_session(world.a.id) as s:
        cid = int(
            cs.create_campaign(
                session=s, actor=world.admin_a, data=h.form(aud, channels=["email"])
            ).id
            or 0
        )
    with pytest.raises(FieldErrors) as exc, tenant_session(world.a.id) as s:
        cs.set_content(
            session=s,
            actor=world.admin_a,
            campaign_id=cid,
            variant="A",
            channel="email",
            subject="优惠",
            body="您好 {unknown_thing}",
        )
    key, params = exc.value.errors["body"]
    assert translate(key, locale, **params) != key
    with pytest.raises(FieldErrors) as exc, tenant_session(world.a.id) as s:
        cs.set_content(
            session=s,
            actor=world.admin_a,
            campaign_id=cid,
            variant="C",
            channel="sms",
            subject="",
            body="hi",
        )
    assert set(exc.value.errors) == {"variant", "channel"}
    assert _count(world.a.id, MessageContent) == 0
    assert _count(world.a.id, CampaignVariant) == 0


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_start_refuses_a_channel_without_content(world: World, locale: str) -> None:
    aud = h.audience(world.a, world.admin_a, h.patients(world.a, 2))
    with tenant_session(world.a.id) as s:
        c = cs.create_campaign(
            session=s, actor=world.admin_a, data=h.form(aud, channels=["inapp", "email"])
        )
        cid = int(c.id or 0)
        cs.set_content(
            session=s,
            actor=world.admin_a,
            campaign_id=cid,
            variant="A",
            channel="inapp",
            subject="t",
            body="hello",
        )
    with pytest.raises(DomainError) as exc, tenant_session(world.a.id) as s:
        cs.start_campaign(session=s, actor=world.admin_a, campaign_id=cid)
    assert exc.value.key == "campaigns.missing_content"
    assert exc.value.params["channel"] == "email"
    text = translate(exc.value.key, locale, **exc.value.params)
    assert "email" in text
    assert "没有内容" in text if locale == "zh-CN" else "no content" in text
    assert h.status(world.a, cid) == "draft"
    assert _count(world.a.id, CampaignRun) == 0


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_start_refuses_an_empty_audience(world: World, locale: str) -> None:
    pa = h.patients(world.a, 2)
    aud = h.audience(world.a, world.admin_a, pa)
    for pid in pa:  # everyone opted out of in-app marketing
        with tenant_session(world.a.id) as s:
            set_consent(s, patient_id=pid, channel=Channel.INAPP, marketing=False, source="patient")
    cid = h.campaign(world.a, world.admin_a, aud)
    with pytest.raises(DomainError) as exc, tenant_session(world.a.id) as s:
        cs.start_campaign(session=s, actor=world.admin_a, campaign_id=cid)
    assert exc.value.key == "campaigns.empty_audience"
    assert translate(exc.value.key, locale) != exc.value.key
    assert h.status(world.a, cid) == "draft"
    assert _count(world.a.id, CampaignRun) == 0
    assert h.recipients(world.a, cid) == []


def test_snapshot_excludes_opted_out_and_stays_in_the_tenant(world: World) -> None:
    pa = h.patients(world.a, 5)
    pb = h.patients(world.b, 5)
    aud = h.audience(world.a, world.admin_a, pa)
    h.audience(world.b, world.admin_b, pb)  # the same tag and audience names in B
    h.settings(world.a, sms_enabled=True)
    with tenant_session(world.a.id) as s:
        set_consent(s, patient_id=pa[1], channel=Channel.SMS, marketing=False, source="patient")
    cid = h.campaign(world.a, world.admin_a, aud, channels=["sms", "inapp"])
    with tenant_session(world.a.id) as s:
        c = cs.start_campaign(session=s, actor=world.admin_a, campaign_id=cid)
        assert c.status == "running"
    rows = h.recipients(world.a, cid)
    got = Counter(r.channel for r in rows)
    assert got == {"inapp": 5, "sms": 4}
    assert pa[1] not in {r.patient_id for r in rows if r.channel == "sms"}
    assert {r.patient_id for r in rows} == set(pa)
    assert {r.tenant_id for r in rows} == {world.a.id}
    assert all(r.status == "pending" and r.variant == "A" for r in rows)
    with tenant_session(world.b.id) as s:
        assert s.exec(select(func.count()).select_from(CampaignRun)).one() == 0


def test_ab_split_is_deterministic_and_proportional(world: World) -> None:
    pa = h.patients(world.a, 200)
    h.settings(world.a, sms_enabled=True)
    aud = h.audience(world.a, world.admin_a, pa)
    cid = h.campaign(world.a, world.admin_a, aud, b=True, ab_split=30, channels=["sms", "inapp"])
    with tenant_session(world.a.id) as s:
        cs.start_campaign(session=s, actor=world.admin_a, campaign_id=cid)
    rows = h.recipients(world.a, cid)
    for ch in ("sms", "inapp"):
        split = Counter(r.variant for r in rows if r.channel == ch)
        assert split == {"A": 60, "B": 140}
    # the same patient gets the same variant on every channel
    by_patient: dict[int, set[str]] = {}
    for r in rows:
        by_patient.setdefault(r.patient_id, set()).add(str(r.variant))
    assert all(len(v) == 1 for v in by_patient.values())


def test_start_refuses_twice_and_variant_b_needs_every_channel(world: World) -> None:
    aud = h.audience(world.a, world.admin_a, h.patients(world.a, 2))
    cid = h.campaign(world.a, world.admin_a, aud, channels=["inapp", "sms"])
    with tenant_session(world.a.id) as s:
        cs.set_content(
            session=s,
            actor=world.admin_a,
            campaign_id=cid,
            variant="B",
            channel="inapp",
            subject="B",
            body="B text",
        )
    with pytest.raises(DomainError) as exc, tenant_session(world.a.id) as s:
        cs.start_campaign(session=s, actor=world.admin_a, campaign_id=cid)
    assert exc.value.params == {"channel": "sms", "variant": "B"}
    with tenant_session(world.a.id) as s:
        cs.remove_variant_b(session=s, actor=world.admin_a, campaign_id=cid)
        cs.start_campaign(session=s, actor=world.admin_a, campaign_id=cid)
    with pytest.raises(DomainError) as exc, tenant_session(world.a.id) as s:
        cs.start_campaign(session=s, actor=world.admin_a, campaign_id=cid)
    assert exc.value.key == "campaigns.not_startable"
    with pytest.raises(DomainError) as exc, tenant_session(world.a.id) as s:
        cs.update_campaign(session=s, actor=world.admin_a, campaign_id=cid, data=h.form(aud))
    assert exc.value.key == "campaigns.locked"


def test_a_forged_audience_of_another_tenant_reaches_nobody(world: World) -> None:
    """Even a campaign row of tenant B pointing at tenant A's audience (written past the
    form's check) cannot snapshot A's patients: the audience is not found in B."""
    pa = h.patients(world.a, 3)
    aud_a = h.audience(world.a, world.admin_a, pa)
    aud_b = h.audience(world.b, world.admin_b, h.patients(world.b, 1))
    cid_b = h.campaign(world.b, world.admin_b, aud_b)
    with tenant_session(world.b.id) as s:
        row = s.exec(select(Campaign).where(Campaign.id == cid_b)).one()
        row.audience_id = aud_a
        s.add(row)
    with pytest.raises(NotFound), tenant_session(world.b.id) as s:
        cs.start_campaign(session=s, actor=world.admin_b, campaign_id=cid_b)
    assert h.recipients(world.b, cid_b) == []
    assert h.status(world.b, cid_b) == "draft"


def test_variant_b_stays_while_a_run_uses_it(world: World) -> None:
    aud = h.audience(world.a, world.admin_a, h.patients(world.a, 4))
    cid = h.campaign(world.a, world.admin_a, aud, b=True)
    plain = h.campaign(world.a, world.admin_a, aud, name="只有A")
    with tenant_session(world.a.id) as s:
        cs.start_campaign(session=s, actor=world.admin_a, campaign_id=cid)
        cs.pause_campaign(session=s, actor=world.admin_a, campaign_id=cid)
    with pytest.raises(DomainError) as exc, tenant_session(world.a.id) as s:
        cs.remove_variant_b(session=s, actor=world.admin_a, campaign_id=cid)
    assert exc.value.key == "campaigns.variant_in_use"
    assert translate(exc.value.key, "en").startswith("This run")
    with tenant_session(world.a.id) as s:
        # without a B there is nothing to remove, whatever the status
        cs.remove_variant_b(session=s, actor=world.admin_a, campaign_id=plain)
        variants = s.exec(select(CampaignVariant.variant).where(CampaignVariant.campaign_id == cid))
        assert sorted(str(v) for v in variants) == ["A", "B"]
