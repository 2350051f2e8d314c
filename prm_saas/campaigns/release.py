"""Running campaigns: starting runs (the audience snapshot), releasing recipients
into the messaging engine's outbox within the throttle, the daily cap and quiet
hours, and finishing runs.

Called by the beat tick (``prm_saas.campaigns.tasks``) once a minute per tenant
with ``now``; no actor (the manager who started the campaign was checked then).

- The snapshot is set-based: one ``INSERT ... SELECT`` per channel from the
  audience's ``audience_ids`` query, with the A/B variant computed in SQL from
  the patient and campaign ids (deterministic: the same patient gets the same
  variant on every channel and in every run of the campaign).
- A release moves up to the allowance of a run's ``pending`` rows to
  ``released`` with a conditional UPDATE (only rows still pending are taken,
  so two ticks at once release each row once), records one outbox message
  per row under the dedupe key ``campaign:<run>:<patient>:<channel>`` and,
  once the transaction has committed, hands the messages to the messaging
  engine's ``messaging.send_batch``. Nothing is released twice and no
  message is recorded twice.
- The allowance: ``per_minute`` minus the campaign's releases in the last 60 s,
  at most ``daily_cap`` minus its releases since the tenant's local midnight
  (when a cap is set), and nothing inside the quiet hours (the campaign's own,
  else the clinic's).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import col, func, select, update

from prm_saas.accounts.models import Patient
from prm_saas.audiences.services import audience_ids
from prm_saas.booking.schedule import pk
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
from prm_saas.campaigns.schedule import local_day_start, next_occurrence
from prm_saas.messaging.content import content_key
from prm_saas.messaging.models import Channel, Message, MessageStatus
from prm_saas.messaging.outbox import EnqueueItem, claim_ids, enqueue_many
from prm_saas.messaging.preferences import messaging_settings
from prm_saas.messaging.quiet_hours import parse_hhmm, quiet_until
from tenants.db import TenantSession, on_commit
from tenants.models import Tenant

log = logging.getLogger(__name__)

# Multipliers of the A/B hash: (patient * P + campaign * Q) mod 100. P is coprime
# with 100, so every 100 consecutive patient ids split exactly by the percentage.
_AB_P = 7919
_AB_Q = 104729
# Messages per send task (the messaging engine's batch size).
_SEND_CHUNK = 50


@dataclass
class ReleaseResult:
    """What one release pass did."""

    started: int = 0  # runs started (snapshots taken)
    taken: int = 0  # pending recipients taken (released, or cancelled without an address)
    released: int = 0  # recipients released into the outbox
    finished: int = 0  # runs finished
    message_ids: list[int] = field(default_factory=list)


def tenant_zone(session: TenantSession) -> str:
    """The session tenant's IANA time zone."""
    tenant = session.get(Tenant, session.tenant_id)
    return tenant.timezone if tenant and tenant.timezone else "Asia/Shanghai"


def campaign_channels(campaign: Campaign) -> list[str]:
    """The campaign's channels, in the engine's order."""
    try:
        names = json.loads(campaign.channels or "[]")
    except ValueError:
        return []
    return [c.value for c in Channel if c.value in names]


def schedule_next(session: TenantSession, campaign: Campaign, now: datetime) -> None:
    """Set ``next_run_at``: the send time ("at"), the next occurrence after ``now``
    ("recurring"), or now ("now")."""
    if campaign.mode == ScheduleMode.AT:
        campaign.next_run_at = campaign.send_at
    elif campaign.mode == ScheduleMode.RECURRING:
        at = parse_hhmm(campaign.at_time) or time(9, 0)
        campaign.next_run_at = next_occurrence(
            after=now,
            tz_name=tenant_zone(session),
            recurrence=Recurrence(campaign.recurrence),
            at=at,
            weekday=campaign.weekday,
            month_day=campaign.month_day,
        )
    else:
        campaign.next_run_at = now


def _has_b(session: TenantSession, campaign_id: int) -> bool:
    return (
        session.exec(
            select(CampaignVariant.id).where(
                CampaignVariant.campaign_id == campaign_id, CampaignVariant.variant == Variant.B
            )
        ).first()
        is not None
    )


