"""Booking messages: templates in both languages, delivered in the patient's."""

from __future__ import annotations

import pytest
from sqlmodel import select

from prm_saas.booking import messages, services
from prm_saas.messaging.delivery import deliver_batch
from prm_saas.messaging.models import InboxItem
from prm_saas.messaging.outbox import claim_due
from prm_saas.messaging.templates import COMMON_VARIABLES, render, spec_of
from tenants.db import tenant_session
from tenants.types import utcnow
from tests.booking.builders import NOW, first_slot, make_location, make_package, set_patient
from tests.factories import World, make_patient

KEYS = (
    "booking.confirmed",
    "booking.reminder_day",
    "booking.reminder_2h",
    "booking.rescheduled",
    "booking.cancelled",
    "booking.waitlist_offer",
)


@pytest.mark.parametrize("key", KEYS)
def test_every_booking_template_renders_in_both_languages_on_every_channel(key: str) -> None:
    spec = spec_of(key)
    values = {**spec.sample, **dict.fromkeys(COMMON_VARIABLES, "X")}
    for locale in ("zh-CN", "en"):
        for channel in messages.Channel:
            if (channel, locale) not in spec.defaults:
                pytest.fail(f"{key}: no {channel}/{locale} wording")
            subject, body = spec.defaults[(channel, locale)]
            assert render(body, values).strip()
            render(subject, values)


@pytest.mark.parametrize(
    ("locale", "title"), [("en", "Booked: Package P1"), ("zh-CN", "预约成功：套餐P1")]
)
def test_the_confirmation_reaches_the_inbox_in_the_patients_language(
    world: World, locale: str, title: str
) -> None:
    loc = make_location(world.a, world.admin_a)
    pkg = make_package(world.a, [loc])
    patient = make_patient(world.a)  # a phone but no email, and the tenant sends no SMS
    set_patient(world.a, patient.id, locale=locale)
    with tenant_session(world.a.id) as s:
        b = services.reserve(
            session=s, patient_id=patient.id, package_id=pkg, location_id=loc,
            slot_id=first_slot(world.a, loc), addon_item_ids=[], idempotency_key="m",
            hold_until=None, now=NOW,
        )  # fmt: skip
    with tenant_session(world.a.id) as s:
        ids = claim_due(s, now=utcnow(), limit=100)
    deliver_batch(tenant_id=world.a.id, message_ids=ids)
    with tenant_session(world.a.id) as s:
        items = s.exec(select(InboxItem).where(InboxItem.patient_id == patient.id)).all()
    # (Its reminders are due later; which of them are due depends on the real clock.)
    [confirmation] = [i for i in items if i.title == title]
    assert b.checkin_code in confirmation.body
