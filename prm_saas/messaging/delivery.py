"""Delivering claimed messages: expiry, quiet hours, consent, caps, rendering,
the provider call and the outcome, each message at most once per dedupe key.

A batch (one send task, up to SEND_BATCH messages of one tenant) takes short
transactions, never one held across a network call:

1. prepare, one transaction for the batch: lock its ``queued`` rows; expire,
   hold for quiet hours, suppress (consent, cap, channel off), or render each
   and move it to ``sending`` with a lease. In-app messages are written to the
   inbox and marked sent right here, in the same transaction: exactly once.
2. send: the channel adapter calls the provider with the message's
   idempotency key, one connection for the batch.
3. record: ``sending`` -> ``sent`` (or back to ``scheduled`` with back-off for
   a transient error, or ``failed``), and the usage counter. For email this
   is one transaction per message, committed right after the SMTP reply; for
   SMS (the provider deduplicates on the key) one transaction for the batch.

A worker killed between 1 and 3 leaves ``sending`` rows whose lease runs out;
the dispatcher claims them again and they are sent again under the same
idempotency key. The SMS provider answers a repeated key without sending, so
an SMS reaches the phone once. SMTP has no such key: the one email whose reply
arrived but whose commit did not can reach the inbox twice, with the same
Message-ID (mail clients collapse it). That window is one message per killed
worker process, and nothing narrower exists without a deduplicating provider.
"""

from __future__ import annotations

import json
import logging
import zoneinfo
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, func, select

from prm_saas.billing.limits import MessageCap, message_cap
from prm_saas.messaging.channels import (
    ChannelAdapter,
    ChannelError,
    EmailChannel,
    Outbound,
    SmsChannel,
    SmsConfig,
)
from prm_saas.messaging.models import (
    FINAL_STATUSES,
    Category,
    Channel,
    ContactPreference,
    InboxItem,
    Message,
    MessageStatus,
    MessagingSettings,
)
from prm_saas.messaging.outbox import claim_ids, lease
from prm_saas.messaging.preferences import (
    count_usage,
    may_send,
    messaging_settings,
    preferences_of,
    sms_api_key,
    unsubscribe_token,
)
from prm_saas.messaging.quiet_hours import quiet_until
from prm_saas.messaging.templates import MissingVariable, effective_template, render, spec_of
from prm_saas.settings import get_settings
from prm_saas.tracking.links import open_url, rewrite_links
from tenants.db import TenantSession, on_commit, tenant_session
from tenants.models import Tenant
from tenants.resolution import TenantInfo, tenant_base_url
from tenants.types import UTCDateTime, utcnow

log = logging.getLogger(__name__)

# Waits after the 1st, 2nd, ... transient failure; after the last the message fails.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))
MAX_ATTEMPTS = len(BACKOFF) + 1
# Share of the lease kept in reserve: a batch stops starting sends once less than
# this is left (see deliver_batch).
LEASE_MARGIN = 0.5


@dataclass
class BatchResult:
    """What happened to a batch, by outcome."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str) -> None:
        """Count one message's outcome."""
        self.counts[outcome] = self.counts.get(outcome, 0) + 1


@dataclass
class _Context:
    """What every message of a batch shares: the tenant, its settings, open channels."""

    tenant: TenantInfo
    settings: MessagingSettings
    sms_config: SmsConfig
    base_url: str
    adapters: dict[Channel, ChannelAdapter] = field(default_factory=dict)
    # The plan's hard message stop in this billing period (None: no cap) and the
    # messages counted against it so far (counted once per batch, on first need).
    plan_cap: MessageCap | None = None
    plan_cap_used: int | None = None

    @property
    def origin(self) -> str:
        """Scheme and host the tenant's links point at (the API routes live there)."""
        return self.base_url.removesuffix(f"/t/{self.tenant.slug}")

    def adapter(self, channel: Channel) -> ChannelAdapter:
        if channel not in self.adapters:
            self.adapters[channel] = (
                EmailChannel() if channel == Channel.EMAIL else SmsChannel(self.sms_config)
            )
        return self.adapters[channel]

    def close(self) -> None:
        for adapter in self.adapters.values():
            adapter.close()


