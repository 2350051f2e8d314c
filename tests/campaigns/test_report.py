"""The campaign report: per variant and channel, recipients, message outcomes
(sent, suppressed by reason) and conversions within the attribution window; and
the tenant wall."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest

from prm_saas.booking.models import BookingStatus
from prm_saas.campaigns import services as cs
from prm_saas.campaigns.release import release_due
from prm_saas.messaging.delivery import deliver_batch
from prm_saas.messaging.models import Channel
from prm_saas.messaging.preferences import set_consent
from tenants.db import tenant_session
from tenants.errors import NotFound, PermissionDenied
from tests.campaigns import helpers as h
from tests.campaigns.helpers import NOW
from tests.factories import World
from tests.tags import builders as tb


def test_report_per_variant_and_channel(world: World) -> None:
    h.settings(world.a, quiet_start="00:00", quiet_end="00:00")
    pa = h.patients(world.a, 10)
    aud = h.audience(world.a, world.admin_a, pa)
    cid = h.campaign(world.a, world.admin_a, aud, b=True, ab_split=50, per_minute=6)
    with tenant_session(world.a.id) as s:
        cs.start_campaign(session=s, actor=world.admin_a, campaign_id=cid)
    with tenant_session(world.a.id) as s:
        first = release_due(s, now=NOW, send=False)
    # one of the first six withdrew consent after the snapshot: suppressed at delivery
    with tenant_session(world.a.id) as s:
        rec = next(r for r in h.recipients(world.a, cid) if r.status == "released")
        set_consent(
            s, patient_id=rec.patient_id, channel=Channel.INAPP, marketing=False, source="patient"
        )
    deliver_batch(tenant_id=world.a.id, message_ids=first.message_ids)
    # a booking by a reached patient right after the message converts
    converted = next(
        r.patient_id
        for r in h.recipients(world.a, cid)
        if r.status == "released" and r.patient_id != rec.patient_id
    )
    tb.booking(world.a, converted, date(2026, 12, 20), BookingStatus.CONFIRMED)

    with tenant_session(world.a.id) as s:
        report = cs.campaign_report(session=s, actor=world.admin_a, campaign_id=cid)
    assert [(r.variant, r.channel) for r in report.rows] == [("A", "inapp"), ("B", "inapp")]
    split = Counter(str(r.variant) for r in h.recipients(world.a, cid))
    assert [r.recipients for r in report.rows] == [split["A"], split["B"]]
    assert split["A"]
    assert split["B"]
    t = report.total
    assert (t.recipients, t.released, t.pending, t.cancelled) == (10, 6, 4, 0)
    assert (t.sent, t.delivered, t.suppressed) == (5, 5, {"opted_out": 1})
    assert t.bookings == 1
    assert t.conversions == 1
    assert sum(r.sent for r in report.rows) == 5
    assert sum(r.conversions for r in report.rows) == 1
    assert report.attribution_days == 7
    assert [(x.occurrence, x.status, x.recipients) for x in report.runs] == [(1, "running", 10)]


def test_conversions_outside_the_window_do_not_count(world: World) -> None:
    h.settings(world.a, quiet_start="00:00", quiet_end="00:00")
    pa = h.patients(world.a, 2)
    aud = h.audience(world.a, world.admin_a, pa)
    cid = h.campaign(world.a, world.admin_a, aud, attribution_days=1)
    with tenant_session(world.a.id) as s:
        cs.start_campaign(session=s, actor=world.admin_a, campaign_id=cid)
    with tenant_session(world.a.id) as s:
        r = release_due(s, now=NOW, send=False)
    deliver_batch(tenant_id=world.a.id, message_ids=r.message_ids)
    # a booking made 3 days after the message (moved back: the message is "now")
    bid = tb.booking(world.a, pa[0], date(2026, 12, 20), BookingStatus.CONFIRMED)
    with tenant_session(world.a.id) as s:
        from prm_saas.booking.models import Booking

        booking = s.get(Booking, bid)
        assert booking is not None
        booking.created_at = booking.created_at + timedelta(days=3)
        s.add(booking)
    with tenant_session(world.a.id) as s:
        report = cs.campaign_report(session=s, actor=world.admin_a, campaign_id=cid)
    assert report.total.sent == 2
    assert report.total.conversions == 0


def test_report_of_another_tenants_campaign_is_not_found(world: World) -> None:
    aud_b = h.audience(world.b, world.admin_b, h.patients(world.b, 1))
    cid_b = h.campaign(world.b, world.admin_b, aud_b)
    with pytest.raises(NotFound), tenant_session(world.a.id) as s:
        cs.campaign_report(session=s, actor=world.admin_a, campaign_id=cid_b)
    with pytest.raises(NotFound), tenant_session(world.a.id) as s:
        cs.campaign_report(session=s, actor=world.admin_a, campaign_id="x")  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied), tenant_session(world.b.id) as s:
        cs.campaign_report(session=s, actor=world.staff_b, campaign_id=cid_b)
