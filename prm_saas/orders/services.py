"""Orders, payment and refunds (the orders part of docs/design/booking.md).

One order per booking. Checkout takes the seat (``booking.reserve``) and writes
the order in one transaction; it never calls Stripe, so no seat is held behind a
network call. The PaymentIntent is made on demand, once per order, by
``create_payment_intent`` (the hosted pay page calls it) under the order's row
lock, with the idempotency key ``order-<tenant>-<order>``.

Stripe is the truth about money. Every webhook, and the pay page's return,
reduce to ``sync_payment_intent``: fetch the PaymentIntent and its refunds from
Stripe and move the order to match. So the order of arrival does not matter: a
late ``processing`` or ``payment_failed`` event finds Stripe saying
``succeeded`` and changes nothing; a refund seen before the payment's own event
is applied after the payment, in the same sync.

Every change to an order happens under its row lock (``_lock_order``: SELECT
... FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite), so concurrent
webhooks, refunds, the expiry beat and patient cancels serialize per order.

A payment that succeeds after the order expired (the hold lapsed): if a new
booking for the same slot can be made now (same checks as a fresh reservation:
seat free, slot not started), it is made, confirmed, and the order is paid;
otherwise the payment is refunded in full at once and the order ends
``refunded``. A payment for an order the patient cancelled is refunded in full.

Membership (docs/design/membership.md): checkout prices a coupon and the member
level's discount as negative lines (``rewards.price_order``) and takes the
coupon in its transaction; an unpaid order that expires or is cancelled gives
the coupon back. Payment earns points by the per-yuan rule once per order
(key ``order:<id>:paid``) and recalculates the level; every refund takes back
its share of those points once (key ``order:<id>:refund:<refund id>``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, or_, select

from prm_saas.accounts.authz import Permission, Principal, require_patient, require_staff
from prm_saas.accounts.models import Patient
from prm_saas.audit.services import record
from prm_saas.booking import services as booking_services
from prm_saas.booking.models import Booking, BookingStatus
from prm_saas.booking.schedule import get_booking_settings
from prm_saas.mall.pricing import PricedPackage, package_for_booking
from prm_saas.membership import cards, points, referrals, rewards
from prm_saas.membership.models import EntryKind, PointsEntry, RuleKind
from prm_saas.orders import stripe_gateway as gateway
from prm_saas.orders.models import (
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentMethod,
    Refund,
)
from prm_saas.settings import get_settings
from prm_saas.tags.services import reevaluate_for_patient
from tenants.db import TenantSession, on_commit
from tenants.errors import DomainError, FieldErrors, NotFound
from tenants.lookup import get_or_404
from tenants.models import Tenant

log = logging.getLogger(__name__)

IDEMPOTENCY_KEY_MAX = 64
REASON_MAX = 200
LIST_LIMIT = 200
MAX_YUAN = Decimal(100_000_000)  # far above any health check
# Refund statuses that count as money going back (Stripe: pending becomes succeeded).
COUNTED_REFUNDS = ("succeeded", "pending")
PAID_STATES = (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED)


# --- views ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckoutResult:
    """What checkout made (or had made for the same idempotency key)."""

    order_id: int
    booking_id: int
    pay_url: str  # the hosted pay page ("" for pay at the clinic or nothing to pay)
    number: str
    status: str


@dataclass(frozen=True)
class OrderSummary:
    """One row of an order list."""

    id: int
    number: str
    status: str
    payment_method: str
    total_fen: int
    paid_fen: int
    refunded_fen: int
    booking_id: int | None
    patient_id: int
    patient_name: str
    patient_phone: str
    created_at: datetime
    expires_at: datetime | None
    paid_at: datetime | None


@dataclass(frozen=True)
class LineView:
    """An order line."""

    kind: str
    ref_id: int
    name: str
    unit_price_fen: int
    quantity: int
    amount_fen: int


@dataclass(frozen=True)
class PaymentView:
    """A payment of an order."""

    id: int
    method: str
    provider_ref: str
    status: str
    amount_fen: int
    created_at: datetime


@dataclass(frozen=True)
class RefundRow:
    """A refund of an order."""

    id: int
    amount_fen: int
    reason: str
    status: str
    provider_ref: str
    created_at: datetime


@dataclass(frozen=True)
class OrderDetail:
    """An order with its lines, payments and refunds."""

    order: OrderSummary
    lines: list[LineView]
    payments: list[PaymentView]
    refunds: list[RefundRow]
    refundable_fen: int
    pay_url: str


@dataclass(frozen=True)
class PayPage:
    """What the hosted pay page shows."""

    order_id: int
    booking_id: int | None
    number: str
    status: str
    total_fen: int
    lines: list[LineView]
    client_secret: str  # "" when there is nothing to pay
    intent_status: str
    locale: str
    tenant_name: str


# --- money ---------------------------------------------------------------------------------


def yuan(fen: int) -> str:
    """Fen as yuan with two decimals: 12345 -> "123.45"."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def parse_yuan(text: object) -> int:
    """A yuan amount typed by a person ("123.45", "¥ 1,200", "80") as exact fen.

    Decimal, never float: "0.29" is 29 fen, not 28. More than two decimals,
    negative or non-numbers raise ``FieldErrors`` on ``amount``.
    """
    raw = str(text or "").strip().replace("¥", "").replace("￥", "").replace(",", "").strip()
    if not raw:
        raise FieldErrors.single("amount", "field.required")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise FieldErrors.single("amount", "orders.amount_invalid") from None
    # Bounds first: quantize() of a huge exponent ("1e3000") raises.
    if not value.is_finite() or value <= 0 or value > MAX_YUAN:
        raise FieldErrors.single("amount", "orders.amount_invalid")
    fen = value * 100
    if fen != fen.to_integral_value():
        raise FieldErrors.single("amount", "orders.amount_invalid")
    return int(fen)


