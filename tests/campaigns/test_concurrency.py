"""Ticks racing on PostgreSQL (beat firing twice, a slow tick overlapping the next):
the throttle holds and nobody is released or messaged twice (the campaign row's
lock, the conditional UPDATE and the outbox dedupe key each guarantee it); a
pause racing ticks leaves the run paused with nothing released after it."""

from __future__ import annotations

from collections import Counter

import pytest

from prm_saas.campaigns import services as cs
from prm_saas.campaigns.release import release_due
from tenants.db import tenant_session
from tests.campaigns import helpers as h
from tests.campaigns.helpers import NOW
from tests.concurrency import race
from tests.factories import World

pytestmark = pytest.mark.postgres_only


def test_concurrent_ticks_release_within_the_throttle_once_each(world: World) -> None:
    pa = h.patients(world.a, 30)
    cid = h.campaign(world.a, world.admin_a, h.audience(world.a, world.admin_a, pa), per_minute=7)
    with tenant_session(world.a.id) as s:
        cs.start_campaign(session=s, actor=world.admin_a, campaign_id=cid)

    def tick(_i: int) -> None:
        with tenant_session(world.a.id) as s:
            release_due(s, now=NOW, send=False)

    assert race(6, tick) == {"ok": 6}
    rows = h.recipients(world.a, cid)
    assert Counter(str(r.status) for r in rows) == {"released": 7, "pending": 23}
    msgs = h.messages(world.a, cid)
    assert len(msgs) == 7
    assert len({m.patient_id for m in msgs}) == 7


def test_pause_racing_ticks_stops_the_release(world: World) -> None:
    pa = h.patients(world.a, 40)
    cid = h.campaign(world.a, world.admin_a, h.audience(world.a, world.admin_a, pa), per_minute=5)
    with tenant_session(world.a.id) as s:
        cs.start_campaign(session=s, actor=world.admin_a, campaign_id=cid)

    def act(i: int) -> None:
        with tenant_session(world.a.id) as s:
            if i == 0:
                cs.pause_campaign(session=s, actor=world.admin_a, campaign_id=cid)
            else:
                release_due(s, now=NOW, send=False)

    assert race(4, act) == {"ok": 4}
    assert h.status(world.a, cid) == "paused"
    first = sum(r.status == "released" for r in h.recipients(world.a, cid))
    assert first in {0, 5}  # the tick ran before the pause or not at all
    with tenant_session(world.a.id) as s:
        release_due(s, now=NOW.replace(hour=3), send=False)
    assert sum(r.status == "released" for r in h.recipients(world.a, cid)) == first
