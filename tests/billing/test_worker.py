"""billing.cycle on a real Celery worker (the SQLAlchemy broker, and Redis when
REDIS_URL is set), as beat sends it: the worker talks to localstripe and bills."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from prm_saas.celery_app import app
from tests.billing import helpers as h
from tests.factories import World
from tests.test_celery_worker import Worker, broker, failures, wait_for, worker  # noqa: F401

pytestmark = [
    pytest.mark.celery,
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
]
_DONE = re.compile(r"Task billing\.cycle\[[^\]]+\] succeeded")


def test_the_beat_cycle_bills_ended_trials_on_a_real_worker(
    world: World,
    worker: Worker,  # noqa: F811
) -> None:
    plans = h.make_plans()
    h.open_billing(world.a, plans.basic, h.now())
    h.save_card(world.a, world.admin_a)
    h.open_billing(world.b, plans.pro, h.now() + timedelta(days=30))
    at = h.after_trial(world.a, minutes=5)
    with broker(worker.broker_url) as conn:
        app.send_task("billing.cycle", kwargs={"now": at.isoformat()}, connection=conn)
    wait_for(lambda: h.status(world.a) == "active", timeout=60, what="A billed and active")
    (inv,) = wait_for(lambda: h.invoices(world.a), what="A's invoice")
    assert (inv.status, inv.amount_paid_fen) == ("paid", 100000)
    # a second run at the same instant (beat overlapping itself) bills nothing more
    with broker(worker.broker_url) as conn:
        app.send_task("billing.cycle", kwargs={"now": at.isoformat()}, connection=conn)
        app.send_task("billing.cycle", kwargs={"now": at.isoformat()}, connection=conn)
    wait_for(
        lambda: len(_DONE.findall(worker.log.read_text())) >= 3,
        timeout=60,
        what="the cycles to finish",
    )
    assert len(h.invoices(world.a)) == 1
    assert h.status(world.b) == "trial"
    assert h.invoices(world.b) == []
    assert failures("billing.cycle") == []
