"""The tag admin page's reads: holder counts and rules per tag, and the choices of
a rule's reference parameters, each in its own tenant only."""

from __future__ import annotations

import pytest

from prm_saas.tags import services
from prm_saas.tags.models import TagKind
from prm_saas.tags.overview import condition_choices, tag_summaries
from tenants.db import tenant_session
from tenants.errors import PermissionDenied
from tests.factories import World
from tests.tags import builders as b
from tests.tags.builders import NOW


def test_summaries_count_holders_and_show_the_rule_of_this_tenant_only(world: World) -> None:
    vip = b.tag(world.a, world.admin_a, "VIP")
    auto = b.tag(world.a, world.admin_a, "女性", kind=TagKind.AUTO)
    b.tag(world.b, world.admin_b, "B的标签")
    p1, p2 = b.patient(world.a), b.patient(world.a)
    with tenant_session(world.a.id) as s:
        services.add_tags(session=s, actor=world.admin_a, patient_ids=[p1, p2], tag_ids=[vip])
        services.create_rule(
            session=s,
            actor=world.admin_a,
            tag_id=auto,
            conditions=[{"key": "sex", "params": {"sex": "female"}}],
            confirm_empty=True,
            now=NOW,
        )
    with tenant_session(world.a.id) as s:
        rows = {r.name: r for r in tag_summaries(session=s, actor=world.staff_a)}
    assert set(rows) == {"VIP", "女性"}
    assert (rows["VIP"].holders, rows["VIP"].rule_id) == (2, None)
    assert rows["女性"].rule_id is not None
    assert rows["女性"].rule_active
    assert '"sex"' in rows["女性"].rule_conditions


def test_condition_choices_list_this_tenants_rows_only(world: World) -> None:
    mine = b.package(world.a)
    theirs = b.package(world.b)
    b.challenge(world.a)
    with tenant_session(world.a.id) as s:
        choices = condition_choices(session=s, actor=world.admin_a)
    ids = {c.id for c in choices["health_package"]}
    assert mine in ids
    assert theirs not in ids
    assert len(choices["challenge"]) == 1
    assert "membership_level" in choices


def test_patients_cannot_read_the_tag_overview(world: World) -> None:
    with pytest.raises(PermissionDenied), tenant_session(world.a.id) as s:
        tag_summaries(session=s, actor=world.patient_a)