# --- pay links -----------------------------------------------------------------------------


def _sign(payload: str) -> str:
    # The same construction as the unsubscribe links (prm_saas.messaging.preferences),
    # with its own purpose string so one kind of token never passes for the other.
    key = get_settings().secret_key.encode()
    digest = hmac.new(key, f"pay:{payload}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")


def pay_token(tenant_id: int, order_id: int) -> str:
    """An unguessable token naming (tenant, order) for the hosted pay page."""
    payload = f"{tenant_id}.{order_id}"
    return f"{payload}.{_sign(payload)}"


def read_pay_token(token: str) -> tuple[int, int] | None:
    """(tenant, order) of a valid token, else None."""
    parts = (token or "").split(".")
    if len(parts) != 3:
        return None
    payload = ".".join(parts[:2])
    if not hmac.compare_digest(_sign(payload), parts[2]):
        return None
    try:
        return int(parts[0]), int(parts[1])
    except ValueError:
        return None


def pay_url(tenant_id: int, order_id: int) -> str:
    """The hosted pay page of an order."""
    return f"{get_settings().public_url}/api/pay/{pay_token(tenant_id, order_id)}"


# --- helpers -------------------------------------------------------------------------------


def _tenant_id(session: TenantSession) -> int:
    tid = session.tenant_id
    if tid is None:
        raise NotFound()
    return tid


def _zone(session: TenantSession) -> ZoneInfo:
    tenant = session.get(Tenant, _tenant_id(session))
    try:
        return ZoneInfo(tenant.timezone if tenant else "Asia/Shanghai")
    except (KeyError, ValueError):
        return ZoneInfo("Asia/Shanghai")