def _context(session: TenantSession) -> _Context:
    tenant = session.get(Tenant, session.tenant_id)
    assert tenant is not None
    info = TenantInfo.of(tenant)
    settings = messaging_settings(session)
    public = get_settings().public_url
    base = tenant_base_url(info, public_url=public)
    origin = base.removesuffix(f"/t/{info.slug}")
    return _Context(
        tenant=info,
        settings=settings,
        base_url=base,
        sms_config=SmsConfig(
            url=settings.sms_provider_url,
            api_key=sms_api_key(session),
            sender=settings.sms_sender,
            callback_url=f"{origin}/api/webhooks/sms/{info.id}",
        ),
        plan_cap=message_cap(session),
    )


def _local_midnight_utc(now: datetime, tz: str) -> datetime:
    local = now.astimezone(zoneinfo.ZoneInfo(tz))
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(
        zoneinfo.ZoneInfo("UTC")
    )


def _over_cap(session: TenantSession, msg: Message, ctx: _Context, now: datetime) -> bool:
    cap = ctx.settings.daily_cap
    if msg.category != Category.MARKETING or cap <= 0 or msg.patient_id is None:
        return False
    midnight = _local_midnight_utc(now, msg.recipient_tz or ctx.tenant.timezone)
    # Messages being sent count too: those let through earlier in this batch (the
    # session has flushed them) and those another worker is sending right now.
    sent_today = session.exec(
        select(func.count())
        .select_from(Message)
        .where(
            Message.patient_id == msg.patient_id,
            Message.category == Category.MARKETING,
            ((col(Message.status) == MessageStatus.SENT) & (col(Message.sent_at) >= midnight))
            | (
                (col(Message.status) == MessageStatus.SENDING)
                & (col(Message.updated_at) >= midnight)
            ),
        )
    ).one()
    return sent_today >= cap


# Messages a clinic needs to reach its own accounts (password reset codes, staff
# invitations) go out whatever the plan's cap: without them nobody could sign in,
# not even to upgrade.
CAP_EXEMPT_PREFIX = "account."
PLAN_CAP = "plan_cap"


def _over_plan_cap(session: TenantSession, msg: Message, ctx: _Context) -> bool:
    """Whether ``msg`` would go beyond the plan's message cap of the billing period.
    Messages being sent count too (as for the daily cap); each message let through
    counts at once, so a batch never overshoots. Two workers sending for one
    tenant at the same moment can overshoot by a batch at most."""
    cap = ctx.plan_cap
    if cap is None or msg.template_key.startswith(CAP_EXEMPT_PREFIX):
        return False
    if ctx.plan_cap_used is None:
        ctx.plan_cap_used = session.exec(
            select(func.count())
            .select_from(Message)
            .where(
                (
                    (col(Message.status) == MessageStatus.SENT)
                    & (col(Message.sent_at) >= cap.start)
                    & (col(Message.sent_at) < cap.end)
                )
                | (
                    (col(Message.status) == MessageStatus.SENDING)
                    & (col(Message.updated_at) >= cap.start)
                )
            )
        ).one()
    if ctx.plan_cap_used >= cap.cap:
        return True
    ctx.plan_cap_used += 1
    return False


REDACTED = "{}"


def _finish(msg: Message, status: MessageStatus, now: datetime, **fields: object) -> None:
    msg.status = status
    msg.lease_until = None
    msg.updated_at = now
    for k, v in fields.items():
        setattr(msg, k, v)
    if status in FINAL_STATUSES and spec_of(msg.template_key).redact:
        msg.variables, msg.body = REDACTED, ""


@dataclass
class _BatchState:
    """What the messages of one batch look up once: consent and wordings."""

    preferences: dict[tuple[int, str], ContactPreference]
    wordings: dict[tuple[str, str, str], tuple[str, str] | None] = field(default_factory=dict)

    def wording(
        self, session: TenantSession, key: str, channel: Channel, locale: str
    ) -> tuple[str, str] | None:
        cache_key = (key, str(channel), locale)
        if cache_key not in self.wordings:
            self.wordings[cache_key] = effective_template(session, key, channel, locale)
        return self.wordings[cache_key]


