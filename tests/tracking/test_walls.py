"""The database walls of the tracking tables on PostgreSQL: the app role cannot
change or delete a tracking event, and another tenant's rows are invisible to
raw SQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from prm_saas.tracking.models import TrackingEvent, TrackingKind
from tenants.db import tenant_session
from tests.factories import World
from tests.tracking.builders import events, sent_message

pytestmark = pytest.mark.postgres_only


def test_the_app_role_cannot_change_or_delete_tracking_events(world: World) -> None:
    # given an open recorded in tenant A
    msg = sent_message(world.a, world.patient_a.id, source="campaign:1:A:1")
    with tenant_session(world.a.id) as s:
        s.add(TrackingEvent(message_id=msg, patient_id=world.patient_a.id, kind=TrackingKind.OPEN))
    # when raw SQL tries to change or delete it
    for sql in ("UPDATE tracking_event SET url = 'x'", "DELETE FROM tracking_event"):
        with (
            pytest.raises(sa.exc.DBAPIError, match="permission denied"),
            tenant_session(world.a.id) as s,
        ):
            s.connection().execute(sa.text(sql))
    # then it is as it was
    assert [(e.kind, e.url) for e in events(world.a)] == [(TrackingKind.OPEN, "")]


def test_raw_sql_sees_only_the_sessions_tenant(world: World) -> None:
    # given a link and an event in tenant B
    msg = sent_message(world.b, world.patient_b.id, source="campaign:1:A:1")
    with tenant_session(world.b.id) as s:
        s.add(TrackingEvent(message_id=msg, kind=TrackingKind.CLICK))
    # when tenant A counts them with raw SQL
    with tenant_session(world.a.id) as s:
        seen = s.connection().execute(sa.text("SELECT count(*) FROM tracking_event")).scalar_one()
    # then it sees none
    assert seen == 0
