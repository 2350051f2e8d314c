"""The nudge template: both languages on every channel, delivered in the patient's
language with the challenge's title in that language."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from prm_saas.accounts.models import Patient
from prm_saas.challenges import services
from prm_saas.messaging.delivery import deliver_batch
from prm_saas.messaging.models import Channel, InboxItem, MessagingSettings
from prm_saas.messaging.outbox import claim_due
from prm_saas.messaging.templates import COMMON_VARIABLES, render, spec_of
from tenants.db import tenant_session
from tenants.types import utcnow
from tests.challenges.builders import START, at, join, make_challenge
from tests.factories import World, make_patient


def test_the_nudge_renders_in_both_languages_on_every_channel() -> None:
    spec = spec_of("challenge.nudge")
    values = {**spec.sample, **dict.fromkeys(COMMON_VARIABLES, "X")}
    for locale in ("zh-CN", "en"):
        for channel in Channel:
            assert (channel, locale) in spec.defaults, f"no {channel}/{locale} wording"
            subject, body = spec.defaults[(channel, locale)]
            assert render(body, values).strip()
            render(subject, values)


@pytest.mark.parametrize(
    ("locale", "title"),
    [("en", "Missed yesterday: 21-day check-in"), ("zh-CN", "昨天忘记打卡了：21 天打卡")],
)
def test_the_nudge_reaches_the_inbox_in_the_patients_language(
    world: World, locale: str, title: str
) -> None:
    cid = make_challenge(world.a, world.admin_a, target_days=5)
    patient = make_patient(world.a)  # a phone but no email, and the tenant sends no SMS
    with tenant_session(world.a.id) as s:
        p = s.exec(select(Patient).where(Patient.id == patient.id)).one()
        p.locale = locale
        s.add(p)
    join(world.a, patient, cid)
    with tenant_session(world.a.id) as s:
        # No quiet hours, so the test does not depend on the real clock (a nudge is
        # not urgent: at night it waits for the morning).
        conf = s.exec(select(MessagingSettings)).first() or MessagingSettings()
        conf.quiet_start = conf.quiet_end = ""
        s.add(conf)
    with tenant_session(world.a.id) as s:
        assert services.nudge_missed(session=s, now=at(START + timedelta(days=1), 9)) == 1
    with tenant_session(world.a.id) as s:
        ids = claim_due(s, now=utcnow(), limit=100)
    deliver_batch(tenant_id=world.a.id, message_ids=ids)
    with tenant_session(world.a.id) as s:
        items = s.exec(select(InboxItem).where(InboxItem.patient_id == patient.id)).all()
    assert [i.title for i in items] == [title]
    assert "0" in items[0].body
    assert "5" in items[0].body