def _prepare_one(
    session: TenantSession, msg: Message, ctx: _Context, state: _BatchState, now: datetime
) -> Outbound | str:
    """Decide one locked ``queued`` message: the rendered message to send, or the outcome."""
    if msg.expires_at is not None and now >= msg.expires_at:
        _finish(msg, MessageStatus.EXPIRED, now)
        return "expired"
    if not msg.urgent:
        held_until = quiet_until(
            now,
            msg.recipient_tz or ctx.tenant.timezone,
            ctx.settings.quiet_start,
            ctx.settings.quiet_end,
        )
        if held_until is not None:
            if msg.expires_at is not None and held_until >= msg.expires_at:
                _finish(msg, MessageStatus.EXPIRED, now)
                return "expired"
            _finish(msg, MessageStatus.SCHEDULED, now, due_at=held_until)
            return "held"
    reason = may_send(
        session,
        patient_id=msg.patient_id,
        channel=msg.channel,
        category=msg.category,
        settings=ctx.settings,
        preferences=state.preferences,
    )
    if not reason and _over_cap(session, msg, ctx, now):
        reason = "daily_cap"
    if not reason and _over_plan_cap(session, msg, ctx):
        reason = PLAN_CAP
    if reason:
        _finish(msg, MessageStatus.SUPPRESSED, now, suppressed_reason=reason)
        return "suppressed"
    if msg.attempts == 0 or not msg.body:
        wording = state.wording(session, msg.template_key, msg.channel, msg.locale)
        values = {"tenant_name": ctx.tenant.name, **json.loads(msg.variables or "{}")}
        try:
            if wording is None:
                raise MissingVariable(name=f"<no {msg.channel} template>")
            subject, body = render(wording[0], values), render(wording[1], values)
        except MissingVariable as exc:
            _finish(msg, MessageStatus.FAILED, now, error=f"template: {exc.params.get('name')}")
            return "failed"
        if msg.category == Category.MARKETING:
            # Links become tracked links (prm_saas.tracking); stored with the body, so
            # a retry sends the same ones.
            body = rewrite_links(session, message=msg, body=body, origin=ctx.origin, now=now)
        msg.subject, msg.body = subject[:300], body[:8000]
    # else: a retry or a resend after a lost worker sends exactly what was rendered the
    # first time: the same idempotency key must never carry a different text.
    msg.attempts += 1
    if msg.channel == Channel.INAPP:
        assert msg.patient_id is not None
        assert msg.id is not None
        session.add(
            InboxItem(
                patient_id=msg.patient_id,
                message_id=msg.id,
                title=msg.subject,
                body=msg.body,
                created_at=now,
            )
        )
        _finish(msg, MessageStatus.SENT, now, sent_at=now, provider_message_id=f"inbox:{msg.id}")
        return "sent"
    msg.status, msg.lease_until, msg.updated_at = MessageStatus.SENDING, now + lease(), now
    unsubscribe = ""
    if msg.category == Category.MARKETING and msg.patient_id is not None:
        token = unsubscribe_token(ctx.tenant.id, msg.patient_id, msg.channel)
        unsubscribe = f"{ctx.origin}/api/messaging/unsubscribe?t={token}"
    assert msg.id is not None
    pixel = ""
    if msg.category == Category.MARKETING and msg.channel == Channel.EMAIL:
        pixel = open_url(ctx.origin, ctx.tenant.id, msg.id)
    return Outbound(
        message_id=msg.id,
        tenant_id=ctx.tenant.id,
        to=msg.to_address,
        subject=msg.subject,
        body=msg.body,
        idempotency_key=f"prm-{ctx.tenant.id}-{msg.id}",
        marketing=msg.category == Category.MARKETING,
        unsubscribe_url=unsubscribe,
        open_pixel_url=pixel,
        from_name=ctx.settings.email_from_name or ctx.tenant.name,
        redact=spec_of(msg.template_key).redact,
    )


