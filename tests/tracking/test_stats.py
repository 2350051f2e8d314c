"""message_stats and conversions: counts by status and reason, unique opens and
clicks, and last-touch attribution of bookings and paid orders within the window
(edges to the minute, before the message, two campaigns, refunds, unpaid orders),
each in its own tenant."""

from __future__ import annotations

from datetime import timedelta

import pytest

from prm_saas.booking.models import BookingStatus
from prm_saas.messaging.models import Category, Channel, MessageStatus
from prm_saas.orders.models import OrderStatus
from prm_saas.tracking.models import TrackingEvent, TrackingKind
from prm_saas.tracking.services import ConversionStats, conversions, message_stats
from tenants.db import tenant_session
from tenants.resolution import TenantInfo
from tests.factories import World
from tests.tags.builders import patient
from tests.tracking.builders import NOW, booking_at, order_paid_at, sent_message

DAY = timedelta(days=1)
MIN = timedelta(minutes=1)
C7 = "campaign:7:"
C8 = "campaign:8:"


def convs(tenant: TenantInfo, prefix: str = C7, days: int = 7, **kw: object) -> ConversionStats:
    with tenant_session(tenant.id) as s:
        return conversions(s, source_prefix=prefix, window_days=days, **kw)  # type: ignore[arg-type]


def event(tenant: TenantInfo, message_id: int, kind: TrackingKind) -> None:
    with tenant_session(tenant.id) as s:
        s.add(TrackingEvent(message_id=message_id, kind=kind, at=NOW))


def test_message_stats_count_one_source_by_status_reason_and_tracking(world: World) -> None:
    # given campaign 7's messages in tenant A in every state, with opens and clicks
    a, p = world.a, world.patient_a.id
    sent1 = sent_message(a, p, source="campaign:7:A:1", delivery_status="delivered")
    sent2 = sent_message(a, p, source="campaign:7:B:1", channel=Channel.SMS)
    sent_message(a, p, source="campaign:7:A:1", channel=Channel.INAPP)  # in the inbox
    sent_message(a, p, source="campaign:7:A:1", status=MessageStatus.FAILED)
    for reason in ("opted_out", "opted_out", "daily_cap"):
        sent_message(
            a, p, source="campaign:7:A:1", status=MessageStatus.SUPPRESSED, suppressed_reason=reason
        )
    sent_message(a, p, source="campaign:7:A:2", status=MessageStatus.QUEUED)
    for kind in (TrackingKind.OPEN, TrackingKind.OPEN, TrackingKind.CLICK, TrackingKind.CLICK):
        event(a, sent1, kind)
    event(a, sent2, TrackingKind.CLICK)
    # and messages that are not campaign 7's: campaign 70, another tenant's campaign 7
    other = sent_message(a, p, source="campaign:70:A:1")
    event(a, other, TrackingKind.OPEN)
    b_msg = sent_message(world.b, world.patient_b.id, source="campaign:7:A:1")
    event(world.b, b_msg, TrackingKind.CLICK)
    # when campaign 7's stats are read
    with tenant_session(a.id) as s:
        stats = message_stats(s, source_prefix=C7)
        email_a = message_stats(s, source_prefix="campaign:7:A:", channel=Channel.EMAIL)
    # then they count A's campaign 7 only
    assert stats.total == 8
    assert stats.by_status == {"sent": 3, "failed": 1, "suppressed": 3, "queued": 1}
    assert (stats.sent, stats.failed, stats.pending) == (3, 1, 1)
    assert stats.delivered == 2  # the SMS receipt and the inbox
    assert stats.suppressed == {"opted_out": 2, "daily_cap": 1}
    assert stats.suppressed_total == 3
    assert (stats.unique_opens, stats.unique_clicks, stats.clicks) == (1, 2, 3)
    # and per variant and channel
    assert (email_a.total, email_a.sent, email_a.failed) == (6, 1, 1)
    assert (email_a.unique_opens, email_a.unique_clicks) == (1, 1)
    # and B sees only its own
    with tenant_session(world.b.id) as s:
        b = message_stats(s, source_prefix=C7)
    assert (b.total, b.sent, b.unique_clicks, b.unique_opens) == (1, 1, 1, 0)


