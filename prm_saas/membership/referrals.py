"""Referrals (推荐好友): a patient registers with another patient's member card
number as the referral code, and the referrer earns the tenant's REFERRAL earn
rule once, when the referred patient's first order is paid.

- The code is the referrer's card number (printed on /card), looked up in the
  session's tenant only, case and width insensitive like the desk's lookup: an
  unknown number and another tenant's get the same field error.
- ``record_referral`` links the new patient in the registration's transaction.
- ``on_order_paid`` (orders: beside the per-yuan points) decides once, on the
  first paid order (money paid > 0): it records that order and awards
  ``points.award(rule=REFERRAL, source=Source("referral", <referred>),
  key "referral:<referred>")``. A later order never earns again, even after a
  refund, and a rule that is off at that moment gives nothing, then or later.
- ``on_order_refunded``: a full refund of that first order takes the referral
  points back (``points.reverse`` on the referral source, once).
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, func, select

from prm_saas.accounts.authz import Principal, require_patient
from prm_saas.accounts.models import AccountStatus, Patient
from prm_saas.membership import cards, points
from prm_saas.membership.messages import REFERRAL_REWARDED, channel_for, referral_key
from prm_saas.membership.models import (
    MemberCard,
    PointsAccount,
    PointsEntry,
    Referral,
    RuleKind,
)
from prm_saas.messaging.outbox import NoAddress, enqueue
from prm_saas.settings import get_settings
from prm_saas.validation import Checker
from tenants.db import TenantSession
from tenants.models import Tenant
from tenants.resolution import TenantInfo, tenant_base_url

log = logging.getLogger(__name__)

CODE_MAX = 30


def normalize_code(code: object) -> str:
    """A typed card number as stored: NFKC (full-width digits), trimmed, upper case."""
    return unicodedata.normalize("NFKC", str(code or "")).strip().upper()


def referrer_for_code(session: TenantSession, c: Checker, field: str, code: object) -> int | None:
    """The patient whose card number is ``code`` in the session's tenant, or None
    for a blank code; an unknown number (or another tenant's: the session sees
    only its own cards, or a disabled account's) fails ``field`` with
    ``membership.field.referral_unknown``."""
    text = normalize_code(code)
    if not text:
        return None
    card = None
    if len(text) <= CODE_MAX:
        card = session.exec(
            select(MemberCard)
            .join(Patient, col(Patient.id) == col(MemberCard.patient_id))
            .where(
                func.upper(col(MemberCard.number)) == text,
                col(Patient.status) == AccountStatus.ACTIVE,
            )
        ).first()
    if card is None:
        c.fail(field, "membership.field.referral_unknown")
        return None
    return card.patient_id


def record_referral(
    session: TenantSession, *, referrer_id: int, referred_id: int, now: datetime
) -> Referral:
    """Link a newly registered patient to the referrer (the registration's own
    transaction; callers check the code with ``referrer_for_code`` first)."""
    if referrer_id == referred_id:
        # Only possible if a code named the new patient's own card.
        c = Checker()
        c.fail("referral_code", "membership.field.referral_own")
        c.raise_if_any()
    row = Referral(referrer_patient_id=referrer_id, referred_patient_id=referred_id, created_at=now)
    session.add(row)
    session.flush()
    return row


def _locked_referral(session: TenantSession, referred_id: int) -> Referral | None:
    return session.exec(
        select(Referral).where(col(Referral.referred_patient_id) == referred_id).with_for_update()
    ).first()


def on_order_paid(
    session: TenantSession, *, patient_id: int, order_id: int, now: datetime
) -> PointsEntry | None:
    """The patient's order was paid: if it is the first paid order of a referred
    patient, the referrer earns the REFERRAL rule (once ever). Returns the new
    (or existing) ledger entry, or None."""
    ref = _locked_referral(session, patient_id)
    if ref is None or ref.order_id is not None:
        return None
    ref.order_id = order_id
    entry = points.award(
        session,
        patient_id=ref.referrer_patient_id,
        rule=RuleKind.REFERRAL,
        source=points.Source("referral", str(patient_id)),
        idempotency_key=f"referral:{patient_id}",
        now=now,
    )
    if entry is not None:
        ref.rewarded_at = now
        ref.points = entry.points
        cards.recalc_level(session, patient_id=ref.referrer_patient_id, now=now)
        _thank(session, ref, entry.points)
    session.add(ref)
    session.flush()
    return entry


def on_order_refunded(session: TenantSession, *, order_id: int, fully: bool, now: datetime) -> None:
    """A refund of ``order_id``: when it is the rewarded first order of a referral
    and is now fully refunded, take the referrer's points back (once)."""
    if not fully:
        return
    ref = session.exec(
        select(Referral).where(col(Referral.order_id) == order_id).with_for_update()
    ).first()
    if ref is None or ref.rewarded_at is None or ref.reversed_at is not None:
        return
    points.reverse(
        session,
        source=points.Source("referral", str(ref.referred_patient_id)),
        idempotency_key=f"referral:{ref.referred_patient_id}:refund",
        now=now,
        reason="refund",
    )
    ref.reversed_at = now
    session.add(ref)
    session.flush()
    cards.recalc_level(session, patient_id=ref.referrer_patient_id, now=now)


def _thank(session: TenantSession, ref: Referral, earned: int) -> None:
    """Tell the referrer through the messaging engine (once per referred patient);
    a referrer the engine cannot reach is simply not told."""
    referrer = session.exec(select(Patient).where(col(Patient.id) == ref.referrer_patient_id)).one()
    if referrer.status != AccountStatus.ACTIVE:
        return
    balance = session.exec(
        select(PointsAccount.balance).where(
            col(PointsAccount.patient_id) == ref.referrer_patient_id
        )
    ).first()
    try:
        enqueue(
            session,
            template_key=REFERRAL_REWARDED.key,
            channel=channel_for(session, referrer),
            patient_id=ref.referrer_patient_id,
            variables={"points": str(earned), "balance": str(int(balance or 0))},
            dedupe_key=referral_key(ref.referred_patient_id),
            source=f"referral:{ref.referred_patient_id}",
        )
    except NoAddress:
        log.info("referrer %s has no address for the thank-you", ref.referrer_patient_id)


@dataclass(frozen=True)
class ReferralSummary:
    """What /card shows under "invite friends". ``code`` and ``share_url`` are ""
    until the patient has a card."""

    code: str
    share_url: str
    joined: int  # registered with the code
    rewarded: int  # whose first paid order earned the referrer points (not taken back)
    points: int  # earned by those


def referral_summary(*, session: TenantSession, actor: Principal | None) -> ReferralSummary:
    """The signed-in patient's referral code, share link and how many friends
    joined and were rewarded."""
    me = require_patient(session, actor)
    card = session.exec(select(MemberCard).where(col(MemberCard.patient_id) == me.id)).first()
    rows = session.exec(select(Referral).where(col(Referral.referrer_patient_id) == me.id)).all()
    rewarded = [r for r in rows if r.rewarded_at is not None and r.reversed_at is None]
    code = card.number if card is not None else ""
    return ReferralSummary(
        code=code,
        share_url=f"{_base_url(session)}/register?ref={code}" if code else "",
        joined=len(rows),
        rewarded=len(rewarded),
        points=sum(r.points for r in rewarded),
    )


def _base_url(session: TenantSession) -> str:
    tenant = session.get(Tenant, session.tenant_id)
    assert tenant is not None
    return tenant_base_url(TenantInfo.of(tenant), public_url=get_settings().public_url)


@dataclass(frozen=True)
class ReferralInfo:
    """For the admin's member detail: who referred the patient (card number and
    name, "" if nobody) and how many patients they referred."""

    referred_by_card: str
    referred_by_name: str
    referred_count: int


def referral_info(session: TenantSession, *, patient_id: int) -> ReferralInfo:
    """Referral facts of a patient the caller has already been allowed to see."""
    ref = session.exec(
        select(Referral).where(col(Referral.referred_patient_id) == patient_id)
    ).first()
    card_no, name = "", ""
    if ref is not None:
        card = session.exec(
            select(MemberCard).where(col(MemberCard.patient_id) == ref.referrer_patient_id)
        ).first()
        who = session.get(Patient, ref.referrer_patient_id)
        card_no = card.number if card is not None else ""
        name = who.name if who is not None else ""
    count = session.exec(
        select(func.count())
        .select_from(Referral)
        .where(col(Referral.referrer_patient_id) == patient_id)
    ).one()
    return ReferralInfo(referred_by_card=card_no, referred_by_name=name, referred_count=int(count))