def start_run(
    session: TenantSession, campaign: Campaign, *, now: datetime, scheduled_for: datetime
) -> CampaignRun:
    """Start the campaign's next occurrence: a run and its snapshot of recipients.

    The campaign becomes ``running``; a recurring campaign's ``next_run_at`` moves
    to the occurrence after this one (occurrences missed while nothing ran are
    skipped, not sent in a burst)."""
    tid = session.tenant_id
    assert tid is not None
    cid = pk(campaign)
    campaign.occurrences += 1
    run = CampaignRun(
        campaign_id=cid,
        occurrence=campaign.occurrences,
        status=RunStatus.RUNNING,
        scheduled_for=scheduled_for,
        started_at=now,
    )
    session.add(run)
    session.flush()
    rid = pk(run)
    has_b = _has_b(session, cid)
    table = CampaignRecipient.__table__  # type: ignore[attr-defined]
    patient = Patient.__table__  # type: ignore[attr-defined]
    for channel in campaign_channels(campaign):
        ids = audience_ids(
            session, audience_id=campaign.audience_id, channel=Channel(channel), now=now
        ).subquery()
        pid_col = next(iter(ids.c))
        split = (
            sa.case((((pid_col * _AB_P + cid * _AB_Q) % 100) < campaign.ab_split, "A"), else_="B")
            if has_b
            else sa.literal("A")
        )
        chosen = (
            sa.select(
                sa.literal(tid),
                sa.literal(cid),
                sa.literal(rid),
                pid_col,
                sa.literal(channel),
                split,
                sa.literal(RecipientStatus.PENDING.value),
            )
            .select_from(
                # The tenant's wall, spelled out: this SELECT runs inside a Core INSERT,
                # where the session's loader criteria do not reach (audience_ids keeps
                # its own tables to the tenant too).
                ids.join(patient, patient.c.id == pid_col)
            )
            .where(patient.c.tenant_id == tid)
        )
        insert = table.insert().from_select(
            ["tenant_id", "campaign_id", "run_id", "patient_id", "channel", "variant", "status"],
            chosen,
        )
        # The session refuses bulk INSERTs into tenant tables through the ORM (they
        # would skip its tenant stamping): this one stamps the session's tenant
        # itself, selects only the tenant's patients, and runs on the session's
        # connection in its transaction (on PostgreSQL under its RLS setting, whose
        # WITH CHECK refuses any other tenant's row).
        session.connection().execute(insert)
    run.recipients = int(
        session.exec(
            select(func.count())
            .select_from(CampaignRecipient)
            .where(CampaignRecipient.run_id == rid)
        ).one()
    )
    session.add(run)
    campaign.status = CampaignStatus.RUNNING
    if campaign.mode == ScheduleMode.RECURRING:
        schedule_next(session, campaign, max(now, scheduled_for))
    else:
        campaign.next_run_at = None
    session.add(campaign)
    session.flush()
    return run


def _quiet(session: TenantSession, campaign: Campaign, now: datetime, tz: str) -> bool:
    if campaign.quiet_start and campaign.quiet_end:
        start, end = campaign.quiet_start, campaign.quiet_end
    else:
        settings = messaging_settings(session)
        start, end = settings.quiet_start, settings.quiet_end
    return quiet_until(now, tz, start, end) is not None


def _released_since(
    session: TenantSession, campaign_id: int, since: datetime, now: datetime, *, strict: bool
) -> int:
    at = col(CampaignRecipient.released_at)
    return int(
        session.exec(
            select(func.count())
            .select_from(CampaignRecipient)
            .where(
                CampaignRecipient.campaign_id == campaign_id,
                (at > since) if strict else (at >= since),
                at <= now,
            )
        ).one()
    )


def allowance(session: TenantSession, campaign: Campaign, now: datetime) -> int:
    """How many recipients the campaign may release at ``now``."""
    tz = tenant_zone(session)
    if _quiet(session, campaign, now, tz):
        return 0
    cid = pk(campaign)
    left = campaign.per_minute - _released_since(
        session, cid, now - timedelta(seconds=60), now, strict=True
    )
    if campaign.daily_cap > 0:
        today = _released_since(session, cid, local_day_start(now, tz), now, strict=False)
        left = min(left, campaign.daily_cap - today)
    return max(left, 0)