def test_a_booking_counts_within_the_window_and_not_outside_it(world: World) -> None:
    # given campaign 7 reached four patients of A at NOW
    a = world.a
    inside, outside, before, same_time = (patient(a) for _ in range(4))
    for p in (inside, outside, before, same_time):
        sent_message(a, p, source="campaign:7:A:1", sent_at=NOW)
    # when they book just inside 7 days, just outside, just before the message, at once
    booking_at(a, inside, NOW + 7 * DAY - MIN)
    booking_at(a, outside, NOW + 7 * DAY + MIN)
    booking_at(a, before, NOW - MIN)
    booking_at(a, same_time, NOW)
    # then only the bookings inside the window after the message count
    assert convs(a) == ConversionStats(bookings=2, orders=0, revenue_fen=0, patients=2)
    # and a longer window takes in the later one
    assert convs(a, days=8).bookings == 3
    assert convs(a, days=0).bookings == 1


def test_exactly_n_days_later_is_inside(world: World) -> None:
    a, p = world.a, world.patient_a.id
    sent_message(a, p, source="campaign:7:A:1", sent_at=NOW)
    booking_at(a, p, NOW + 3 * DAY)
    assert convs(a, days=3).bookings == 1
    assert convs(a, days=2).bookings == 0


def test_the_last_touch_takes_the_booking_between_two_campaigns(world: World) -> None:
    # given campaign 7 then campaign 8 reached the patient, and an automation later still
    a, p = world.a, world.patient_a.id
    sent_message(a, p, source="campaign:7:A:1", sent_at=NOW)
    sent_message(a, p, source="campaign:8:A:1", sent_at=NOW + DAY)
    # when the patient books after both, then again before campaign 8's message
    booking_at(a, p, NOW + 2 * DAY)
    booking_at(a, p, NOW + DAY - MIN)
    # then each booking counts once, for the latest message before it
    assert convs(a, C7).bookings == 1
    assert convs(a, C8).bookings == 1
    # and a message sent later (not before the booking) takes nothing
    sent_message(a, p, source="automation:3:1", sent_at=NOW + 3 * DAY)
    assert (convs(a, C7).bookings, convs(a, C8).bookings) == (1, 1)
    assert convs(a, "automation:3:").bookings == 0


def test_the_last_touch_is_a_sent_marketing_message_only(world: World) -> None:
    # given campaign 7 reached the patient, and later messages that do not touch:
    # a transactional one, a failed and a suppressed marketing one
    a, p = world.a, world.patient_a.id
    sent_message(a, p, source="campaign:7:A:1", sent_at=NOW)
    sent_message(a, p, source="booking:1", sent_at=NOW + DAY, category=Category.TRANSACTIONAL)
    sent_message(a, p, source="campaign:8:A:1", status=MessageStatus.FAILED)
    sent_message(
        a, p, source="campaign:8:A:1", status=MessageStatus.SUPPRESSED, suppressed_reason="x"
    )
    booking_at(a, p, NOW + 2 * DAY)
    # then the booking is campaign 7's
    assert convs(a, C7).bookings == 1
    assert convs(a, C8).bookings == 0


def test_bookings_that_did_not_stand_do_not_count(world: World) -> None:
    a = world.a
    counted = {BookingStatus.CONFIRMED, BookingStatus.COMPLETED, BookingStatus.NO_SHOW}
    for status in BookingStatus:
        if status == BookingStatus.CHECKED_IN:
            continue
        p = patient(a)
        sent_message(a, p, source="campaign:7:A:1")
        booking_at(a, p, NOW + DAY, status)
    assert convs(a).bookings == len(counted)