def _lock_order(session: TenantSession, order_id: object) -> Order:
    """The order, row-locked for the rest of the transaction (NotFound if missing or
    another tenant's), re-read so the caller sees the newest committed state."""
    order = get_or_404(session, Order, order_id)
    booking_services.write_lock(session)  # SQLite: BEGIN IMMEDIATE (one writer)
    locked = session.exec(
        select(Order)
        .where(col(Order.id) == order.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return locked


def _clean_key(value: object) -> str:
    key = str(value or "").strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX:
        raise DomainError("orders.idempotency_key_invalid")
    return key


def _stripe_payment(session: TenantSession, order_id: int) -> Payment | None:
    return session.exec(
        select(Payment)
        .where(Payment.order_id == order_id, Payment.method == PaymentMethod.STRIPE)
        .order_by(col(Payment.id).desc())
    ).first()


def _paid_payment(session: TenantSession, order_id: int) -> Payment | None:
    return session.exec(
        select(Payment)
        .where(Payment.order_id == order_id, Payment.status == "succeeded")
        .order_by(col(Payment.id))
    ).first()


def _next_number(session: TenantSession, now: datetime) -> str:
    prefix = now.astimezone(_zone(session)).strftime("%Y%m%d") + "-"
    last = session.exec(
        select(func.max(Order.number)).where(col(Order.number).startswith(prefix))
    ).one()
    seq = int(str(last)[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{seq:06d}"


# --- opening an order ----------------------------------------------------------------------


def open_order_for_booking(
    *,
    session: TenantSession,
    booking: Booking,
    priced: PricedPackage,
    method: PaymentMethod | str,
    expires_at: datetime | None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
    member_priced: bool = False,
) -> Order:
    """The order (and its lines) for a booking just reserved, priced by the mall.

    Used by checkout (which passes ``member_priced=True``: its price already has
    the coupon and the level discount), by waitlist offers and walk-ins, whose
    price gets the patient's level discount here. The number (local date +
    sequence, e.g. 20261201-000123) is unique per tenant; two orders racing for
    the same number retry with the next one. The idempotency key defaults to the
    booking's. An order that exists for this key is returned as it is.
    """
    assert booking.id is not None
    method = PaymentMethod(method)
    key = idempotency_key or f"booking:{booking.id}"
    existing = session.exec(select(Order).where(Order.idempotency_key == key)).first()
    if existing is not None:
        return existing
    now = now or booking.created_at
    if not member_priced:
        quoted = rewards.price_order(
            session, patient_id=booking.patient_id, priced=priced, coupon_code="", now=now
        )
        priced = rewards.priced_with(priced, quoted)
    nothing_to_pay = priced.total_fen == 0
    for _attempt in range(20):
        order = Order(
            number=_next_number(session, now),
            patient_id=booking.patient_id,
            booking_id=booking.id,
            status=OrderStatus.PAID if nothing_to_pay else OrderStatus.PENDING_PAYMENT,
            payment_method=method,
            total_fen=priced.total_fen,
            idempotency_key=key,
            expires_at=None if nothing_to_pay else expires_at,
            created_at=now,
            updated_at=now,
            paid_at=now if nothing_to_pay else None,
        )
        try:
            with session.begin_nested():
                session.add(order)
                session.flush()
                assert order.id is not None
                for line in priced.lines:
                    session.add(
                        OrderLine(
                            order_id=order.id,
                            kind=line.kind,
                            ref_id=line.ref_id,
                            name=line.name[:120],
                            unit_price_fen=line.unit_price_fen,
                            quantity=line.quantity,
                            amount_fen=line.amount_fen,
                        )
                    )
                session.flush()
            return order
        except IntegrityError:
            winner = session.exec(select(Order).where(Order.idempotency_key == key)).first()
            if winner is not None:
                return winner
            # Another order took this number: try the next one.
    raise DomainError("error.generic")


def checkout(
    *,
    session: TenantSession,
    actor: Principal,
    package_id: int,
    location_id: int,
    slot_id: int,
    addon_item_ids: list[int],
    payment_method: str,
    idempotency_key: str,
    now: datetime,
    coupon_code: str = "",
) -> CheckoutResult:
    """The patient orders a package for a slot: seat + order in one transaction.

    Online payment (``stripe``) holds the seat until now + the tenant's
    ``hold_minutes``; ``clinic`` (pay at the front desk) confirms the booking at
    once if the tenant allows it (``orders.clinic_not_allowed`` otherwise). The
    same idempotency key (per patient) returns the same order and booking.

    A coupon code (``coupon_code``) and the patient's member level discount are
    priced by ``rewards.price_order`` as negative lines; the coupon is taken
    with a conditional UPDATE in this transaction (``coupon.used`` if another
    checkout got it first). An order whose total comes to 0 is paid at once and
    needs no Stripe.
    """
    actor = require_patient(session, actor)
    key = _clean_key(idempotency_key)
    try:
        method = PaymentMethod(str(payment_method))
    except ValueError:
        raise DomainError("orders.method_invalid") from None
    tid = _tenant_id(session)
    idem = f"checkout:{actor.id}:{key}"
    existing = session.exec(select(Order).where(Order.idempotency_key == idem)).first()
    if existing is not None:
        return _checkout_result(tid, existing)
    settings = get_booking_settings(session=session)
    if method == PaymentMethod.CLINIC and not settings.allow_pay_at_clinic:
        raise DomainError("orders.clinic_not_allowed")
    if not isinstance(addon_item_ids, list | tuple):
        raise DomainError("mall.addon_unavailable")
    priced = package_for_booking(
        session=session,
        package_id=package_id,
        location_id=location_id,
        addon_item_ids=list(addon_item_ids),
    )
    assert actor.id is not None
    quoted = rewards.price_order(
        session, patient_id=actor.id, priced=priced, coupon_code=coupon_code, now=now
    )
    priced = rewards.priced_with(priced, quoted)
    online = method == PaymentMethod.STRIPE and priced.total_fen > 0
    hold_until = now + timedelta(minutes=settings.hold_minutes) if online else None
    try:
        with session.begin_nested():
            booking = booking_services.reserve(
                session=session,
                patient_id=actor.id,
                package_id=package_id,
                location_id=location_id,
                slot_id=slot_id,
                addon_item_ids=priced.addon_item_ids,
                idempotency_key=idem,
                hold_until=hold_until,
                now=now,
            )
            order = open_order_for_booking(
                session=session,
                booking=booking,
                priced=priced,
                method=method,
                expires_at=hold_until,
                idempotency_key=idem,
                now=now,
                member_priced=True,
            )
            if quoted.coupon_id is not None:
                assert order.id is not None
                rewards.take_coupon(session, coupon_id=quoted.coupon_id, order_id=order.id, now=now)
    except IntegrityError:
        # A concurrent request with the same key won; answer with its order.
        winner = session.exec(select(Order).where(Order.idempotency_key == idem)).first()
        if winner is None:
            raise
        return _checkout_result(tid, winner)
    record(
        session,
        actor=actor,
        action="orders.checkout",
        target_type="order",
        target_id=order.id,
        details={
            "booking_id": booking.id,
            "method": str(method),
            "total_fen": order.total_fen,
            "coupon": quoted.coupon_code,
        },
    )
    return _checkout_result(tid, order)


def _checkout_result(tenant_id: int, order: Order) -> CheckoutResult:
    assert order.id is not None
    payable = (
        order.payment_method == PaymentMethod.STRIPE
        and order.status == OrderStatus.PENDING_PAYMENT
        and order.total_fen > 0
    )
    return CheckoutResult(
        order_id=order.id,
        booking_id=order.booking_id or 0,
        pay_url=pay_url(tenant_id, order.id) if payable else "",
        number=order.number,
        status=str(order.status),
    )


# --- Stripe: the PaymentIntent -------------------------------------------------------------


def create_payment_intent(
    *, session: TenantSession, order_id: int, now: datetime
) -> gateway.IntentView:
    """The order's PaymentIntent, created on first call (one per order: the order's
    row lock makes concurrent calls wait for the first). Amount in fen, CNY,
    metadata tenant_id / order_id / order_number."""
    order = _lock_order(session, order_id)
    if (
        order.payment_method != PaymentMethod.STRIPE
        or order.status != OrderStatus.PENDING_PAYMENT
        or order.total_fen <= 0
    ):
        raise DomainError("orders.not_payable")
    if order.expires_at is not None and order.expires_at <= now:
        raise DomainError("orders.expired")
    assert order.id is not None
    tid = _tenant_id(session)
    payment = _stripe_payment(session, order.id)
    if payment is not None and payment.status != "canceled":
        return gateway.retrieve_payment_intent(payment.provider_ref)
    intent = gateway.create_payment_intent(
        amount_fen=order.total_fen,
        metadata={"tenant_id": str(tid), "order_id": str(order.id), "order_number": order.number},
        idempotency_key=f"order-{tid}-{order.id}",
    )
    session.add(
        Payment(
            order_id=order.id,
            method=PaymentMethod.STRIPE,
            provider_ref=intent.id,
            status=intent.status,
            amount_fen=order.total_fen,
            created_at=now,
            updated_at=now,
        )
    )
    session.flush()
    return intent


def confirm_card(
    *, session: TenantSession, order_id: int, card_token: str, now: datetime
) -> gateway.IntentView:
    """Attach a Stripe.js card token to the order's PaymentIntent and confirm it on
    the server (the pay page's flow with localstripe, whose Stripe.js cannot confirm
    a fresh card itself). The order moves only through ``sync_payment_intent``."""
    token = str(card_token or "").strip()
    if not token.startswith("tok_") or len(token) > 100:
        raise DomainError("orders.card_invalid")
    intent = create_payment_intent(session=session, order_id=order_id, now=now)
    if intent.status in ("succeeded", "processing"):
        return intent
    return gateway.confirm_with_card_token(intent.id, token)


# --- paid, late payments, refunds from Stripe ----------------------------------------------


def _set_refund_totals(order: Order, session: TenantSession) -> None:
    """refunded_fen = what the refund rows say; the status follows the money."""
    assert order.id is not None
    total = session.exec(
        select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(
            Refund.order_id == order.id, col(Refund.status).in_(COUNTED_REFUNDS)
        )
    ).one()
    order.refunded_fen = min(int(total or 0), order.paid_fen)
    if order.paid_fen > 0 and order.status in PAID_STATES:
        if order.refunded_fen >= order.paid_fen:
            order.status = OrderStatus.REFUNDED
        elif order.refunded_fen > 0:
            order.status = OrderStatus.PARTIALLY_REFUNDED
        else:
            order.status = OrderStatus.PAID
    session.add(order)


def _reseat(session: TenantSession, order: Order, now: datetime) -> int | None:
    """A new confirmed booking like the order's lapsed one, if one can be made now."""
    old = session.get(Booking, order.booking_id) if order.booking_id else None
    if old is None:
        return None
    try:
        with session.begin_nested():
            b = booking_services.reserve(
                session=session,
                patient_id=old.patient_id,
                package_id=old.package_id,
                location_id=old.location_id,
                slot_id=old.slot_id,
                addon_item_ids=json.loads(old.addon_item_ids or "[]"),
                idempotency_key=f"{order.idempotency_key}:late"[:100],
                hold_until=None,
                now=now,
            )
    except DomainError as exc:
        log.info("order %s paid late; cannot re-seat: %s", order.id, exc.key)
        return None
    return b.id


def _apply_paid(
    session: TenantSession, order: Order, payment: Payment, amount_fen: int, now: datetime
) -> str:
    """The payment succeeded: move the order (locked by the caller) once."""
    assert order.id is not None
    payment.status = "succeeded"
    payment.updated_at = now
    session.add(payment)
    if order.status in PAID_STATES:
        return "already_paid"
    order.paid_fen = amount_fen
    order.paid_at = now
    order.updated_at = now
    late = order.status != OrderStatus.PENDING_PAYMENT
    if not late and order.booking_id is not None:
        try:
            with session.begin_nested():
                booking_services.on_paid(session, order.booking_id, now)
        except DomainError:
            late = True  # the hold lapsed before the order was expired
    if not late:
        order.status = OrderStatus.PAID
        order.expires_at = None
        session.add(order)
        record(session, actor=None, action="orders.paid", target_type="order", target_id=order.id)
        _award_paid_points(session, order, amount_fen, now)
        return "paid"
    new_booking = None
    if order.status != OrderStatus.CANCELLED:
        new_booking = _reseat(session, order, now)
    order.status = OrderStatus.PAID
    order.expires_at = None
    if new_booking is not None:
        order.booking_id = new_booking
        session.add(order)
        record(
            session,
            actor=None,
            action="orders.paid_late_reseated",
            target_type="order",
            target_id=order.id,
            details={"booking_id": new_booking},
        )
        # The expiry gave the coupon back; the price paid had it, so take it again.
        rewards.retake_coupon(session, order_id=order.id, now=now)
        _award_paid_points(session, order, amount_fen, now)
        return "paid_reseated"
    session.add(order)
    session.flush()
    _refund_locked(
        session,
        order=order,
        amount_fen=amount_fen - order.refunded_fen,
        reason="late payment: the seat was gone",
        key=f"late:{order.id}",
        now=now,
        actor=None,
    )
    return "paid_late_refunded"


def _award_paid_points(session: TenantSession, order: Order, paid_fen: int, now: datetime) -> None:
    """Points for what the order paid (the tenant's per-yuan rule, locked for the
    return window), once per order; then the patient's level."""
    if paid_fen <= 0 or order.id is None:
        return
    points.award(
        session,
        patient_id=order.patient_id,
        rule=RuleKind.PER_YUAN_PAID,
        source=points.Source("order", str(order.id)),
        idempotency_key=f"order:{order.id}:paid",
        now=now,
        paid_fen=paid_fen,
    )
    cards.recalc_level(session, patient_id=order.patient_id, now=now)
    # A referred patient's first paid order earns the referrer points, once ever.
    referrals.on_order_paid(session, patient_id=order.patient_id, order_id=order.id, now=now)
    # Tag rules on packages bought, points and levels see the paid order at once.
    reevaluate_for_patient(session=session, patient_id=order.patient_id, now=now)


def _claw_back_points(session: TenantSession, order: Order, now: datetime) -> None:
    """Take back the points the order earned, in the share refunded: each counted
    refund (in id order) takes ``earned * refunded so far // paid`` minus what the
    refunds before it took, so a full refund takes all of them and each refund
    does so once (its own ledger key)."""
    if order.id is None or order.paid_fen <= 0:
        return
    referrals.on_order_refunded(
        session, order_id=order.id, fully=order.refunded_fen >= order.paid_fen, now=now
    )
    source = points.Source("order", str(order.id))
    earned = int(
        session.exec(
            select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
                col(PointsEntry.source_type) == source.type,
                col(PointsEntry.source_id) == source.id,
                col(PointsEntry.kind) == EntryKind.EARN,
            )
        ).one()
    )
    if earned <= 0:
        return
    refunds = session.exec(
        select(Refund)
        .where(Refund.order_id == order.id, col(Refund.status).in_(COUNTED_REFUNDS))
        .order_by(col(Refund.id))
    ).all()
    if not refunds:
        return
    so_far, due_before = 0, 0
    for r in refunds:
        so_far = min(order.paid_fen, so_far + r.amount_fen)
        due = earned * so_far // order.paid_fen
        if due > due_before:
            points.reverse(
                session,
                source=source,
                idempotency_key=f"order:{order.id}:refund:{r.id}",
                now=now,
                reason="refund",
                points=due - due_before,
            )
        due_before = due
    cards.recalc_level(session, patient_id=order.patient_id, now=now)


def mark_paid(*, session: TenantSession, order_id: int, amount_fen: int, now: datetime) -> str:
    """Record that the order's Stripe payment succeeded (idempotent: a paid order
    stays as it is). Confirms the booking (``booking.on_paid``); a payment after
    the hold lapsed re-seats or refunds (see the module's docstring)."""
    order = _lock_order(session, order_id)
    assert order.id is not None
    payment = _stripe_payment(session, order.id)
    if payment is None:
        raise NotFound()
    return _apply_paid(session, order, payment, amount_fen, now)


def mark_clinic_paid(
    *, session: TenantSession, actor: Principal, order_id: int, now: datetime
) -> None:
    """Front desk took the money for a pay-at-the-clinic order (``ORDERS_MANAGE``)."""
    actor = require_staff(session, actor, Permission.ORDERS_MANAGE)
    order = _lock_order(session, order_id)
    assert order.id is not None
    if order.payment_method != PaymentMethod.CLINIC:
        raise DomainError("orders.not_clinic")
    if order.status in PAID_STATES:
        return
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise DomainError("orders.not_payable")
    session.add(
        Payment(
            order_id=order.id,
            method=PaymentMethod.CLINIC,
            provider_ref=f"clinic:{order.id}",
            status="succeeded",
            amount_fen=order.total_fen,
            created_at=now,
            updated_at=now,
        )
    )
    order.status = OrderStatus.PAID
    order.paid_fen = order.total_fen
    order.paid_at = now
    order.updated_at = now
    session.add(order)
    if order.booking_id is not None:
        booking_services.on_paid(session, order.booking_id, now)
    record(
        session, actor=actor, action="orders.clinic_paid", target_type="order", target_id=order.id
    )
    _award_paid_points(session, order, order.total_fen, now)


def _sync_refunds(session: TenantSession, order: Order, payment: Payment, now: datetime) -> None:
    """Refund rows for every refund Stripe has on the PaymentIntent (made here, by a
    late payment, or in Stripe's dashboard), then the order's totals."""
    assert order.id is not None
    assert payment.id is not None
    for r in gateway.list_refunds(payment.provider_ref):
        row = session.exec(select(Refund).where(Refund.provider_ref == r.id)).first()
        prm_key = r.metadata.get("prm_key", "")
        if row is None and prm_key:
            row = session.exec(select(Refund).where(Refund.idempotency_key == prm_key)).first()
        if row is None:
            if r.amount <= 0:
                continue
            row = Refund(
                order_id=order.id,
                payment_id=payment.id,
                provider_ref=r.id,
                amount_fen=r.amount,
                reason="stripe",
                status=r.status,
                idempotency_key=(prm_key or f"stripe:{r.id}")[:100],
                created_at=now,
            )
        elif row.order_id != order.id:
            log.warning("refund %s names order %s, not %s", r.id, row.order_id, order.id)
            continue
        else:
            row.status = r.status
            row.provider_ref = r.id
        session.add(row)
    session.flush()
    _set_refund_totals(order, session)
    _claw_back_points(session, order, now)
    reevaluate_for_patient(session=session, patient_id=order.patient_id, now=now)  # tag rules


def sync_payment_intent(*, session: TenantSession, intent_id: str, now: datetime) -> str:
    """Bring the order of this PaymentIntent in line with Stripe (any event, in any
    order, and the pay page's return all end here). Returns what happened:
    ``unknown`` (no such payment in this tenant), ``mismatch`` (Stripe's metadata
    names another tenant or order: nothing changes), else the payment status."""
    payment = session.exec(select(Payment).where(Payment.provider_ref == str(intent_id))).first()
    if payment is None:
        return "unknown"
    order = _lock_order(session, payment.order_id)
    assert order.id is not None
    session.refresh(payment)
    intent = gateway.retrieve_payment_intent(payment.provider_ref)
    if intent.metadata.get("tenant_id") != str(_tenant_id(session)) or intent.metadata.get(
        "order_id"
    ) != str(order.id):
        log.warning("payment intent %s does not belong to order %s", intent.id, order.id)
        return "mismatch"
    outcome = intent.status
    if intent.status == "succeeded":
        outcome = _apply_paid(session, order, payment, intent.amount, now)
    elif payment.status != "succeeded":
        # Never undo a success: Stripe's succeeded is final, so a stored "succeeded"
        # is only ever overwritten by "succeeded".
        payment.status = intent.status
        payment.updated_at = now
        session.add(payment)
    if order.paid_fen > 0:
        _sync_refunds(session, order, payment, now)
    session.flush()
    return outcome


# --- refunds -------------------------------------------------------------------------------


def _refund_locked(
    session: TenantSession,
    *,
    order: Order,
    amount_fen: int,
    reason: str,
    key: str,
    now: datetime,
    actor: Principal | None,
) -> Refund:
    """Refund ``amount_fen`` of the (locked) order once per ``key``."""
    assert order.id is not None
    existing = session.exec(select(Refund).where(Refund.idempotency_key == key)).first()
    if existing is not None:
        if existing.order_id != order.id:
            raise DomainError("orders.refund_key_reused")
        return existing
    if order.status not in (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED):
        raise DomainError("orders.not_refundable")
    available = order.paid_fen - order.refunded_fen
    if amount_fen <= 0:
        raise FieldErrors.single("amount", "orders.amount_invalid")
    if amount_fen > available:
        raise FieldErrors.single("amount", "orders.refund_too_much", max=yuan(available))
    payment = _paid_payment(session, order.id)
    if payment is None or payment.id is None:
        raise DomainError("orders.not_refundable")
    provider_ref, status = "", "succeeded"
    if payment.method == PaymentMethod.STRIPE:
        tid = _tenant_id(session)
        r = gateway.create_refund(
            intent_id=payment.provider_ref,
            amount_fen=amount_fen,
            metadata={"tenant_id": str(tid), "order_id": str(order.id), "prm_key": key},
            idempotency_key=f"refund-{tid}-{key}"[:255],
        )
        provider_ref, status = r.id, r.status
    row = Refund(
        order_id=order.id,
        payment_id=payment.id,
        provider_ref=provider_ref,
        amount_fen=amount_fen,
        reason=reason[:REASON_MAX],
        status=status,
        idempotency_key=key,
        created_at=now,
    )
    session.add(row)
    session.flush()
    order.updated_at = now
    _set_refund_totals(order, session)
    _claw_back_points(session, order, now)
    reevaluate_for_patient(session=session, patient_id=order.patient_id, now=now)  # tag rules
    record(
        session,
        actor=actor,
        action="orders.refund",
        target_type="order",
        target_id=order.id,
        details={"amount_fen": amount_fen, "reason": reason[:REASON_MAX], "refund_id": row.id},
    )
    return row


def refund(
    *,
    session: TenantSession,
    actor: Principal,
    order_id: int,
    amount_fen: int,
    reason: str,
    idempotency_key: str,
    now: datetime,
) -> RefundRow:
    """Refund part or all of a paid order (``ORDERS_MANAGE``), once per key:
    the same key again returns the first refund. Never more than was paid and
    not yet refunded (``orders.refund_too_much``). Stripe payments are refunded
    through Stripe; clinic payments are recorded (the cash is handed back)."""
    actor = require_staff(session, actor, Permission.ORDERS_MANAGE)
    key = f"staff:{_clean_key(idempotency_key)}"
    text = str(reason or "").strip()
    if len(text) > REASON_MAX:
        raise FieldErrors.single("reason", "field.too_long", max=REASON_MAX)
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int):
        raise FieldErrors.single("amount", "orders.amount_invalid")
    order = _lock_order(session, order_id)
    return _refund_row(
        _refund_locked(
            session, order=order, amount_fen=amount_fen, reason=text, key=key, now=now, actor=actor
        )
    )


@dataclass(frozen=True)
class CancelOutcome:
    """What a patient's cancel did to the order."""

    order_id: int
    booking_id: int | None
    status: str
    refund_percent: int
    refunded_fen: int


def cancel_order_by_patient(
    *,
    session: TenantSession,
    actor: Principal,
    now: datetime,
    order_id: int | None = None,
    booking_id: int | None = None,
) -> CancelOutcome:
    """The patient cancels their own order (by order or by booking id). The booking
    is cancelled under the tenant's policy (``booking.cancel_by_patient``: cutoff,
    refund share); an unpaid order becomes ``cancelled``; a paid one gets the
    policy's share of what was paid back (Stripe refund, or recorded for the clinic)."""
    actor = require_patient(session, actor)
    if order_id is not None:
        found = get_or_404(session, Order, order_id)
    elif booking_id is not None:
        b = get_or_404(session, Booking, booking_id)
        if b.patient_id != actor.id:
            raise NotFound()
        found_or_none = session.exec(
            select(Order).where(Order.booking_id == b.id).order_by(col(Order.id).desc())
        ).first()
        if found_or_none is None:
            # A booking with no order (a walk-in paid at the desk): the booking alone.
            result = booking_services.cancel_by_patient(
                session=session, actor=actor, booking_id=int(b.id or 0), now=now
            )
            return CancelOutcome(
                order_id=0,
                booking_id=b.id,
                status=result.status,
                refund_percent=0,
                refunded_fen=0,
            )
        found = found_or_none
    else:
        raise NotFound()
    if found.patient_id != actor.id:
        raise NotFound()
    order = _lock_order(session, found.id)
    assert order.id is not None
    if order.status not in (
        OrderStatus.PENDING_PAYMENT,
        OrderStatus.PAID,
        OrderStatus.PARTIALLY_REFUNDED,
    ):
        raise DomainError("orders.not_cancellable")
    if order.booking_id is None:
        raise DomainError("orders.not_cancellable")
    result = booking_services.cancel_by_patient(
        session=session, actor=actor, booking_id=order.booking_id, now=now
    )
    refunded = 0
    if order.status == OrderStatus.PENDING_PAYMENT:
        order.status = OrderStatus.CANCELLED
        order.updated_at = now
        session.add(order)
        rewards.give_back_coupon(session, order_id=order.id, now=now)
        payment = _stripe_payment(session, order.id)
        if payment is not None:
            ref = payment.provider_ref
            on_commit(session, lambda: _cancel_intent_quietly(ref))
    else:
        share = order.paid_fen * result.refund_percent // 100
        amount = min(share, order.paid_fen - order.refunded_fen)
        if amount > 0:
            _refund_locked(
                session,
                order=order,
                amount_fen=amount,
                reason=f"patient cancel ({result.refund_percent}%)",
                key=f"cancel:{order.id}",
                now=now,
                actor=actor,
            )
            refunded = amount
    record(
        session,
        actor=actor,
        action="orders.cancel",
        target_type="order",
        target_id=order.id,
        details={"refund_percent": result.refund_percent, "refunded_fen": refunded},
    )
    return CancelOutcome(
        order_id=order.id,
        booking_id=order.booking_id,
        status=str(order.status),
        refund_percent=result.refund_percent,
        refunded_fen=refunded,
    )


def _cancel_intent_quietly(intent_id: str) -> None:
    try:
        gateway.cancel_payment_intent(intent_id)
    except gateway.PaymentGatewayError:
        log.info("could not cancel payment intent %s", intent_id)


# --- expiry --------------------------------------------------------------------------------


def expire_unpaid(*, session: TenantSession, now: datetime) -> int:
    """Pending online orders past their hold → ``expired``, their bookings released
    (the seat goes back, or to the waitlist). An order whose PaymentIntent turns
    out to have succeeded is marked paid instead. PaymentIntents of expired orders
    are cancelled after the commit. Returns the number expired. Part of the
    per-tenant minute beat."""
    ids = session.exec(
        select(Order.id).where(
            Order.status == OrderStatus.PENDING_PAYMENT,
            col(Order.expires_at).is_not(None),
            col(Order.expires_at) <= now,
        )
    ).all()
    expired = 0
    for oid in ids:
        order = _lock_order(session, oid)
        assert order.id is not None
        if (
            order.status != OrderStatus.PENDING_PAYMENT
            or order.expires_at is None
            or order.expires_at > now
        ):
            continue
        payment = _stripe_payment(session, order.id)
        if payment is not None:
            try:
                intent = gateway.retrieve_payment_intent(payment.provider_ref)
            except gateway.PaymentGatewayError:
                intent = None
            if intent is not None and intent.status == "succeeded":
                _apply_paid(session, order, payment, intent.amount, now)
                continue
            if intent is not None and intent.status == "processing":
                continue  # the money is on its way; the next round decides
        order.status = OrderStatus.EXPIRED
        order.updated_at = now
        session.add(order)
        if order.booking_id is not None:
            booking_services.release(
                session=session,
                booking_id=order.booking_id,
                now=now,
                status=BookingStatus.EXPIRED,
            )
        # After the seat, as checkout takes them (slot, then coupon): no lock cycle.
        rewards.give_back_coupon(session, order_id=order.id, now=now)
        record(session, actor=None, action="orders.expired", target_type="order", target_id=oid)
        if payment is not None:
            ref = payment.provider_ref
            on_commit(session, lambda ref=ref: _cancel_intent_quietly(ref))  # type: ignore[misc]
        expired += 1
    session.flush()
    return expired


# --- queries -------------------------------------------------------------------------------


def _summary(order: Order, patient: Patient | None) -> OrderSummary:
    assert order.id is not None
    return OrderSummary(
        id=order.id,
        number=order.number,
        status=str(order.status),
        payment_method=str(order.payment_method),
        total_fen=order.total_fen,
        paid_fen=order.paid_fen,
        refunded_fen=order.refunded_fen,
        booking_id=order.booking_id,
        patient_id=order.patient_id,
        patient_name=patient.name if patient else "",
        patient_phone=(patient.phone or "") if patient else "",
        created_at=order.created_at,
        expires_at=order.expires_at,
        paid_at=order.paid_at,
    )


def _refund_row(r: Refund) -> RefundRow:
    assert r.id is not None
    return RefundRow(
        id=r.id,
        amount_fen=r.amount_fen,
        reason=r.reason,
        status=r.status,
        provider_ref=r.provider_ref,
        created_at=r.created_at,
    )


def _detail(session: TenantSession, order: Order) -> OrderDetail:
    assert order.id is not None
    patient = session.get(Patient, order.patient_id)
    lines = session.exec(
        select(OrderLine).where(OrderLine.order_id == order.id).order_by(col(OrderLine.id))
    ).all()
    payments = session.exec(
        select(Payment).where(Payment.order_id == order.id).order_by(col(Payment.id))
    ).all()
    refunds = session.exec(
        select(Refund).where(Refund.order_id == order.id).order_by(col(Refund.id))
    ).all()
    refundable = (
        order.paid_fen - order.refunded_fen
        if order.status in (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED)
        else 0
    )
    return OrderDetail(
        order=_summary(order, patient),
        lines=[
            LineView(
                kind=ln.kind,
                ref_id=ln.ref_id,
                name=ln.name,
                unit_price_fen=ln.unit_price_fen,
                quantity=ln.quantity,
                amount_fen=ln.amount_fen,
            )
            for ln in lines
        ],
        payments=[
            PaymentView(
                id=p.id or 0,
                method=str(p.method),
                provider_ref=p.provider_ref,
                status=p.status,
                amount_fen=p.amount_fen,
                created_at=p.created_at,
            )
            for p in payments
        ],
        refunds=[_refund_row(r) for r in refunds],
        refundable_fen=refundable,
        pay_url=_checkout_result(_tenant_id(session), order).pay_url,
    )


def my_orders(*, session: TenantSession, actor: Principal, limit: int = 100) -> list[OrderSummary]:
    """The signed-in patient's orders, newest first."""
    actor = require_patient(session, actor)
    patient = session.get(Patient, actor.id)
    rows = session.exec(
        select(Order)
        .where(Order.patient_id == actor.id)
        .order_by(col(Order.created_at).desc(), col(Order.id).desc())
        .limit(max(1, min(int(limit), LIST_LIMIT)))
    ).all()
    return [_summary(o, patient) for o in rows]


def order_detail(*, session: TenantSession, actor: Principal, order_id: int) -> OrderDetail:
    """One of the signed-in patient's own orders (another's is NotFound)."""
    actor = require_patient(session, actor)
    order = get_or_404(session, Order, order_id)
    if order.patient_id != actor.id:
        raise NotFound()
    return _detail(session, order)


def list_orders(
    *,
    session: TenantSession,
    actor: Principal,
    status: str = "",
    query: str = "",
    limit: int = LIST_LIMIT,
) -> list[OrderSummary]:
    """The tenant's orders for the admin list (``ORDERS_MANAGE``), newest first;
    ``status`` filters, ``query`` matches the order number or the patient's
    phone / name."""
    require_staff(session, actor, Permission.ORDERS_MANAGE)
    stmt = select(Order, Patient).join(Patient, col(Patient.id) == col(Order.patient_id))
    if status:
        try:
            stmt = stmt.where(Order.status == OrderStatus(status))
        except ValueError:
            raise DomainError("orders.status_invalid") from None
    q = str(query or "").strip()[:60]
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(
            or_(
                col(Order.number).like(like),
                col(Patient.phone).like(like),
                col(Patient.name).like(like),
            )
        )
    stmt = stmt.order_by(col(Order.created_at).desc(), col(Order.id).desc()).limit(
        max(1, min(int(limit), LIST_LIMIT))
    )
    return [_summary(o, p) for o, p in session.exec(stmt).all()]


def admin_order_detail(*, session: TenantSession, actor: Principal, order_id: int) -> OrderDetail:
    """Any order of the tenant, with lines, payments and refunds (``ORDERS_MANAGE``)."""
    require_staff(session, actor, Permission.ORDERS_MANAGE)
    return _detail(session, get_or_404(session, Order, order_id))


def order_booking_id(*, session: TenantSession, order_id: int) -> int | None:
    """The booking of an order (for the pay page's redirect; the token was the check)."""
    return get_or_404(session, Order, order_id).booking_id


def pay_page(*, session: TenantSession, order_id: int, now: datetime) -> PayPage:
    """The hosted pay page's content; creates the PaymentIntent on first view of a
    payable order, and syncs it from Stripe on later views (so a page reloaded
    after paying shows the truth even before the webhook arrives)."""
    order = get_or_404(session, Order, order_id)
    oid = order.id
    assert oid is not None
    payment = _stripe_payment(session, oid)
    if payment is not None and order.status == OrderStatus.PENDING_PAYMENT:
        sync_payment_intent(session=session, intent_id=payment.provider_ref, now=now)
        order = _lock_order(session, order.id)
    secret, intent_status = "", ""
    if (
        order.status == OrderStatus.PENDING_PAYMENT
        and order.payment_method == PaymentMethod.STRIPE
        and (order.expires_at is None or order.expires_at > now)
    ):
        intent = create_payment_intent(session=session, order_id=oid, now=now)
        secret, intent_status = intent.client_secret, intent.status
    patient = session.get(Patient, order.patient_id)
    tenant = session.get(Tenant, _tenant_id(session))
    locale = (patient.locale if patient is not None else None) or (
        tenant.default_locale if tenant else "zh-CN"
    )
    status = str(order.status)
    if (
        order.status == OrderStatus.PENDING_PAYMENT
        and order.expires_at is not None
        and order.expires_at <= now
    ):
        status = str(OrderStatus.EXPIRED)  # the beat has not come round yet
    return PayPage(
        order_id=oid,
        booking_id=order.booking_id,
        number=order.number,
        status=status,
        total_fen=order.total_fen,
        lines=_detail(session, order).lines,
        client_secret=secret,
        intent_status=intent_status,
        locale=locale or "zh-CN",
        tenant_name=tenant.name if tenant else "",
    )


__all__ = [
    "CheckoutResult",
    "OrderDetail",
    "OrderSummary",
    "PayPage",
    "admin_order_detail",
    "cancel_order_by_patient",
    "checkout",
    "confirm_card",
    "create_payment_intent",
    "expire_unpaid",
    "list_orders",
    "mark_clinic_paid",
    "mark_paid",
    "my_orders",
    "open_order_for_booking",
    "order_detail",
    "pay_page",
    "pay_token",
    "read_pay_token",
    "refund",
    "sync_payment_intent",
]