def _contents(session: TenantSession, campaign_id: int) -> dict[tuple[str, str], int]:
    return {
        (str(v.variant), v.channel): v.content_id
        for v in session.exec(
            select(CampaignVariant).where(CampaignVariant.campaign_id == campaign_id)
        ).all()
    }


def _release_run(
    session: TenantSession, campaign: Campaign, run: CampaignRun, now: datetime, limit: int
) -> tuple[int, int, list[int]]:
    """Release up to ``limit`` pending recipients of ``run``; returns how many were
    taken, how many released, and the ids of the messages claimed for sending."""
    rid = pk(run)
    cid = pk(campaign)
    candidates = [
        int(i or 0)
        for i in session.exec(
            select(CampaignRecipient.id)
            .where(
                CampaignRecipient.run_id == rid,
                CampaignRecipient.status == RecipientStatus.PENDING,
            )
            .order_by(col(CampaignRecipient.id))
            .limit(limit)
        ).all()
    ]
    if not candidates:
        return 0, 0, []
    taken = [
        int(row[0])
        for row in session.exec(
            update(CampaignRecipient)
            .where(
                col(CampaignRecipient.id).in_(candidates),
                col(CampaignRecipient.status) == RecipientStatus.PENDING,
            )
            .values(status=RecipientStatus.RELEASED, released_at=now)
            .returning(col(CampaignRecipient.id))
            .execution_options(synchronize_session=False)
        ).all()
    ]
    contents = _contents(session, cid)
    variables = {"link": campaign.link} if campaign.link else {"link": ""}
    message_ids: list[int] = []
    released = 0
    rows = session.exec(
        select(CampaignRecipient)
        .where(col(CampaignRecipient.id).in_(taken))
        .order_by(col(CampaignRecipient.id))
        .execution_options(populate_existing=True)
    ).all()
    # One enqueue_many per content and channel (a handful: variants x channels),
    # so a chunk costs a constant number of statements, not four per message.
    groups: dict[tuple[int, str], list[CampaignRecipient]] = {}
    for r in rows:
        content_id = contents.get((str(r.variant), r.channel))
        if content_id is not None:
            groups.setdefault((content_id, r.channel), []).append(r)
    ids: dict[int, int] = {}  # recipient id -> message id
    for (content_id, channel), group in groups.items():
        keys = {pk(r): f"campaign:{rid}:{r.patient_id}:{r.channel}" for r in group}
        by_key = enqueue_many(
            session,
            template_key=content_key(content_id),
            channel=Channel(channel),
            items=[
                EnqueueItem(
                    patient_id=r.patient_id,
                    dedupe_key=keys[pk(r)],
                    variables=variables,
                    source=f"campaign:{cid}:{r.variant}:{rid}",
                )
                for r in group
            ],
            due_at=now,
        )
        ids.update({i: by_key[k] for i, k in keys.items() if k in by_key})
    for r in rows:
        message_id = ids.get(pk(r))
        if message_id is None:
            # No content, or the address was removed since the snapshot.
            r.status, r.released_at = RecipientStatus.CANCELLED, None
        else:
            released += 1
            r.message_id = message_id
            message_ids.append(message_id)
        session.add(r)
    session.flush()
    # Only the messages still scheduled and due are claimed (one under an existing
    # key may have been sent, or be held for quiet hours).
    return len(taken), released, claim_ids(session, ids=message_ids, now=now)


def _finish_if_done(
    session: TenantSession, campaign: Campaign, run: CampaignRun, now: datetime
) -> bool:
    pending = session.exec(
        select(CampaignRecipient.id)
        .where(
            CampaignRecipient.run_id == pk(run),
            CampaignRecipient.status == RecipientStatus.PENDING,
        )
        .limit(1)
    ).first()
    if pending is not None:
        return False
    run.status = RunStatus.DONE
    run.finished_at = now
    session.add(run)
    if campaign.mode == ScheduleMode.RECURRING:
        campaign.status = CampaignStatus.SCHEDULED
        if campaign.next_run_at is None:  # made recurring while this run was paused
            schedule_next(session, campaign, now)
    else:
        campaign.status = CampaignStatus.DONE
    campaign.updated_at = now
    session.add(campaign)
    return True


