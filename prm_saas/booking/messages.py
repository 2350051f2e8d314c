"""Booking messages through the messaging engine: templates (zh-CN and en) and the
enqueueing done by the booking services.

Every message has the dedupe key ``booking:<id>:<kind>:<ics_sequence>``, so a
retried use case records it once, and a change of time (a new sequence) gets
fresh reminders while the old sequence's pending ones are suppressed.
Reminders are scheduled rows: T-1 day at 18:00 local (with the package's
pre-exam instructions) and T-2 h; both expire when the slot starts.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import select

from prm_saas.accounts.models import Patient
from prm_saas.booking.models import Booking, Location, Slot
from prm_saas.mall.models import HealthPackage
from prm_saas.messaging.models import Category, Channel
from prm_saas.messaging.outbox import NoAddress, enqueue, suppress_scheduled
from prm_saas.messaging.preferences import messaging_settings
from prm_saas.messaging.templates import TemplateSpec, register
from tenants.models import Tenant
from tenants.types import utcnow

if TYPE_CHECKING:
    from prm_saas.booking.models import WaitlistEntry
    from tenants.db import TenantSession

E, S, I = Channel.EMAIL, Channel.SMS, Channel.INAPP  # noqa: E741 - the tables read better

DAY_REMINDER_LOCAL = time(18, 0)  # the evening before
SHORT_REMINDER = timedelta(hours=2)
REMINDER_KINDS = ("reminder_day", "reminder_2h")

_SAMPLE = {
    "package": "入职体检套餐",
    "when": "2026-12-05 07:30",
    "location": "总院",
    "address": "北京路 1 号",
    "checkin_code": "K7Q2mZ8xYp3bWc1d",
}
_BASE = frozenset(_SAMPLE)


def _spec(
    key: str,
    defaults: dict[tuple[Channel, str], tuple[str, str]],
    *,
    extra: dict[str, str] | None = None,
) -> TemplateSpec:
    sample = {**_SAMPLE, **(extra or {})}
    return register(
        TemplateSpec(
            key=key,
            category=Category.TRANSACTIONAL,
            variables=frozenset(sample),
            sample=sample,
            defaults=defaults,
        )
    )


CONFIRMED = _spec(
    "booking.confirmed",
    {
        (E, "zh-CN"): (
            "【{tenant_name}】体检预约成功",
            "{patient_name}，您好：\n\n您已预约「{package}」，时间 {when}，地点 {location}"
            "（{address}）。\n签到码：{checkin_code}\n\n{tenant_name}",
        ),
        (E, "en"): (
            "[{tenant_name}] Your checkup is booked",
            "Dear {patient_name},\n\nYour “{package}” is booked for {when} at {location} "
            "({address}).\nCheck-in code: {checkin_code}\n\n{tenant_name}",
        ),
        (S, "zh-CN"): (
            "",
            "【{tenant_name}】{patient_name}您好，您已预约{package}，{when}，{location}。"
            "签到码 {checkin_code}",
        ),
        (S, "en"): (
            "",
            "[{tenant_name}] {patient_name}, {package} booked for {when} at {location}. "
            "Check-in code {checkin_code}",
        ),
        (I, "zh-CN"): (
            "预约成功：{package}",
            "{when}，{location}（{address}）。签到码 {checkin_code}",
        ),
        (I, "en"): ("Booked: {package}", "{when} at {location} ({address}). Code {checkin_code}"),
    },
)

REMINDER_DAY = _spec(
    "booking.reminder_day",
    {
        (E, "zh-CN"): (
            "【{tenant_name}】明日体检提醒",
            "{patient_name}，您好：\n\n您预约的「{package}」将于 {when} 在 {location}（{address}）"
            "进行。\n\n体检须知：\n{instructions}\n\n签到码：{checkin_code}\n\n{tenant_name}",
        ),
        (E, "en"): (
            "[{tenant_name}] Your checkup is tomorrow",
            "Dear {patient_name},\n\nYour “{package}” is at {when} at {location} ({address})."
            "\n\nBefore you come:\n{instructions}\n\nCheck-in code: {checkin_code}"
            "\n\n{tenant_name}",
        ),
        (S, "zh-CN"): (
            "",
            "【{tenant_name}】{patient_name}您好，明天 {when} 在{location}体检（{package}）。"
            "须知：{instructions}",
        ),
        (S, "en"): (
            "",
            "[{tenant_name}] {patient_name}, your {package} is tomorrow {when} at {location}. "
            "{instructions}",
        ),
        (I, "zh-CN"): ("明日体检：{package}", "{when}，{location}。须知：{instructions}"),
        (I, "en"): ("Tomorrow: {package}", "{when} at {location}. Before you come: {instructions}"),
    },
    extra={"instructions": "体检前一晚 22:00 后禁食禁水，请携带身份证。"},
)

REMINDER_2H = _spec(
    "booking.reminder_2h",
    {
        (E, "zh-CN"): (
            "【{tenant_name}】体检即将开始",
            "{patient_name}，您好：\n\n您的「{package}」将于 {when} 在 {location}"
            "（{address}）开始，请准时到达。签到码：{checkin_code}\n\n{tenant_name}",
        ),
        (E, "en"): (
            "[{tenant_name}] Your checkup starts soon",
            "Dear {patient_name},\n\nYour “{package}” starts at {when} at {location} ({address})."
            " Check-in code: {checkin_code}\n\n{tenant_name}",
        ),
        (S, "zh-CN"): (
            "",
            "【{tenant_name}】{patient_name}您好，您的体检将于 {when} 在{location}开始。"
            "签到码 {checkin_code}",
        ),
        (S, "en"): (
            "",
            "[{tenant_name}] {patient_name}, your checkup starts at {when} at {location}. "
            "Code {checkin_code}",
        ),
        (I, "zh-CN"): ("体检即将开始", "{when}，{location}。签到码 {checkin_code}"),
        (I, "en"): ("Your checkup starts soon", "{when} at {location}. Code {checkin_code}"),
    },
)

RESCHEDULED = _spec(
    "booking.rescheduled",
    {
        (E, "zh-CN"): (
            "【{tenant_name}】体检时间已变更",
            "{patient_name}，您好：\n\n您的「{package}」已改约至 {when}，地点 {location}"
            "（{address}）。签到码不变：{checkin_code}\n\n{tenant_name}",
        ),
        (E, "en"): (
            "[{tenant_name}] Your checkup has moved",
            "Dear {patient_name},\n\nYour “{package}” is now at {when} at {location} ({address})."
            " Your check-in code stays {checkin_code}.\n\n{tenant_name}",
        ),
        (S, "zh-CN"): (
            "",
            "【{tenant_name}】{patient_name}您好，您的体检已改约至 {when}，{location}。",
        ),
        (S, "en"): (
            "",
            "[{tenant_name}] {patient_name}, your checkup moved to {when} at {location}.",
        ),
        (I, "zh-CN"): ("已改约：{package}", "新时间 {when}，{location}。"),
        (I, "en"): ("Moved: {package}", "New time {when} at {location}."),
    },
)

CANCELLED = _spec(
    "booking.cancelled",
    {
        (E, "zh-CN"): (
            "【{tenant_name}】体检预约已取消",
            "{patient_name}，您好：\n\n您 {when} 在 {location} 的「{package}」预约已取消。"
            "\n\n{tenant_name}",
        ),
        (E, "en"): (
            "[{tenant_name}] Your checkup booking is cancelled",
            "Dear {patient_name},\n\nYour “{package}” at {when} at {location} is cancelled."
            "\n\n{tenant_name}",
        ),
        (S, "zh-CN"): ("", "【{tenant_name}】{patient_name}您好，您 {when} 的体检预约已取消。"),
        (S, "en"): ("", "[{tenant_name}] {patient_name}, your checkup at {when} is cancelled."),
        (I, "zh-CN"): ("预约已取消：{package}", "{when}，{location}。"),
        (I, "en"): ("Cancelled: {package}", "{when} at {location}."),
    },
)

WAITLIST_OFFER = _spec(
    "booking.waitlist_offer",
    {
        (E, "zh-CN"): (
            "【{tenant_name}】候补名额已为您保留",
            "{patient_name}，您好：\n\n{when} 在 {location} 的「{package}」有空位了，已为您保留至"
            " {hold_until}。请在此之前完成支付确认，逾期名额将顺延给下一位。\n\n{tenant_name}",
        ),
        (E, "en"): (
            "[{tenant_name}] A seat is held for you",
            "Dear {patient_name},\n\nA seat for “{package}” at {when} at {location} is held for "
            "you until {hold_until}. Pay to confirm before then, or it goes to the next person "
            "waiting.\n\n{tenant_name}",
        ),
        (S, "zh-CN"): (
            "",
            "【{tenant_name}】{patient_name}您好，{when} {location}的体检有空位，已为您保留至"
            " {hold_until}，请尽快支付确认。",
        ),
        (S, "en"): (
            "",
            "[{tenant_name}] {patient_name}, a seat at {when} at {location} is held for you "
            "until {hold_until}. Pay to confirm.",
        ),
        (I, "zh-CN"): ("候补成功：{package}", "{when}，{location}。请在 {hold_until} 前支付确认。"),
        (I, "en"): ("A seat for you: {package}", "{when} at {location}. Confirm by {hold_until}."),
    },
    extra={"hold_until": "12-04 10:30"},
)


def dedupe_key(booking: Booking, kind: str, sequence: int | None = None) -> str:
    """``booking:<id>:<kind>:<ics_sequence>``."""
    seq = booking.ics_sequence if sequence is None else sequence
    return f"booking:{booking.id}:{kind}:{seq}"


def _channel(session: TenantSession, patient: Patient) -> Channel:
    """SMS when the tenant sends SMS and the patient has a phone, else email, else the inbox."""
    settings = messaging_settings(session)
    if settings.sms_enabled and patient.phone:
        return Channel.SMS
    if settings.email_enabled and patient.email:
        return Channel.EMAIL
    return Channel.INAPP


def _facts(session: TenantSession, booking: Booking) -> tuple[Patient, Slot, dict[str, Any], Any]:
    from prm_saas.booking.schedule import tenant_zone

    patient = session.exec(select(Patient).where(Patient.id == booking.patient_id)).one()
    slot = session.exec(select(Slot).where(Slot.id == booking.slot_id)).one()
    pkg = session.exec(select(HealthPackage).where(HealthPackage.id == booking.package_id)).one()
    loc = session.exec(select(Location).where(Location.id == booking.location_id)).one()
    tenant = session.get(Tenant, session.tenant_id)
    en = (patient.locale or (tenant.default_locale if tenant else "zh-CN")) == "en"
    tz = tenant_zone(session)
    variables = {
        "package": (pkg.name_en or pkg.name_zh) if en else pkg.name_zh,
        "when": slot.starts_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        "location": (loc.name_en or loc.name_zh) if en else loc.name_zh,
        "address": loc.address,
        "checkin_code": booking.checkin_code,
        "_instructions": (pkg.instructions_en or pkg.instructions_zh)
        if en
        else pkg.instructions_zh,
    }
    return patient, slot, variables, tz


def _send(
    session: TenantSession,
    booking: Booking,
    patient: Patient,
    kind: str,
    variables: dict[str, Any],
    *,
    due_at: datetime | None = None,
    expires_at: datetime | None = None,
    urgent: bool = False,
) -> None:
    try:
        enqueue(
            session,
            template_key=f"booking.{kind}",
            channel=_channel(session, patient),
            patient_id=int(patient.id or 0),
            variables={k: v for k, v in variables.items() if not k.startswith("_")},
            dedupe_key=dedupe_key(booking, kind),
            due_at=due_at,
            expires_at=expires_at,
            urgent=urgent,
            source=f"booking:{booking.id}",
        )
    except NoAddress:
        return  # nobody to tell on that channel: the booking stands regardless


def _reminders(
    session: TenantSession,
    booking: Booking,
    patient: Patient,
    slot: Slot,
    variables: dict[str, Any],
    tz: Any,
    now: datetime,
) -> None:
    start = slot.starts_at
    local_eve = datetime.combine(
        start.astimezone(tz).date() - timedelta(days=1), DAY_REMINDER_LOCAL, tzinfo=tz
    )
    day_due = local_eve.astimezone(start.tzinfo)
    if day_due > now:
        _send(
            session,
            booking,
            patient,
            "reminder_day",
            {**variables, "instructions": variables["_instructions"] or "-"},
            due_at=day_due,
            expires_at=start,
        )
    short_due = start - SHORT_REMINDER
    if short_due > now:
        _send(
            session, booking, patient, "reminder_2h", variables, due_at=short_due, expires_at=start
        )


def booking_confirmed(
    session: TenantSession, booking: Booking, now: datetime | None = None
) -> None:
    """The confirmation now, and the reminders scheduled."""
    now = now or utcnow()
    patient, slot, variables, tz = _facts(session, booking)
    _send(session, booking, patient, "confirmed", variables, urgent=True)
    _reminders(session, booking, patient, slot, variables, tz, now)


def _drop_reminders(session: TenantSession, booking: Booking, sequence: int, now: datetime) -> None:
    suppress_scheduled(
        session,
        dedupe_keys=[dedupe_key(booking, k, sequence) for k in REMINDER_KINDS],
        reason="booking_changed",
        now=now,
    )


def booking_rescheduled(
    session: TenantSession, booking: Booking, *, old_sequence: int, now: datetime | None = None
) -> None:
    """The old time's reminders dropped; for a confirmed booking a notice and new reminders."""
    from prm_saas.booking.models import BookingStatus

    now = now or utcnow()
    _drop_reminders(session, booking, old_sequence, now)
    if booking.status != BookingStatus.CONFIRMED:
        return
    patient, slot, variables, tz = _facts(session, booking)
    _send(session, booking, patient, "rescheduled", variables, urgent=True)
    _reminders(session, booking, patient, slot, variables, tz, now)


def booking_released(
    session: TenantSession, booking: Booking, *, was_confirmed: bool, now: datetime | None = None
) -> None:
    """Pending reminders dropped; a confirmed booking that was cancelled gets a notice
    (an unpaid hold that lapses does not)."""
    from prm_saas.booking.models import BookingStatus

    now = now or utcnow()
    # release() has already counted the cancellation in ics_sequence: the pending
    # reminders belong to the sequence before it.
    _drop_reminders(session, booking, booking.ics_sequence - 1, now)
    if was_confirmed and booking.status == BookingStatus.CANCELLED:
        patient, _slot, variables, _tz = _facts(session, booking)
        _send(session, booking, patient, "cancelled", variables, urgent=True)


def waitlist_offer(session: TenantSession, booking: Booking, entry: WaitlistEntry) -> None:
    """Tell the waiting patient a seat is held for them until the offer ends."""
    patient, _slot, variables, tz = _facts(session, booking)
    until = entry.offer_expires_at or booking.hold_expires_at
    hold = until.astimezone(tz).strftime("%m-%d %H:%M") if until else ""
    _send(
        session,
        booking,
        patient,
        "waitlist_offer",
        {**variables, "hold_until": hold},
        urgent=True,
        expires_at=until,
    )