def test_revenue_is_paid_less_refunded_and_skips_unpaid_and_refunded_orders(
    world: World,
) -> None:
    # given campaign 7 reached five patients
    a = world.a
    paid, partial, refunded, unpaid, late = (patient(a) for _ in range(5))
    for p in (paid, partial, refunded, unpaid, late):
        sent_message(a, p, source="campaign:7:A:1", sent_at=NOW)
    # when they buy: paid in full, partly refunded, fully refunded, never paid, paid too late
    order_paid_at(a, paid, NOW + DAY, paid_fen=39_900)
    order_paid_at(
        a,
        partial,
        NOW + DAY,
        paid_fen=20_000,
        refunded_fen=5_000,
        status=OrderStatus.PARTIALLY_REFUNDED,
    )
    order_paid_at(
        a, refunded, NOW + DAY, paid_fen=10_000, refunded_fen=10_000, status=OrderStatus.REFUNDED
    )
    order_paid_at(a, unpaid, None, paid_fen=0, status=OrderStatus.PENDING_PAYMENT)
    order_paid_at(a, unpaid, None, paid_fen=0, status=OrderStatus.EXPIRED)
    order_paid_at(a, late, NOW + 8 * DAY, paid_fen=50_000)
    # then the paid ones inside the window count, for what was kept
    assert convs(a) == ConversionStats(
        bookings=0, orders=2, revenue_fen=39_900 + 15_000, patients=2
    )


def test_an_order_counts_at_its_payment_and_for_the_message_before_it(world: World) -> None:
    # given an order made before campaign 8's message but paid after it
    a, p = world.a, world.patient_a.id
    sent_message(a, p, source="campaign:7:A:1", sent_at=NOW)
    sent_message(a, p, source="campaign:8:A:1", sent_at=NOW + DAY)
    order_paid_at(a, p, NOW + 2 * DAY, paid_fen=30_000)
    # then it is campaign 8's (the payment is the conversion)
    assert convs(a, C8).revenue_fen == 30_000
    assert convs(a, C7).revenue_fen == 0


def test_conversions_by_channel_follow_the_last_touch(world: World) -> None:
    # given campaign 7 sent an email, then an SMS, to the patient
    a, p = world.a, world.patient_a.id
    sent_message(a, p, source="campaign:7:A:1", sent_at=NOW, channel=Channel.EMAIL)
    sent_message(a, p, source="campaign:7:A:1", sent_at=NOW + MIN, channel=Channel.SMS)
    booking_at(a, p, NOW + DAY)
    # then the booking is the SMS's, and counted once for the campaign
    assert convs(a, channel=Channel.SMS).bookings == 1
    assert convs(a, channel=Channel.EMAIL).bookings == 0
    assert convs(a).bookings == 1


def test_another_tenants_bookings_and_messages_never_count(world: World) -> None:
    # given campaign 7 exists in both tenants, and only B's patient converts
    sent_message(world.a, world.patient_a.id, source="campaign:7:A:1", sent_at=NOW)
    sent_message(world.b, world.patient_b.id, source="campaign:7:A:1", sent_at=NOW)
    booking_at(world.b, world.patient_b.id, NOW + DAY)
    order_paid_at(world.b, world.patient_b.id, NOW + DAY, paid_fen=9_900)
    # then A's campaign 7 has no conversion, B's has its own
    assert convs(world.a) == ConversionStats()
    assert convs(world.b) == ConversionStats(bookings=1, orders=1, revenue_fen=9_900, patients=1)


def test_a_bad_window_or_prefix_is_refused(world: World) -> None:
    with tenant_session(world.a.id) as s:
        with pytest.raises(ValueError, match="window_days"):
            conversions(s, source_prefix=C7, window_days=-1)
        with pytest.raises(ValueError, match="source_prefix"):
            conversions(s, source_prefix="", window_days=7)
        with pytest.raises(ValueError, match="source_prefix"):
            message_stats(s, source_prefix="")


def test_a_prefix_with_like_wildcards_matches_literally(world: World) -> None:
    a, p = world.a, world.patient_a.id
    sent_message(a, p, source="campaign:7:A:1")
    sent_message(a, p, source="Campaign:7:A:1")
    with tenant_session(a.id) as s:
        assert message_stats(s, source_prefix="campaign:_:").total == 0
        assert message_stats(s, source_prefix="campaign:%").total == 0
        assert message_stats(s, source_prefix="campaign:7:").total == 1
