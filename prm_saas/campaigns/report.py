"""The campaign report: per variant and channel, what the snapshot held, what was
released, what the messaging engine did with it, and what it led to.

Recipients (pending, released, cancelled) come from the campaign's own tables;
message outcomes, opens, clicks and conversions from ``prm_saas.tracking``,
which reads the messages by their ``source`` (``campaign:<id>:<variant>:<run>``)
and attributes bookings and paid orders last-touch within the campaign's
``attribution_days``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import col, func, select

from prm_saas.accounts.authz import Permission, Principal, require_staff
from prm_saas.booking.schedule import pk
from prm_saas.campaigns.models import (
    Campaign,
    CampaignRecipient,
    CampaignRun,
    CampaignVariant,
    RecipientStatus,
    Variant,
)
from prm_saas.campaigns.release import campaign_channels, tenant_zone
from prm_saas.campaigns.schedule import format_local
from prm_saas.messaging.models import Channel
from prm_saas.tracking.services import conversions, message_stats
from tenants.db import TenantSession
from tenants.lookup import get_or_404


@dataclass(frozen=True)
class ReportRow:
    """One variant on one channel ("" and "" for the whole campaign)."""

    variant: str
    channel: str
    recipients: int  # in the snapshots of every run
    pending: int  # not released yet
    released: int  # handed to the messaging engine
    cancelled: int  # dropped by a stop (or an address removed since the snapshot)
    sent: int
    delivered: int  # SMS receipts and in-app; email has no receipts
    failed: int
    suppressed: dict[str, int] = field(default_factory=dict)  # by reason
    unique_opens: int = 0
    unique_clicks: int = 0
    bookings: int = 0
    orders: int = 0
    revenue_fen: int = 0

    @property
    def conversions(self) -> int:
        """Bookings and paid orders attributed to these messages."""
        return self.bookings + self.orders

    @property
    def suppressed_total(self) -> int:
        """Messages suppressed for any reason."""
        return sum(self.suppressed.values())


@dataclass(frozen=True)
class RunRow:
    """One occurrence, times in the tenant's zone."""

    occurrence: int
    status: str
    started_local: str
    finished_local: str
    recipients: int


@dataclass
class CampaignReport:
    """What a campaign did."""

    campaign_id: int
    name: str
    status: str
    attribution_days: int
    rows: list[ReportRow]
    total: ReportRow
    runs: list[RunRow]


def _counts(session: TenantSession, campaign_id: int) -> dict[tuple[str, str], dict[str, int]]:
    out: dict[tuple[str, str], dict[str, int]] = {}
    rows = session.exec(
        select(
            CampaignRecipient.variant,
            CampaignRecipient.channel,
            CampaignRecipient.status,
            func.count(),
        )
        .where(CampaignRecipient.campaign_id == campaign_id)
        .group_by(
            col(CampaignRecipient.variant),
            col(CampaignRecipient.channel),
            col(CampaignRecipient.status),
        )
    ).all()
    for variant, channel, status, n in rows:
        out.setdefault((str(variant), str(channel)), {})[str(status)] = int(n)
    return out


def _row(
    session: TenantSession,
    *,
    variant: str,
    channel: str,
    prefix: str,
    counts: dict[str, int],
    window: int,
) -> ReportRow:
    ch = Channel(channel) if channel else None
    stats = message_stats(session, source_prefix=prefix, channel=ch)
    conv = conversions(session, source_prefix=prefix, window_days=window, channel=ch)
    return ReportRow(
        variant=variant,
        channel=channel,
        recipients=sum(counts.values()),
        pending=counts.get(RecipientStatus.PENDING.value, 0),
        released=counts.get(RecipientStatus.RELEASED.value, 0),
        cancelled=counts.get(RecipientStatus.CANCELLED.value, 0),
        sent=stats.sent,
        delivered=stats.delivered,
        failed=stats.failed,
        suppressed=dict(stats.suppressed),
        unique_opens=stats.unique_opens,
        unique_clicks=stats.unique_clicks,
        bookings=conv.bookings,
        orders=conv.orders,
        revenue_fen=conv.revenue_fen,
    )


def campaign_report(
    *, session: TenantSession, actor: Principal | None, campaign_id: int
) -> CampaignReport:
    """The report of a campaign of the actor's tenant (CAMPAIGNS_MANAGE)."""
    require_staff(session, actor, Permission.CAMPAIGNS_MANAGE)
    campaign = get_or_404(session, Campaign, campaign_id)
    cid = pk(campaign)
    counts = _counts(session, cid)
    has_b = any(v == Variant.B for v, _ in counts) or (
        session.exec(
            select(CampaignVariant.id).where(
                CampaignVariant.campaign_id == cid, CampaignVariant.variant == Variant.B
            )
        ).first()
        is not None
    )
    variants = [Variant.A.value] + ([Variant.B.value] if has_b else [])
    channels = campaign_channels(campaign)
    for _v, ch in counts:  # a channel dropped since a run still shows
        if ch not in channels:
            channels.append(ch)
    window = campaign.attribution_days
    rows = [
        _row(
            session,
            variant=v,
            channel=ch,
            prefix=f"campaign:{cid}:{v}:",
            counts=counts.get((v, ch), {}),
            window=window,
        )
        for v in variants
        for ch in channels
    ]
    everything: dict[str, int] = {}
    for per in counts.values():
        for status, n in per.items():
            everything[status] = everything.get(status, 0) + n
    total = _row(
        session, variant="", channel="", prefix=f"campaign:{cid}:", counts=everything, window=window
    )
    tz = tenant_zone(session)
    runs = [
        RunRow(
            occurrence=r.occurrence,
            status=str(r.status),
            started_local=format_local(r.started_at, tz),
            finished_local=format_local(r.finished_at, tz),
            recipients=r.recipients,
        )
        for r in session.exec(
            select(CampaignRun)
            .where(CampaignRun.campaign_id == cid)
            .order_by(col(CampaignRun.occurrence).desc())
        ).all()
    ]
    return CampaignReport(
        campaign_id=cid,
        name=campaign.name,
        status=str(campaign.status),
        attribution_days=window,
        rows=rows,
        total=total,
        runs=runs,
    )