def _prepare(
    session: TenantSession, message_ids: list[int], ctx: _Context, result: BatchResult
) -> list[tuple[Outbound, Channel]]:
    """Transaction 1, for the whole batch: lock its ``queued`` rows (rows another
    worker holds, or already done, are skipped), decide each, write the in-app ones
    to the inbox as sent, move the rest to ``sending``. Returns what is to be sent."""
    now = utcnow()
    wanted = sorted(set(message_ids))
    msgs = session.exec(
        select(Message)
        .where(col(Message.id).in_(wanted), Message.status == MessageStatus.QUEUED)
        .order_by(col(Message.id))
        .with_for_update(skip_locked=True)
    ).all()
    for _ in range(len(wanted) - len(msgs)):
        result.add("skipped")  # someone else has it, or it is done
    state = _BatchState(
        preferences=preferences_of(session, {m.patient_id for m in msgs if m.patient_id})
    )
    to_send: list[tuple[Outbound, Channel]] = []
    in_app = 0
    for msg in msgs:
        prepared = _prepare_one(session, msg, ctx, state, now)
        session.add(msg)
        if isinstance(prepared, str):
            result.add(prepared)
            in_app += prepared == "sent"
        else:
            to_send.append((prepared, Channel(msg.channel)))
    if in_app:
        count_usage(session, channel=Channel.INAPP, month=now.strftime("%Y-%m"), n=in_app)
    return to_send


@dataclass(frozen=True)
class _Attempt:
    """What the provider said about one message."""

    out: Outbound
    channel: Channel
    provider_id: str | None
    error: ChannelError | None


def _record(session: TenantSession, attempts: list[_Attempt], result: BatchResult) -> None:
    """Transaction 3: record what the providers said (rows still ``sending`` only)."""
    now = utcnow()
    rows = {
        m.id: m
        for m in session.exec(
            select(Message)
            .where(
                col(Message.id).in_(sorted(a.out.message_id for a in attempts)),
                Message.status == MessageStatus.SENDING,
            )
            .order_by(col(Message.id))
            .with_for_update()
        ).all()
    }
    sent: Counter[Channel] = Counter()
    for a in attempts:
        msg = rows.get(a.out.message_id)
        if a.error is None:
            result.add("sent")
            if msg is not None:
                _finish(
                    msg,
                    MessageStatus.SENT,
                    now,
                    sent_at=now,
                    provider_message_id=a.provider_id or "",
                    error="",
                )
                session.add(msg)
                sent[a.channel] += 1
        elif msg is None:
            result.add("skipped")
        elif a.error.transient and msg.attempts < MAX_ATTEMPTS:
            wait = BACKOFF[min(msg.attempts, len(BACKOFF)) - 1]
            _finish(msg, MessageStatus.SCHEDULED, now, due_at=now + wait, error=str(a.error)[:1000])
            session.add(msg)
            result.add("retry")
        else:
            _finish(msg, MessageStatus.FAILED, now, error=str(a.error)[:1000])
            session.add(msg)
            result.add("failed")
    for channel, n in sent.items():
        count_usage(session, channel=channel, month=now.strftime("%Y-%m"), n=n)


_SENT_SET = (
    "UPDATE message SET status = :sent, lease_until = NULL, sent_at = :now, "
    "updated_at = :now, provider_message_id = :provider_id, error = ''"
)
_SENT_WHERE = " WHERE tenant_id = :tenant_id AND id = :id AND status = :sending"
_NOW = sa.bindparam("now", type_=UTCDateTime())
_MARK_SENT = {
    False: sa.text(_SENT_SET + _SENT_WHERE).bindparams(_NOW),
    # A redacted template's text is wiped once sent (see _finish).
    True: sa.text(_SENT_SET + ", variables = '{}', body = ''" + _SENT_WHERE).bindparams(_NOW),
}
_COUNT_SENT = sa.text(
    "UPDATE usage_counter SET count = count + 1 "
    "WHERE tenant_id = :tenant_id AND channel = :channel AND month = :month"
)


