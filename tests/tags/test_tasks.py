"""The nightly run of the tag rules: per tenant, idempotent, and on a real worker."""

from __future__ import annotations

import pytest
from sqlmodel import select

from prm_saas.accounts.models import Sex
from prm_saas.celery_app import app
from prm_saas.tags import services
from prm_saas.tags.models import TagEvent, TagKind
from prm_saas.tags.tasks import nightly_tenant, run_tenant
from tenants.db import tenant_session
from tenants.models import TenantStatus
from tenants.resolution import TenantInfo
from tests.booking.builders import set_patient
from tests.factories import World, change_status, make_admin, make_tenant
from tests.tags import builders as b
from tests.tags.builders import NOW
from tests.test_celery_worker import Worker, broker, failures, wait_for, worker  # noqa: F401

FEMALE = [{"key": "sex", "params": {"sex": "female"}}]


def _setup(tenant: TenantInfo, admin: object) -> tuple[int, int]:
    """An auto tag with a rule on women, one woman tagged; then a second woman
    arrives and the first one's record changes: the nightly run must catch up."""
    tag = b.tag(tenant, admin, "女性", TagKind.AUTO)  # type: ignore[arg-type]
    w1 = b.patient(tenant, sex=Sex.FEMALE)
    with tenant_session(tenant.id) as s:
        services.create_rule(
            session=s,
            actor=admin,
            tag_id=tag,
            conditions=FEMALE,
            now=NOW,  # type: ignore[arg-type]
        )
    w2 = b.patient(tenant, sex=Sex.FEMALE)
    set_patient(tenant, w1, sex=Sex.MALE)
    return tag, w2


def test_run_tenant_catches_up_and_a_second_run_changes_nothing(world: World) -> None:
    tag_a, w2_a = _setup(world.a, world.admin_a)
    tag_b, w2_b = _setup(world.b, world.admin_b)
    result = run_tenant(tenant_id=world.a.id, now=NOW)
    assert result.as_dict() == {"rules": 1, "added": 1, "removed": 1, "failed": 0}
    assert b.holders(world.a, tag_a) == {w2_a}
    assert b.holders(world.b, tag_b) != {w2_b}  # tenant B not touched
    assert run_tenant(tenant_id=world.a.id, now=NOW).as_dict() == {
        "rules": 1,
        "added": 0,
        "removed": 0,
        "failed": 0,
    }
    assert nightly_tenant.apply(tenant_id=world.b.id).get()["added"] == 1
    assert b.holders(world.b, tag_b) == {w2_b}
    assert "tags.nightly_tenant" in app.tasks
    assert "tags.nightly_due" in {e["task"] for e in app.conf.beat_schedule.values()}


@pytest.mark.celery
@pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")
def test_beat_fans_the_nightly_run_out_to_active_tenants(
    world: World,
    worker: Worker,  # noqa: F811
) -> None:
    tag_a, w2_a = _setup(world.a, world.admin_a)
    tag_b, w2_b = _setup(world.b, world.admin_b)
    closed = make_tenant("closed-clinic")
    tag_c, w2_c = _setup(closed, make_admin(closed))
    change_status(closed, TenantStatus.SUSPENDED)
    with broker(worker.broker_url) as conn:
        app.send_task("tags.nightly_due", connection=conn)
    for tenant, tag, w2 in ((world.a, tag_a, w2_a), (world.b, tag_b, w2_b)):
        wait_for(
            lambda t=tenant, g=tag, w=w2: b.holders(t, g) == {w},
            timeout=60,
            what=f"tenant {tenant.id}'s rule ran",
        )
    assert b.holders(closed, tag_c) != {w2_c}  # not an active tenant
    assert failures("tags.nightly_tenant") == []
    assert failures("tags.nightly_due") == []
    with tenant_session(world.a.id) as s:
        assert len(s.exec(select(TagEvent)).all()) == 3  # add w1, add w2, remove w1
