"""A booking's calendar invitation and check-in QR code, for its patient (or the
front desk): the facts gathered under the tenant wall, then ``ics.invite``."""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import datetime

from prm_saas.accounts.authz import Permission, Principal, require_patient, require_staff
from prm_saas.accounts.models import Patient, PrincipalKind
from prm_saas.booking.ics import InviteFacts, invite
from prm_saas.booking.models import Booking, BookingStatus, Location, Slot
from prm_saas.booking.qr import checkin_qr_svg
from prm_saas.mall.models import HealthPackage
from prm_saas.settings import get_settings
from tenants.db import TenantSession
from tenants.errors import NotFound
from tenants.lookup import get_or_404
from tenants.resolution import tenant_by_id

# Statuses whose invitation is a cancellation (the calendar removes the event).
_CANCELLED = frozenset({BookingStatus.CANCELLED, BookingStatus.EXPIRED})


@dataclass(frozen=True)
class Invitation:
    """An .ics file to download."""

    filename: str
    content: bytes


def _own_booking(session: TenantSession, actor: Principal | None, booking_id: object) -> Booking:
    """The booking, if the actor is its patient or front-desk staff of its tenant."""
    if actor is not None and actor.kind == PrincipalKind.STAFF:
        require_staff(session, actor, Permission.FRONT_DESK)
        return get_or_404(session, Booking, booking_id)
    patient = require_patient(session, actor)
    booking = get_or_404(session, Booking, booking_id)
    if booking.patient_id != patient.id:
        raise NotFound()
    return booking


def booking_invitation(
    *, session: TenantSession, actor: Principal | None, booking_id: object, now: datetime
) -> Invitation:
    """The booking's .ics: METHOD:REQUEST with its current SEQUENCE while it
    stands, METHOD:CANCEL once cancelled or expired. Same UID for its whole life."""
    booking = _own_booking(session, actor, booking_id)
    tenant = tenant_by_id(booking.tenant_id)
    if tenant is None:
        raise NotFound()
    slot = get_or_404(session, Slot, booking.slot_id)
    location = get_or_404(session, Location, booking.location_id)
    package = get_or_404(session, HealthPackage, booking.package_id)
    patient = get_or_404(session, Patient, booking.patient_id)
    english = (patient.locale or tenant.default_locale) == "en"
    title = (package.name_en if english else "") or package.name_zh
    place = (location.name_en if english else "") or location.name_zh
    instructions = (package.instructions_en if english else "") or package.instructions_zh
    code_label = "Check-in code" if english else "签到码"
    _name, organizer = email.utils.parseaddr(get_settings().mail_from)
    facts = InviteFacts(
        uid=booking.ics_uid,
        sequence=booking.ics_sequence,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        timezone=tenant.timezone,
        title=title,
        tenant_name=tenant.name,
        location=", ".join(p for p in (place, location.address) if p),
        description="\n\n".join(
            p for p in (instructions, f"{code_label}: {booking.checkin_code}") if p
        ),
        attendee_name=patient.name,
        attendee_email=patient.email,
        organizer_email=organizer or "no-reply@prm.localhost",
        cancelled=booking.status in _CANCELLED,
    )
    return Invitation(filename=f"booking-{booking.id}.ics", content=invite(facts, now=now))


def booking_qr(*, session: TenantSession, actor: Principal | None, booking_id: object) -> str:
    """The check-in QR code (an SVG data URI) of a booking that can still be
    checked in; empty for one that cannot."""
    booking = _own_booking(session, actor, booking_id)
    if booking.status not in (BookingStatus.CONFIRMED, BookingStatus.HELD):
        return ""
    return checkin_qr_svg(booking.checkin_code)