def _record_sent(session: TenantSession, attempt: _Attempt, result: BatchResult) -> None:
    """Transaction 3 for one accepted email, the engine's hottest statement pair.

    Plain SQL on the session's connection, filtered by hand on the tenant
    (row-level security walls it too on PostgreSQL): about 0.8 ms where the
    ORM's bulk UPDATE and count_usage take about 3 ms, and an email pays it once
    per message (docs/benchmarks.md, "Reminders"). It records the send even if
    the tenant was suspended meanwhile: the mail has left, the row must say so
    (else it would stay ``sending`` and be sent again on reactivation).
    """
    now = utcnow()
    out = attempt.out
    conn = session.connection()
    params = {"tenant_id": out.tenant_id, "id": out.message_id}
    done = conn.execute(
        _MARK_SENT[out.redact],
        {
            **params,
            "sent": str(MessageStatus.SENT),
            "sending": str(MessageStatus.SENDING),
            "now": now,
            "provider_id": (attempt.provider_id or "")[:120],
        },
    )
    result.add("sent")
    if not done.rowcount:
        return  # no longer ours (its lease ran out and it was claimed again)
    month = now.strftime("%Y-%m")
    counted = conn.execute(
        _COUNT_SENT, {"tenant_id": out.tenant_id, "channel": str(attempt.channel), "month": month}
    )
    if not counted.rowcount:
        count_usage(session, channel=attempt.channel, month=month)  # the month's first


def deliver_batch(
    *,
    tenant_id: int,
    message_ids: list[int],
    adapters: Callable[[Channel], ChannelAdapter] | None = None,
) -> BatchResult:
    """Deliver claimed messages of one tenant (one batch, connections reused)."""
    result = BatchResult()
    with tenant_session(tenant_id) as session:
        ctx = _context(session)
        prepared = _prepare(session, message_ids, ctx, result)
    # No send starts once less than this is left of the leases taken above: a
    # message is never handed to a provider when its lease could run out before
    # the outcome is recorded (another worker would then send it too). The rest
    # stays ``sending``, unsent, and is claimed again when the lease ends.
    send_until = utcnow() + lease() * (1 - LEASE_MARGIN)
    unrecorded: list[_Attempt] = []
    try:
        for out, channel in prepared:
            if utcnow() >= send_until:
                result.add("deferred")
                continue
            adapter = adapters(channel) if adapters else ctx.adapter(channel)
            provider_id: str | None = None
            error: ChannelError | None = None
            try:
                provider_id = adapter.send(out)
            except ChannelError as exc:
                error = exc
                log.warning("message %s: %s", out.message_id, exc)
            attempt = _Attempt(out, channel, provider_id, error)
            if getattr(adapter, "deduplicates", False):
                unrecorded.append(attempt)
                continue
            # Nothing on the provider's side recognises a resend (SMTP): commit this
            # outcome now, so a lost worker can resend at most this one message.
            with tenant_session(tenant_id) as session:
                if error is None:
                    _record_sent(session, attempt, result)
                else:
                    _record(session, [attempt], result)
    finally:
        # The provider deduplicates on the idempotency key (SMS): one transaction
        # records the whole batch; a resend after a lost worker is answered, not sent.
        if unrecorded:
            with tenant_session(tenant_id) as session:
                _record(session, unrecorded, result)
        ctx.close()
    return result


def deliver_after_commit(session: TenantSession, message: Message) -> None:
    """Send ``message`` as soon as the caller's transaction commits, in this process
    (a password-reset code should not wait for the next beat). If that fails it
    stays in the outbox and the dispatcher retries it."""
    tenant_id, message_id = session.tenant_id, message.id
    if tenant_id is None or message_id is None:
        return

    def deliver_now() -> None:
        try:
            with tenant_session(tenant_id) as s:
                ids = claim_ids(s, ids=[message_id], now=utcnow())
            if ids:
                deliver_batch(tenant_id=tenant_id, message_ids=ids)
        except Exception:
            log.exception("immediate delivery of message %s failed", message_id)

    on_commit(session, deliver_now)
