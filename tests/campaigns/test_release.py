"""The release, driven tick by tick with ``now``: throttle per minute, the daily cap
per tenant-local day, quiet hours, pause/resume/stop mid-send with no message
twice, scheduled and recurring runs (a new snapshot each occurrence)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from prm_saas.campaigns import services as cs
from prm_saas.campaigns.models import Campaign, CampaignRun
from prm_saas.campaigns.release import ReleaseResult, release_due
from prm_saas.messaging.delivery import deliver_batch
from prm_saas.messaging.models import MessageStatus
from tenants.db import tenant_session
from tenants.errors import DomainError
from tests.campaigns import helpers as h
from tests.campaigns.helpers import NOW
from tests.factories import World

MIN = timedelta(minutes=1)


def tick(tenant_id: int, now: datetime) -> ReleaseResult:
    with tenant_session(tenant_id) as s:
        return release_due(s, now=now, send=False)


def start(world: World, cid: int) -> None:
    with tenant_session(world.a.id) as s:
        cs.start_campaign(session=s, actor=world.admin_a, campaign_id=cid)


def released(world: World, cid: int) -> int:
    return sum(r.status == "released" for r in h.recipients(world.a, cid))


def assert_once_each(world: World, cid: int) -> None:
    """Each released recipient has exactly one message, and no patient got two on a channel."""
    msgs = h.messages(world.a, cid)
    per = Counter((m.patient_id, m.channel) for m in msgs)
    assert all(n == 1 for n in per.values()), per
    rows = [r for r in h.recipients(world.a, cid) if r.status == "released"]
    assert sorted(r.message_id or 0 for r in rows) == sorted(m.id or 0 for m in msgs)


def test_throttle_releases_per_minute_then_finishes(world: World) -> None:
    aud = h.audience(world.a, world.admin_a, h.patients(world.a, 25))
    cid = h.campaign(world.a, world.admin_a, aud, per_minute=10)
    start(world, cid)
    assert tick(world.a.id, NOW).released == 10
    assert tick(world.a.id, NOW + timedelta(seconds=30)).released == 0  # same minute
    assert released(world, cid) == 10
    assert tick(world.a.id, NOW + MIN).released == 10
    assert h.status(world.a, cid) == "running"
    r = tick(world.a.id, NOW + 2 * MIN)
    assert (r.released, r.finished) == (5, 1)
    assert h.status(world.a, cid) == "done"
    assert tick(world.a.id, NOW + 3 * MIN).released == 0
    assert_once_each(world, cid)
    msgs = h.messages(world.a, cid)
    assert len(msgs) == 25
    assert {m.status for m in msgs} == {MessageStatus.QUEUED}  # claimed for the send task
    assert {m.template_key.split(":")[0] for m in msgs} == {"content"}
    assert {m.source.rsplit(":", 1)[0] for m in msgs} == {f"campaign:{cid}:A"}


def test_daily_cap_counts_the_tenants_local_day(world: World) -> None:
    aud = h.audience(world.a, world.admin_a, h.patients(world.a, 12))
    cid = h.campaign(world.a, world.admin_a, aud, per_minute=100, daily_cap=5)
    start(world, cid)
    assert tick(world.a.id, NOW).released == 5  # 10:00 in Shanghai
    assert tick(world.a.id, NOW + 5 * MIN).released == 0
    # 23:59 in Shanghai (15:59 UTC): still the same local day
    late = NOW.replace(hour=15, minute=59)
    assert tick(world.a.id, late).released == 0
    # 00:00 the next local day (16:00 UTC, the same UTC day): a new allowance;
    # the clinic's quiet hours (21:00-08:00) hold it until 08:00
    h.settings(world.a, quiet_start="00:00", quiet_end="00:00")
    assert tick(world.a.id, late + MIN).released == 5
    assert tick(world.a.id, late + 2 * MIN).released == 0
    r = tick(world.a.id, late + timedelta(days=1, minutes=1))
    assert (r.released, r.finished) == (2, 1)
    assert_once_each(world, cid)


def test_quiet_hours_hold_the_release(world: World) -> None:
    aud = h.audience(world.a, world.admin_a, h.patients(world.a, 3))
    own = h.campaign(world.a, world.admin_a, aud, quiet_start="09:00", quiet_end="12:00")
    start(world, own)
    assert tick(world.a.id, NOW).released == 0  # 10:00 local: inside the campaign's own
    assert tick(world.a.id, NOW + timedelta(hours=2)).released == 3  # 12:00 local
    # the clinic's quiet hours (21:00-08:00 by default) apply without the campaign's own
    clinic = h.campaign(world.a, world.admin_a, aud, name="晚间")
    start(world, clinic)
    night = NOW.replace(hour=14)  # 22:00 local
    assert tick(world.a.id, night).released == 0
    assert tick(world.a.id, night + timedelta(hours=9, minutes=59)).released == 0  # 07:59
    assert tick(world.a.id, night + timedelta(hours=10)).released == 3  # 08:00


def test_pause_and_resume_mid_send_send_nobody_twice(world: World) -> None:
    h.settings(world.a, quiet_start="00:00", quiet_end="00:00")
    pa = h.patients(world.a, 20)
    aud = h.audience(world.a, world.admin_a, pa)
    cid = h.campaign(world.a, world.admin_a, aud, per_minute=6)
    start(world, cid)
    first = tick(world.a.id, NOW)
    assert first.released == 6
    deliver_batch(tenant_id=world.a.id, message_ids=first.message_ids)  # really sent (inbox)
    with tenant_session(world.a.id) as s:
        cs.pause_campaign(session=s, actor=world.admin_a, campaign_id=cid)
    for k in range(1, 4):
        assert tick(world.a.id, NOW + k * MIN).released == 0
    assert released(world, cid) == 6
    with tenant_session(world.a.id) as s:
        cs.resume_campaign(session=s, actor=world.admin_a, campaign_id=cid)
    now = NOW + 5 * MIN
    while h.status(world.a, cid) == "running":
        r = tick(world.a.id, now)
        tick(world.a.id, now)  # beat firing twice in the same minute releases nothing more
        deliver_batch(tenant_id=world.a.id, message_ids=r.message_ids)
        now += MIN
    assert h.status(world.a, cid) == "done"
    assert_once_each(world, cid)
    msgs = h.messages(world.a, cid)
    assert Counter(m.patient_id for m in msgs) == dict.fromkeys(pa, 1)
    assert {m.status for m in msgs} == {MessageStatus.SENT}


def test_stop_cancels_what_is_pending(world: World) -> None:
    aud = h.audience(world.a, world.admin_a, h.patients(world.a, 10))
    cid = h.campaign(world.a, world.admin_a, aud, per_minute=3)
    start(world, cid)
    assert tick(world.a.id, NOW).released == 3
    with tenant_session(world.a.id) as s:
        cs.stop_campaign(session=s, actor=world.admin_a, campaign_id=cid)
    assert Counter(str(r.status) for r in h.recipients(world.a, cid)) == {
        "released": 3,
        "cancelled": 7,
    }
    assert tick(world.a.id, NOW + MIN).released == 0
    assert h.status(world.a, cid) == "stopped"
    with pytest.raises(DomainError) as exc, tenant_session(world.a.id) as s:
        cs.update_campaign(session=s, actor=world.admin_a, campaign_id=cid, data=h.form(aud))
    assert exc.value.key == "campaigns.finished"
    assert len(h.messages(world.a, cid)) == 3
    with tenant_session(world.a.id) as s:
        run = s.exec(select(CampaignRun).where(CampaignRun.campaign_id == cid)).one()
        assert run.status == "stopped"


def _next_run(world: World, cid: int) -> datetime:
    with tenant_session(world.a.id) as s:
        at = s.exec(select(Campaign.next_run_at).where(Campaign.id == cid)).one()
    assert at is not None
    return at


def test_a_campaign_at_a_time_waits_for_it(world: World) -> None:
    aud = h.audience(world.a, world.admin_a, h.patients(world.a, 4))
    cid = h.campaign(world.a, world.admin_a, aud, mode="at", send_at="2099-01-05 10:00")
    start(world, cid)
    assert h.status(world.a, cid) == "scheduled"
    at = _next_run(world, cid)
    assert tick(world.a.id, at - MIN).started == 0
    assert h.recipients(world.a, cid) == []
    r = tick(world.a.id, at)
    assert (r.started, r.released, r.finished) == (1, 4, 1)
    assert h.status(world.a, cid) == "done"


def test_a_recurring_campaign_snapshots_each_occurrence_anew(world: World) -> None:
    pa = h.patients(world.a, 3)
    aud = h.audience(world.a, world.admin_a, pa)
    cid = h.campaign(
        world.a, world.admin_a, aud, mode="recurring", recurrence="daily", at_time="10:00"
    )
    start(world, cid)
    first = _next_run(world, cid)
    assert first.astimezone().minute == 0
    assert tick(world.a.id, first - MIN).started == 0
    r = tick(world.a.id, first)
    assert (r.started, r.released, r.finished) == (1, 3, 1)
    assert h.status(world.a, cid) == "scheduled"
    second = _next_run(world, cid)
    assert second == first + timedelta(days=1)
    # two more patients join the audience before the next occurrence
    with tenant_session(world.a.id) as s:
        from prm_saas.tags.models import Tag
        from prm_saas.tags.services import add_tags

        tag_id = int(s.exec(select(Tag.id).where(Tag.name == "VIP")).one() or 0)
        newcomers = h.patients(world.a, 2)
        add_tags(session=s, actor=world.admin_a, patient_ids=newcomers, tag_ids=[tag_id])
    r = tick(world.a.id, second)
    assert (r.started, r.released) == (1, 5)
    with tenant_session(world.a.id) as s:
        runs = s.exec(
            select(CampaignRun)
            .where(CampaignRun.campaign_id == cid)
            .order_by(col(CampaignRun.occurrence))
        ).all()
        assert [(x.occurrence, x.recipients, x.status) for x in runs] == [
            (1, 3, "done"),
            (2, 5, "done"),
        ]
    # each occurrence is its own message to each patient
    per = Counter(m.patient_id for m in h.messages(world.a, cid))
    assert sorted(per.values()) == [1, 1, 2, 2, 2]
    # stopping ends the series
    with tenant_session(world.a.id) as s:
        cs.stop_campaign(session=s, actor=world.admin_a, campaign_id=cid)
    assert tick(world.a.id, second + timedelta(days=1)).started == 0


def test_ticks_stay_in_their_tenant(world: World) -> None:
    aud_a = h.audience(world.a, world.admin_a, h.patients(world.a, 2))
    aud_b = h.audience(world.b, world.admin_b, h.patients(world.b, 3))
    ca = h.campaign(world.a, world.admin_a, aud_a)
    cb = h.campaign(world.b, world.admin_b, aud_b)
    start(world, ca)
    with tenant_session(world.b.id) as s:
        cs.start_campaign(session=s, actor=world.admin_b, campaign_id=cb)
    assert tick(world.a.id, NOW).released == 2
    assert h.status(world.b, cb) == "running"
    assert h.messages(world.b, cb) == []
    assert tick(world.b.id, NOW).released == 3
    assert {m.tenant_id for m in h.messages(world.b, cb)} == {world.b.id}


def test_changing_a_scheduled_campaign_moves_its_next_run(world: World) -> None:
    h.settings(world.a, quiet_start="00:00", quiet_end="00:00")  # the real clock is used here
    aud = h.audience(world.a, world.admin_a, h.patients(world.a, 2))
    cid = h.campaign(world.a, world.admin_a, aud, mode="at", send_at="2099-01-05 10:00")
    start(world, cid)
    with tenant_session(world.a.id) as s:
        cs.update_campaign(
            session=s,
            actor=world.admin_a,
            campaign_id=cid,
            data=h.form(aud, mode="recurring", recurrence="weekly", weekday=0, at_time="09:00"),
        )
    at = _next_run(world, cid)
    local = at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)
    assert at - datetime.now(UTC) <= timedelta(days=7)
    assert h.status(world.a, cid) == "scheduled"
    with tenant_session(world.a.id) as s:
        cs.update_campaign(
            session=s, actor=world.admin_a, campaign_id=cid, data=h.form(aud, mode="now")
        )
    r = tick(world.a.id, datetime.now(UTC) + MIN)
    assert (r.started, r.released) == (1, 2)


# The tick hands the messages to the send task: published to the test broker, unconsumed.
@pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")
def test_a_tick_releases_in_chunks_up_to_the_throttle(world: World) -> None:
    """The task's tick commits a chunk at a time (so a pause never waits long) and
    keeps going until the minute's allowance is used."""
    from prm_saas.campaigns.tasks import RELEASE_CHUNK, tick_tenant_at

    n = 2 * RELEASE_CHUNK + 30
    aud = h.audience(world.a, world.admin_a, h.patients(world.a, n))
    cid = h.campaign(world.a, world.admin_a, aud, per_minute=n - 10)
    start(world, cid)
    out = tick_tenant_at(tenant_id=world.a.id, now=NOW)
    assert (out["released"], out["failed"]) == (n - 10, 0)
    assert released(world, cid) == n - 10
    out = tick_tenant_at(tenant_id=world.a.id, now=NOW + MIN)
    assert (out["released"], out["finished"]) == (10, 1)
    assert_once_each(world, cid)
