"""Campaign services: the builder (form, content per variant and channel), the
controls (start, pause, resume, stop) and reading campaigns back.

Every service takes the acting ``Principal`` and requires ``CAMPAIGNS_MANAGE``
first; a campaign or audience of another tenant is the same NotFound as a
missing one. Times in the form are the tenant's local wall-clock times; the
database keeps UTC (``prm_saas.campaigns.schedule``).

Starting a campaign refuses an audience nobody in it can receive on any of
the campaign's channels (``campaigns.empty_audience``) and a channel without
content (``campaigns.missing_content``), for variant A and, when it has any
content, variant B. "Send now" snapshots the audience at once; the release
(``prm_saas.campaigns.release``, driven by beat every minute) then sends.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select

from prm_saas.accounts.authz import Permission, Principal, require_staff
from prm_saas.accounts.models import PrincipalKind
from prm_saas.audiences.models import Audience
from prm_saas.audiences.services import audience_ids
from prm_saas.audit.services import record
from prm_saas.booking.schedule import pk, write_lock
from prm_saas.campaigns.models import (
    Campaign,
    CampaignRecipient,
    CampaignRun,
    CampaignStatus,
    CampaignVariant,
    RecipientStatus,
    Recurrence,
    RunStatus,
    ScheduleMode,
    Variant,
)
from prm_saas.campaigns.release import (
    campaign_channels,
    cancel_pending,
    schedule_next,
    start_run,
    tenant_zone,
)
from prm_saas.campaigns.report import CampaignReport, ReportRow, RunRow, campaign_report
from prm_saas.campaigns.schedule import format_local, parse_local
from prm_saas.messaging.content import MessageContent, save_content
from prm_saas.messaging.models import Channel
from prm_saas.messaging.quiet_hours import parse_hhmm
from prm_saas.validation import Checker
from tenants.db import TenantSession
from tenants.errors import DomainError, FieldErrors, NotFound
from tenants.lookup import get_or_404
from tenants.types import utcnow

NAME_MAX = 60
PER_MINUTE_MAX = 10_000
DAILY_CAP_MAX = 1_000_000
ATTRIBUTION_MAX = 90
CHANNELS = tuple(c.value for c in Channel)
# Statuses in which the form and content may change (a sending campaign is paused first).
EDITABLE = frozenset({CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.PAUSED})


@dataclass
class CampaignInput:
    """The campaign form as the client sent it (times in the tenant's zone)."""

    name: str
    audience_id: object
    channels: Sequence[str]
    link: str = ""
    mode: str = ScheduleMode.NOW
    send_at: str = ""  # mode "at": local "YYYY-MM-DD HH:MM"
    recurrence: str = ""  # mode "recurring": daily / weekly / monthly
    weekday: object = 0  # weekly: 0 = Monday .. 6 = Sunday
    month_day: object = 1  # monthly: 1..31 (the month's last day when shorter)
    at_time: str = "09:00"  # recurring: local HH:MM
    per_minute: object = 60
    daily_cap: object = 0  # 0 = no cap
    quiet_start: str = ""  # "" and "" = the clinic's quiet hours
    quiet_end: str = ""
    ab_split: object = 50  # % on variant A when a variant B has content
    attribution_days: object = 7


@dataclass(frozen=True)
class ContentRow:
    """One variant's wording on one channel."""

    variant: str
    channel: str
    content_id: int
    subject: str
    body: str


@dataclass
class CampaignDetail:
    """A campaign as the builder shows it."""

    campaign: Campaign
    form: CampaignInput  # the stored values in the form's terms (local times)
    audience_name: str
    contents: list[ContentRow] = field(default_factory=list)
    runs: list[CampaignRun] = field(default_factory=list)
    next_run_local: str = ""  # "YYYY-MM-DD HH:MM" in the tenant's zone, or ""


def _require(session: TenantSession, actor: Principal | None) -> Principal:
    return require_staff(session, actor, Permission.CAMPAIGNS_MANAGE)


def _staff_id(actor: Principal) -> int | None:
    return actor.id if actor.kind == PrincipalKind.STAFF else None


# --- the form ---------------------------------------------------------------------------


def _int(ck: Checker, name: str, value: object, lo: int, hi: int) -> int:
    try:
        if isinstance(value, (bool, float)):
            raise ValueError
        number = int(str(value).strip())  # full-width digits are digits too
    except (TypeError, ValueError):
        ck.fail(name, "campaigns.field.number_range", min=lo, max=hi)
        return lo
    if not lo <= number <= hi:
        ck.fail(name, "campaigns.field.number_range", min=lo, max=hi)
    return number


def _hhmm(ck: Checker, name: str, value: str) -> str:
    v = (value or "").strip()
    parsed = parse_hhmm(v) if len(v) == 5 and v[2] == ":" else None
    if parsed is None:
        ck.fail(name, "campaigns.field.time_invalid")
        return ""
    return parsed.strftime("%H:%M")


def _clean(session: TenantSession, data: CampaignInput, now: datetime) -> dict[str, object]:
    """The validated column values of the form; FieldErrors with every problem at once.
    An audience of another tenant (or none such) is NotFound."""
    ck = Checker()
    tz = tenant_zone(session)
    values: dict[str, object] = {}
    values["name"] = ck.text("name", data.name, max_len=NAME_MAX)
    if data.audience_id in (None, "", 0, "0"):
        ck.fail("audience_id", "campaigns.field.audience_required")
    else:
        values["audience_id"] = pk(get_or_404(session, Audience, data.audience_id))
    raw_channels = [str(c).strip() for c in (data.channels or []) if str(c).strip()]
    if not raw_channels:
        ck.fail("channels", "campaigns.field.channels_required")
    elif any(c not in CHANNELS for c in raw_channels):
        ck.fail("channels", "campaigns.field.channel_invalid")
    values["channels"] = json.dumps([c for c in CHANNELS if c in raw_channels])
    # https, or a laptop install's own pages (http://localhost, as the demo's mall)
    values["link"] = ck.url("link", data.link, required=False, allow_http_localhost=True)
    mode = ck.choice("mode", data.mode, [m.value for m in ScheduleMode])
    values["mode"] = mode
    values["send_at"] = None
    values["recurrence"] = ""
    if mode == ScheduleMode.AT:
        at = parse_local(data.send_at, tz)
        if at is None:
            ck.fail("send_at", "campaigns.field.send_at_invalid")
        elif at <= now:
            ck.fail("send_at", "campaigns.field.send_at_past")
        values["send_at"] = at
    elif mode == ScheduleMode.RECURRING:
        values["recurrence"] = ck.choice(
            "recurrence", data.recurrence, [r.value for r in Recurrence]
        )
        values["at_time"] = _hhmm(ck, "at_time", data.at_time)
        if values["recurrence"] == Recurrence.WEEKLY:
            try:
                weekday = int(str(data.weekday).strip())
            except ValueError:
                weekday = -1
            if not 0 <= weekday <= 6:
                ck.fail("weekday", "campaigns.field.weekday_invalid")
            values["weekday"] = weekday
        if values["recurrence"] == Recurrence.MONTHLY:
            try:
                day = int(str(data.month_day).strip())
            except ValueError:
                day = 0
            if not 1 <= day <= 31:
                ck.fail("month_day", "campaigns.field.month_day_invalid")
            values["month_day"] = day
    values["per_minute"] = _int(ck, "per_minute", data.per_minute, 1, PER_MINUTE_MAX)
    values["daily_cap"] = _int(ck, "daily_cap", data.daily_cap, 0, DAILY_CAP_MAX)
    values["ab_split"] = _int(ck, "ab_split", data.ab_split, 1, 99)
    values["attribution_days"] = _int(
        ck, "attribution_days", data.attribution_days, 1, ATTRIBUTION_MAX
    )
    qs, qe = (data.quiet_start or "").strip(), (data.quiet_end or "").strip()
    if bool(qs) != bool(qe):
        ck.fail("quiet_start" if not qs else "quiet_end", "campaigns.field.quiet_both")
    elif qs:
        qs, qe = _hhmm(ck, "quiet_start", qs), _hhmm(ck, "quiet_end", qe)
    values["quiet_start"], values["quiet_end"] = qs, qe
    ck.raise_if_any()
    return values


def create_campaign(
    *, session: TenantSession, actor: Principal | None, data: CampaignInput
) -> Campaign:
    """A new draft campaign (content is added with ``set_content``)."""
    actor = _require(session, actor)
    now = utcnow()
    campaign = Campaign(
        **_clean(session, data, now),  # type: ignore[arg-type]
        status=CampaignStatus.DRAFT,
        created_by_staff_id=_staff_id(actor),
        created_at=now,
        updated_at=now,
    )
    session.add(campaign)
    session.flush()
    record(
        session,
        actor=actor,
        action="campaign.create",
        target_type="campaign",
        target_id=pk(campaign),
    )
    return campaign


def _locked_campaign(session: TenantSession, campaign_id: object) -> Campaign:
    """The campaign, its row locked for the rest of the transaction (NotFound if not ours)."""
    write_lock(session)
    try:
        cid = int(campaign_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise NotFound() from None
    row = session.exec(select(Campaign).where(Campaign.id == cid).with_for_update()).first()
    if row is None or row.tenant_id != session.tenant_id:
        raise NotFound()
    return row


def _check_editable(campaign: Campaign) -> None:
    if campaign.status == CampaignStatus.RUNNING:
        raise DomainError("campaigns.locked")
    if campaign.status not in EDITABLE:
        raise DomainError("campaigns.finished")


def update_campaign(
    *, session: TenantSession, actor: Principal | None, campaign_id: int, data: CampaignInput
) -> Campaign:
    """Change a campaign that is not sending (a draft, a scheduled or a paused one).

    A scheduled campaign's next run is recomputed from the new schedule; a paused
    run keeps its snapshot (the new audience applies to the next run)."""
    actor = _require(session, actor)
    campaign = _locked_campaign(session, campaign_id)
    _check_editable(campaign)
    now = utcnow()
    values = _clean(session, data, now)
    for name, value in values.items():
        setattr(campaign, name, value)
    if campaign.status == CampaignStatus.SCHEDULED:
        schedule_next(session, campaign, now)
    campaign.updated_at = now
    session.add(campaign)
    session.flush()
    record(
        session,
        actor=actor,
        action="campaign.update",
        target_type="campaign",
        target_id=pk(campaign),
    )
    return campaign


def delete_campaign(*, session: TenantSession, actor: Principal | None, campaign_id: int) -> None:
    """Delete a draft that never ran, with its content."""
    actor = _require(session, actor)
    campaign = _locked_campaign(session, campaign_id)
    if campaign.status != CampaignStatus.DRAFT or campaign.occurrences:
        raise DomainError("campaigns.not_deletable")
    variants = list(
        session.exec(
            select(CampaignVariant).where(CampaignVariant.campaign_id == pk(campaign))
        ).all()
    )
    contents = [v.content_id for v in variants]
    for v in variants:
        session.delete(v)
    session.flush()
    for row in session.exec(
        select(MessageContent).where(col(MessageContent.id).in_(contents or [0]))
    ).all():
        session.delete(row)
    record(
        session,
        actor=actor,
        action="campaign.delete",
        target_type="campaign",
        target_id=pk(campaign),
        details={"name": campaign.name},
    )
    session.delete(campaign)
    session.flush()


# --- content ------------------------------------------------------------------------------


def set_content(
    *,
    session: TenantSession,
    actor: Principal | None,
    campaign_id: int,
    variant: str,
    channel: str,
    subject: str,
    body: str,
) -> MessageContent:
    """Write variant ``variant``'s wording for ``channel`` (checked like a template:
    syntax, unknown variables, length, empty body)."""
    actor = _require(session, actor)
    campaign = _locked_campaign(session, campaign_id)
    _check_editable(campaign)
    ck = Checker()
    v = (variant or "").strip().upper()
    if v not in {x.value for x in Variant}:
        ck.fail("variant", "campaigns.field.variant_invalid")
    ch = (channel or "").strip()
    if ch not in campaign_channels(campaign):
        ck.fail("channel", "campaigns.field.channel_not_in_campaign")
    ck.raise_if_any()
    existing = session.exec(
        select(CampaignVariant).where(
            CampaignVariant.campaign_id == pk(campaign),
            CampaignVariant.variant == v,
            CampaignVariant.channel == ch,
        )
    ).first()
    owner = f"campaign:{pk(campaign)}"
    content = save_content(
        session,
        channel=Channel(ch),
        subject=subject or "",
        body=body or "",
        owner=owner,
        content_id=existing.content_id if existing else None,
    )
    if existing is None:
        session.add(
            CampaignVariant(
                campaign_id=pk(campaign), variant=Variant(v), channel=ch, content_id=pk(content)
            )
        )
    campaign.updated_at = utcnow()
    session.add(campaign)
    session.flush()
    record(
        session,
        actor=actor,
        action="campaign.content",
        target_type="campaign",
        target_id=pk(campaign),
        details={"variant": v, "channel": ch},
    )
    return content


def remove_variant_b(*, session: TenantSession, actor: Principal | None, campaign_id: int) -> None:
    """Drop variant B (everyone gets A). Nothing to do without one; refused once a
    run has begun (its recipients on B would lose their content)."""
    actor = _require(session, actor)
    campaign = _locked_campaign(session, campaign_id)
    rows = list(
        session.exec(
            select(CampaignVariant).where(
                CampaignVariant.campaign_id == pk(campaign), CampaignVariant.variant == Variant.B
            )
        ).all()
    )
    if not rows:
        return
    if campaign.status not in {CampaignStatus.DRAFT, CampaignStatus.SCHEDULED}:
        raise DomainError("campaigns.variant_in_use")
    ids = [r.content_id for r in rows]
    for r in rows:
        session.delete(r)
    session.flush()
    for c in session.exec(select(MessageContent).where(col(MessageContent.id).in_(ids or [0]))):
        session.delete(c)
    session.flush()
    record(
        session,
        actor=actor,
        action="campaign.remove_b",
        target_type="campaign",
        target_id=pk(campaign),
    )


# --- controls -------------------------------------------------------------------------------


def _check_content(session: TenantSession, campaign: Campaign) -> None:
    have = {
        (str(v), ch)
        for v, ch in session.exec(
            select(CampaignVariant.variant, CampaignVariant.channel).where(
                CampaignVariant.campaign_id == pk(campaign)
            )
        ).all()
    }
    variants = [Variant.A] + ([Variant.B] if any(v == Variant.B for v, _ in have) else [])
    for v in variants:
        for ch in campaign_channels(campaign):
            if (str(v), ch) not in have:
                raise DomainError("campaigns.missing_content", channel=ch, variant=str(v))


def _reachable(session: TenantSession, campaign: Campaign, now: datetime) -> int:
    total = 0
    for ch in campaign_channels(campaign):
        ids = audience_ids(
            session, audience_id=campaign.audience_id, channel=Channel(ch), now=now
        ).subquery()
        total += int(session.exec(select(func.count()).select_from(ids)).one())
    return total


def start_campaign(
    *, session: TenantSession, actor: Principal | None, campaign_id: int
) -> Campaign:
    """Start a draft: "now" snapshots its audience and starts sending within a
    minute; "at" and "recurring" wait for their time (the audience is snapshotted
    then). Refuses an audience nobody can receive and a channel without content."""
    actor = _require(session, actor)
    campaign = _locked_campaign(session, campaign_id)
    if campaign.status != CampaignStatus.DRAFT:
        raise DomainError("campaigns.not_startable")
    now = utcnow()
    _check_content(session, campaign)
    if campaign.mode == ScheduleMode.AT and (campaign.send_at is None or campaign.send_at <= now):
        raise FieldErrors.single("send_at", "campaigns.field.send_at_past")
    if campaign.mode == ScheduleMode.NOW:
        run = start_run(session, campaign, now=now, scheduled_for=now)
        if run.recipients == 0:
            raise DomainError("campaigns.empty_audience")  # rolls the run back
    else:
        if _reachable(session, campaign, now) == 0:
            raise DomainError("campaigns.empty_audience")
        campaign.status = CampaignStatus.SCHEDULED
        schedule_next(session, campaign, now)
    campaign.updated_at = now
    session.add(campaign)
    session.flush()
    record(
        session,
        actor=actor,
        action="campaign.start",
        target_type="campaign",
        target_id=pk(campaign),
    )
    return campaign


def _current_run(session: TenantSession, campaign: Campaign) -> CampaignRun | None:
    return session.exec(
        select(CampaignRun)
        .where(
            CampaignRun.campaign_id == pk(campaign),
            col(CampaignRun.status).in_([RunStatus.RUNNING, RunStatus.PAUSED]),
        )
        .order_by(col(CampaignRun.id).desc())
    ).first()


def _set_run(session: TenantSession, campaign: Campaign, status: RunStatus) -> None:
    run = _current_run(session, campaign)
    if run is not None:
        run.status = status
        session.add(run)


def _switch(
    session: TenantSession,
    actor: Principal | None,
    campaign_id: int,
    *,
    expect: CampaignStatus,
    refusal: str,
    to: CampaignStatus,
    run_to: RunStatus,
    action: str,
) -> Campaign:
    """Move a campaign and its current run between sending and paused (audited)."""
    principal = _require(session, actor)
    campaign = _locked_campaign(session, campaign_id)
    if campaign.status != expect:
        raise DomainError(refusal)
    _set_run(session, campaign, run_to)
    campaign.status = to
    campaign.updated_at = utcnow()
    session.add(campaign)
    session.flush()
    record(session, actor=principal, action=action, target_type="campaign", target_id=pk(campaign))
    return campaign


def pause_campaign(
    *, session: TenantSession, actor: Principal | None, campaign_id: int
) -> Campaign:
    """Hold a sending campaign: nothing more is released until it is resumed (messages
    already handed to the messaging engine still go out)."""
    return _switch(
        session,
        actor,
        campaign_id,
        expect=CampaignStatus.RUNNING,
        refusal="campaigns.not_running",
        to=CampaignStatus.PAUSED,
        run_to=RunStatus.PAUSED,
        action="campaign.pause",
    )


def resume_campaign(
    *, session: TenantSession, actor: Principal | None, campaign_id: int
) -> Campaign:
    """Continue a paused campaign where it stopped (each recipient still once)."""
    return _switch(
        session,
        actor,
        campaign_id,
        expect=CampaignStatus.PAUSED,
        refusal="campaigns.not_paused",
        to=CampaignStatus.RUNNING,
        run_to=RunStatus.RUNNING,
        action="campaign.resume",
    )


def stop_campaign(*, session: TenantSession, actor: Principal | None, campaign_id: int) -> Campaign:
    """Stop for good: the current run's pending recipients are cancelled, messages
    still waiting in the outbox (held for quiet hours) are suppressed, and a
    scheduled or recurring campaign runs no more."""
    actor = _require(session, actor)
    campaign = _locked_campaign(session, campaign_id)
    if campaign.status not in {
        CampaignStatus.SCHEDULED,
        CampaignStatus.RUNNING,
        CampaignStatus.PAUSED,
    }:
        raise DomainError("campaigns.not_stoppable")
    now = utcnow()
    run = _current_run(session, campaign)
    cancelled = 0
    if run is not None:
        run.status = RunStatus.STOPPED
        run.finished_at = now
        session.add(run)
        cancelled = cancel_pending(session, campaign=campaign, run_id=pk(run), now=now)
    campaign.status = CampaignStatus.STOPPED
    campaign.next_run_at = None
    campaign.updated_at = now
    session.add(campaign)
    session.flush()
    record(
        session,
        actor=actor,
        action="campaign.stop",
        target_type="campaign",
        target_id=pk(campaign),
        details={"cancelled": cancelled},
    )
    return campaign


# --- reading ----------------------------------------------------------------------------------


def list_campaigns(*, session: TenantSession, actor: Principal | None) -> list[Campaign]:
    """The tenant's campaigns, newest first."""
    _require(session, actor)
    return list(session.exec(select(Campaign).order_by(col(Campaign.id).desc())).all())


def _form(campaign: Campaign, tz: str) -> CampaignInput:
    return CampaignInput(
        name=campaign.name,
        audience_id=campaign.audience_id,
        channels=campaign_channels(campaign),
        link=campaign.link,
        mode=str(campaign.mode),
        send_at=format_local(campaign.send_at, tz),
        recurrence=campaign.recurrence,
        weekday=campaign.weekday,
        month_day=campaign.month_day,
        at_time=campaign.at_time,
        per_minute=campaign.per_minute,
        daily_cap=campaign.daily_cap,
        quiet_start=campaign.quiet_start,
        quiet_end=campaign.quiet_end,
        ab_split=campaign.ab_split,
        attribution_days=campaign.attribution_days,
    )


def get_campaign(
    *, session: TenantSession, actor: Principal | None, campaign_id: int
) -> CampaignDetail:
    """A campaign with its form values, content and runs."""
    _require(session, actor)
    campaign = get_or_404(session, Campaign, campaign_id)
    tz = tenant_zone(session)
    audience = session.exec(select(Audience).where(Audience.id == campaign.audience_id)).first()
    rows = session.exec(
        select(CampaignVariant, MessageContent)
        .join(MessageContent, col(MessageContent.id) == col(CampaignVariant.content_id))
        .where(CampaignVariant.campaign_id == pk(campaign))
        .order_by(col(CampaignVariant.variant), col(CampaignVariant.channel))
    ).all()
    contents = [
        ContentRow(
            variant=str(v.variant),
            channel=v.channel,
            content_id=v.content_id,
            subject=c.subject,
            body=c.body,
        )
        for v, c in rows
    ]
    runs = list(
        session.exec(
            select(CampaignRun)
            .where(CampaignRun.campaign_id == pk(campaign))
            .order_by(col(CampaignRun.occurrence).desc())
        ).all()
    )
    return CampaignDetail(
        campaign=campaign,
        form=_form(campaign, tz),
        audience_name=audience.name if audience else "",
        contents=contents,
        runs=runs,
        next_run_local=format_local(campaign.next_run_at, tz),
    )


def recipient_counts(session: TenantSession, run_id: int) -> dict[str, int]:
    """A run's recipients by status (internal: callers have checked the actor)."""
    rows = session.exec(
        select(CampaignRecipient.status, func.count())
        .where(CampaignRecipient.run_id == run_id)
        .group_by(col(CampaignRecipient.status))
    ).all()
    out = {str(s.value): 0 for s in RecipientStatus}
    for status, n in rows:
        out[str(status)] = int(n)
    return out


__all__ = [
    "CampaignDetail",
    "CampaignInput",
    "CampaignReport",
    "ContentRow",
    "ReportRow",
    "RunRow",
    "campaign_report",
    "create_campaign",
    "delete_campaign",
    "format_local",
    "get_campaign",
    "list_campaigns",
    "parse_local",
    "pause_campaign",
    "recipient_counts",
    "remove_variant_b",
    "resume_campaign",
    "set_content",
    "start_campaign",
    "stop_campaign",
    "update_campaign",
]
