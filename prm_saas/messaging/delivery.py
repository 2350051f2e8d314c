"""Delivering claimed messages: expiry, quiet hours, consent, caps, rendering,
the provider call and the outcome, each message at most once per dedupe key.

One message takes up to three short transactions, never one held across a
network call:

1. prepare: lock the ``queued`` row; expire it, hold it for quiet hours,
   suppress it (consent, cap, channel off), or render it and move it to
   ``sending`` with a lease. In-app messages are written to the inbox and
   marked sent right here, in the same transaction: exactly once.
2. send: the channel adapter calls the provider with the message's
   idempotency key.
3. finish: ``sending`` -> ``sent`` (or back to ``scheduled`` with back-off for
   a transient error, or ``failed``), and the usage counter.

A worker killed between 1 and 3 leaves a ``sending`` row whose lease runs out;
the dispatcher claims it again and it is sent again under the same
idempotency key, which the SMS provider deduplicates. For email the window is
the SMTP reply-to-commit gap; the resend carries the same Message-ID.
"""

from __future__ import annotations

import json
import logging
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import col, func, select, update

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
    sms_api_key,
    unsubscribe_token,
)
from prm_saas.messaging.quiet_hours import quiet_until
from prm_saas.messaging.templates import MissingVariable, effective_template, render, spec_of
from prm_saas.settings import get_settings
from tenants.db import TenantSession, on_commit, tenant_session
from tenants.models import Tenant
from tenants.resolution import TenantInfo, tenant_base_url
from tenants.types import utcnow

log = logging.getLogger(__name__)

# Waits after the 1st, 2nd, ... transient failure; after the last the message fails.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))
MAX_ATTEMPTS = len(BACKOFF) + 1


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
    sent_today = session.exec(
        select(func.count())
        .select_from(Message)
        .where(
            Message.patient_id == msg.patient_id,
            Message.category == Category.MARKETING,
            Message.status == MessageStatus.SENT,
            col(Message.sent_at)
            >= _local_midnight_utc(now, msg.recipient_tz or ctx.tenant.timezone),
        )
    ).one()
    return sent_today >= cap


REDACTED = "{}"


def _finish(msg: Message, status: MessageStatus, now: datetime, **fields: object) -> None:
    msg.status = status
    msg.lease_until = None
    msg.updated_at = now
    for k, v in fields.items():
        setattr(msg, k, v)
    if status in FINAL_STATUSES and spec_of(msg.template_key).redact:
        msg.variables, msg.body = REDACTED, ""


def _prepare(
    session: TenantSession, message_id: int, ctx: _Context
) -> tuple[Outbound, Channel] | str:
    """Transaction 1. Returns the rendered message to send, or the outcome."""
    now = utcnow()
    msg = session.exec(
        select(Message)
        .where(Message.id == message_id, Message.status == MessageStatus.QUEUED)
        .with_for_update(skip_locked=True)
    ).first()
    if msg is None:
        return "skipped"  # someone else has it, or it is done
    if msg.expires_at is not None and now >= msg.expires_at:
        _finish(msg, MessageStatus.EXPIRED, now)
        session.add(msg)
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
                session.add(msg)
                return "expired"
            _finish(msg, MessageStatus.SCHEDULED, now, due_at=held_until)
            session.add(msg)
            return "held"
    reason = may_send(
        session,
        patient_id=msg.patient_id,
        channel=msg.channel,
        category=msg.category,
        settings=ctx.settings,
    )
    if not reason and _over_cap(session, msg, ctx, now):
        reason = "daily_cap"
    if reason:
        _finish(msg, MessageStatus.SUPPRESSED, now, suppressed_reason=reason)
        session.add(msg)
        return "suppressed"
    if msg.attempts == 0 or not msg.body:
        wording = effective_template(session, msg.template_key, msg.channel, msg.locale)
        values = {"tenant_name": ctx.tenant.name, **json.loads(msg.variables or "{}")}
        try:
            if wording is None:
                raise MissingVariable(name=f"<no {msg.channel} template>")
            subject, body = render(wording[0], values), render(wording[1], values)
        except MissingVariable as exc:
            _finish(msg, MessageStatus.FAILED, now, error=f"template: {exc.params.get('name')}")
            session.add(msg)
            return "failed"
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
        session.add(msg)
        count_usage(session, channel=msg.channel, month=now.strftime("%Y-%m"))
        return "sent"
    msg.status, msg.lease_until, msg.updated_at = MessageStatus.SENDING, now + lease(), now
    session.add(msg)
    unsubscribe = ""
    if msg.category == Category.MARKETING and msg.patient_id is not None:
        token = unsubscribe_token(ctx.tenant.id, msg.patient_id, msg.channel)
        origin = ctx.base_url.removesuffix(f"/t/{ctx.tenant.slug}")
        unsubscribe = f"{origin}/api/messaging/unsubscribe?t={token}"
    assert msg.id is not None
    return Outbound(
        message_id=msg.id,
        tenant_id=ctx.tenant.id,
        to=msg.to_address,
        subject=msg.subject,
        body=msg.body,
        idempotency_key=f"prm-{ctx.tenant.id}-{msg.id}",
        marketing=msg.category == Category.MARKETING,
        unsubscribe_url=unsubscribe,
        from_name=ctx.settings.email_from_name or ctx.tenant.name,
        redact=spec_of(msg.template_key).redact,
    ), Channel(msg.channel)


def _record_outcome(
    session: TenantSession,
    out: Outbound,
    channel: Channel,
    provider_id: str | None,
    error: ChannelError | None,
) -> str:
    """Transaction 3: record what the provider said."""
    now = utcnow()
    if error is None:
        done = session.exec(
            update(Message)
            .where(col(Message.id) == out.message_id, col(Message.status) == MessageStatus.SENDING)
            .values(
                status=MessageStatus.SENT,
                lease_until=None,
                sent_at=now,
                updated_at=now,
                provider_message_id=provider_id or "",
                error="",
                **({"variables": REDACTED, "body": ""} if out.redact else {}),
            )
        )
        if done.rowcount:
            count_usage(session, channel=channel, month=now.strftime("%Y-%m"))
        return "sent"
    msg = session.exec(select(Message).where(Message.id == out.message_id)).one()
    if msg.status != MessageStatus.SENDING:
        return "skipped"
    if error.transient and msg.attempts < MAX_ATTEMPTS:
        wait = BACKOFF[min(msg.attempts, len(BACKOFF)) - 1]
        _finish(msg, MessageStatus.SCHEDULED, now, due_at=now + wait, error=str(error)[:1000])
        session.add(msg)
        return "retry"
    _finish(msg, MessageStatus.FAILED, now, error=str(error)[:1000])
    session.add(msg)
    return "failed"


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
    try:
        for message_id in message_ids:
            with tenant_session(tenant_id) as session:
                prepared = _prepare(session, message_id, ctx)
            if isinstance(prepared, str):
                result.add(prepared)
                continue
            out, channel = prepared
            adapter = adapters(channel) if adapters else ctx.adapter(channel)
            provider_id: str | None = None
            error: ChannelError | None = None
            try:
                provider_id = adapter.send(out)
            except ChannelError as exc:
                error = exc
                log.warning("message %s: %s", message_id, exc)
            with tenant_session(tenant_id) as session:
                result.add(_record_outcome(session, out, channel, provider_id, error))
    finally:
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
