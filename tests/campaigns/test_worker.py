"""Campaigns on a real Celery worker (the SQLAlchemy broker, and Redis when REDIS_URL
is set): beat's campaigns.tick fans out to every active tenant, each tenant's
tick releases within the throttle and the daily cap, and the messaging engine's
send task delivers what was released, each patient once.

The ticks carry ``now`` so the minutes and days pass on the test's clock; the
messages are in-app, delivered by the worker for real."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta

import pytest

from prm_saas.campaigns import services as cs
from prm_saas.celery_app import app
from prm_saas.messaging.models import MessageStatus
from tenants.db import tenant_session
from tests.campaigns import helpers as h
from tests.campaigns.helpers import NOW
from tests.factories import World
from tests.test_celery_worker import Worker, broker, failures, wait_for, worker  # noqa: F401

pytestmark = [
    pytest.mark.celery,
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
]

MIN = timedelta(minutes=1)
_DONE = re.compile(r"Task campaigns\.tick_tenant\[[^\]]+\] succeeded")


def _ticks_done(w: Worker) -> int:
    return len(_DONE.findall(w.log.read_text()))


def beat(w: Worker, now: datetime, tenants: int = 2) -> None:
    """What beat does every minute, at ``now``; returns once every tenant's tick ran."""
    before = _ticks_done(w)
    with broker(w.broker_url) as conn:
        app.send_task("campaigns.tick", kwargs={"now": now.isoformat()}, connection=conn)
    wait_for(
        lambda: _ticks_done(w) - before >= tenants,
        timeout=60,
        what=f"the campaign ticks at {now}",
    )


def sent(tenant_id: int, cid: int, world: World) -> int:
    tenant = world.a if tenant_id == world.a.id else world.b
    return sum(m.status == MessageStatus.SENT for m in h.messages(tenant, cid))


def wait_sent(world: World, tenant_id: int, cid: int, n: int) -> None:
    wait_for(lambda: sent(tenant_id, cid, world) == n, timeout=60, what=f"{n} messages sent")


def released(world: World, tenant_id: int, cid: int) -> int:
    tenant = world.a if tenant_id == world.a.id else world.b
    return sum(r.status == "released" for r in h.recipients(tenant, cid))


def _start(world: World, tenant_id: int, cid: int) -> None:
    admin = world.admin_a if tenant_id == world.a.id else world.admin_b
    with tenant_session(tenant_id) as s:
        cs.start_campaign(session=s, actor=admin, campaign_id=cid)


def test_throttle_per_minute_on_a_real_worker(
    world: World,
    worker: Worker,  # noqa: F811
) -> None:
    for t in (world.a, world.b):
        h.settings(t, quiet_start="00:00", quiet_end="00:00")
    pa = h.patients(world.a, 12)
    ca = h.campaign(world.a, world.admin_a, h.audience(world.a, world.admin_a, pa), per_minute=5)
    pb = h.patients(world.b, 3)
    cb = h.campaign(world.b, world.admin_b, h.audience(world.b, world.admin_b, pb), per_minute=5)
    _start(world, world.a.id, ca)
    _start(world, world.b.id, cb)

    beat(worker, NOW)
    wait_sent(world, world.a.id, ca, 5)
    wait_sent(world, world.b.id, cb, 3)  # the other tenant, in the same beat
    beat(worker, NOW + timedelta(seconds=30))  # the same minute: nothing more
    assert released(world, world.a.id, ca) == 5
    beat(worker, NOW + MIN)
    wait_sent(world, world.a.id, ca, 10)
    beat(worker, NOW + 2 * MIN)
    wait_sent(world, world.a.id, ca, 12)
    assert h.status(world.a, ca) == "done"
    assert h.status(world.b, cb) == "done"
    per = Counter(m.patient_id for m in h.messages(world.a, ca))
    assert per == dict.fromkeys(pa, 1)
    assert {m.tenant_id for m in h.messages(world.b, cb)} == {world.b.id}
    assert failures("campaigns.tick_tenant") == []
    assert failures("messaging.send_batch") == []


def test_daily_cap_on_a_real_worker(
    world: World,
    worker: Worker,  # noqa: F811
) -> None:
    h.settings(world.a, quiet_start="00:00", quiet_end="00:00")
    pa = h.patients(world.a, 10)
    cid = h.campaign(
        world.a, world.admin_a, h.audience(world.a, world.admin_a, pa), per_minute=100, daily_cap=4
    )
    _start(world, world.a.id, cid)
    beat(worker, NOW)
    wait_sent(world, world.a.id, cid, 4)
    beat(worker, NOW + MIN)
    beat(worker, NOW + 10 * MIN)
    assert released(world, world.a.id, cid) == 4  # the cap holds for the rest of the day
    beat(worker, NOW + timedelta(days=1))
    wait_sent(world, world.a.id, cid, 8)
    beat(worker, NOW + timedelta(days=2))
    wait_sent(world, world.a.id, cid, 10)
    assert h.status(world.a, cid) == "done"
    assert Counter(m.patient_id for m in h.messages(world.a, cid)) == dict.fromkeys(pa, 1)
    assert failures("campaigns.tick_tenant") == []


def test_pause_resume_and_a_double_beat_on_a_real_worker(
    world: World,
    worker: Worker,  # noqa: F811
) -> None:
    h.settings(world.a, quiet_start="00:00", quiet_end="00:00")
    pa = h.patients(world.a, 18)
    cid = h.campaign(world.a, world.admin_a, h.audience(world.a, world.admin_a, pa), per_minute=5)
    _start(world, world.a.id, cid)
    beat(worker, NOW)
    wait_sent(world, world.a.id, cid, 5)
    with tenant_session(world.a.id) as s:
        cs.pause_campaign(session=s, actor=world.admin_a, campaign_id=cid)
    beat(worker, NOW + MIN)
    beat(worker, NOW + 2 * MIN)
    assert released(world, world.a.id, cid) == 5
    with tenant_session(world.a.id) as s:
        cs.resume_campaign(session=s, actor=world.admin_a, campaign_id=cid)
    beat(worker, NOW + 3 * MIN)
    wait_sent(world, world.a.id, cid, 10)
    # beat firing twice for the same minute: the second tick finds the allowance used
    before = _ticks_done(worker)
    with broker(worker.broker_url) as conn:
        for _ in range(2):
            app.send_task(
                "campaigns.tick", kwargs={"now": (NOW + 4 * MIN).isoformat()}, connection=conn
            )
    wait_for(lambda: _ticks_done(worker) - before >= 4, timeout=60, what="both beats")
    wait_sent(world, world.a.id, cid, 15)
    assert released(world, world.a.id, cid) == 15
    beat(worker, NOW + 5 * MIN)
    wait_sent(world, world.a.id, cid, 18)
    assert h.status(world.a, cid) == "done"
    msgs = h.messages(world.a, cid)
    assert Counter(m.patient_id for m in msgs) == dict.fromkeys(pa, 1)
    assert {m.status for m in msgs} == {MessageStatus.SENT}
    assert failures("campaigns.tick_tenant") == []