def hand_off(session: TenantSession, message_ids: list[int]) -> None:
    """Once the transaction commits, give the claimed messages to the messaging
    engine's send task. If the broker is unreachable they stay claimed in the
    outbox and the engine's dispatcher sends them when their lease ends."""
    tenant_id = session.tenant_id
    if not message_ids or tenant_id is None:
        return
    ids = list(message_ids)

    def send() -> None:
        from prm_saas.messaging.tasks import send_batch

        try:
            for start in range(0, len(ids), _SEND_CHUNK):
                send_batch.apply_async((ids[start : start + _SEND_CHUNK],), tenant_id=tenant_id)
        except Exception:
            log.exception("campaign messages %s..: hand-off failed; the dispatcher retries", ids[0])

    on_commit(session, send)


def release_campaign(
    session: TenantSession,
    *,
    campaign_id: int,
    now: datetime,
    send: bool = True,
    limit: int | None = None,
) -> ReleaseResult:
    """One campaign's due work at ``now``: start its run if one is due, release what
    the allowance permits (at most ``limit`` in this transaction, if given), finish
    the run when nothing is pending. The campaign row is locked for the transaction,
    so two ticks at once take turns, and a pause waits for one chunk at most."""
    result = ReleaseResult()
    campaign = session.exec(
        select(Campaign).where(Campaign.id == campaign_id).with_for_update()
    ).first()
    if campaign is None:
        return result
    if (
        campaign.status == CampaignStatus.SCHEDULED
        and campaign.next_run_at is not None
        and campaign.next_run_at <= now
    ):
        start_run(session, campaign, now=now, scheduled_for=campaign.next_run_at)
        result.started += 1
    if campaign.status != CampaignStatus.RUNNING:
        return result
    run = session.exec(
        select(CampaignRun)
        .where(CampaignRun.campaign_id == campaign_id, CampaignRun.status == RunStatus.RUNNING)
        .order_by(col(CampaignRun.id).desc())
    ).first()
    if run is None:
        return result
    room = allowance(session, campaign, now)
    if limit is not None:
        room = min(room, limit)
    if room > 0:
        result.taken, result.released, result.message_ids = _release_run(
            session, campaign, run, now, room
        )
    if _finish_if_done(session, campaign, run, now):
        result.finished += 1
    session.flush()
    if send:
        hand_off(session, result.message_ids)
    return result


def due_campaign_ids(session: TenantSession, now: datetime) -> list[int]:
    """Campaigns with work at ``now``: a run sending, or a scheduled run due."""
    rows = session.exec(
        select(Campaign.id)
        .where(
            (col(Campaign.status) == CampaignStatus.RUNNING)
            | (
                (col(Campaign.status) == CampaignStatus.SCHEDULED)
                & (col(Campaign.next_run_at) <= now)
            )
        )
        .order_by(col(Campaign.id))
    ).all()
    return [int(i or 0) for i in rows]


def release_due(session: TenantSession, *, now: datetime, send: bool = True) -> ReleaseResult:
    """Every campaign of the session's tenant with work at ``now``, in this transaction."""
    total = ReleaseResult()
    for cid in due_campaign_ids(session, now):
        r = release_campaign(session, campaign_id=cid, now=now, send=send)
        total.started += r.started
        total.taken += r.taken
        total.released += r.released
        total.finished += r.finished
        total.message_ids += r.message_ids
    return total


def cancel_pending(
    session: TenantSession, *, campaign: Campaign, run_id: int, now: datetime
) -> int:
    """Cancel a stopped run's pending recipients and suppress its messages still
    waiting in the outbox (held for quiet hours); returns how many were cancelled."""
    result = session.exec(
        update(CampaignRecipient)
        .where(
            col(CampaignRecipient.run_id) == run_id,
            col(CampaignRecipient.status) == RecipientStatus.PENDING,
        )
        .values(status=RecipientStatus.CANCELLED)
        .execution_options(synchronize_session=False)
    )
    session.exec(
        update(Message)
        .where(
            col(Message.source).like(f"campaign:{pk(campaign)}:%:{run_id}"),
            col(Message.status) == MessageStatus.SCHEDULED,
        )
        .values(
            status=MessageStatus.SUPPRESSED, suppressed_reason="campaign_stopped", updated_at=now
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
