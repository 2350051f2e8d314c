"""The tag admin page's reads: holder counts and rules per tag, and the choices of
a rule's reference parameters, each in its own tenant only."""

from __future__ import annotations

import pytest
from sqlmodel import select

from prm_saas.accounts.models import Patient, Sex
from prm_saas.audit.models import AuditEvent
from prm_saas.tags import services
from prm_saas.tags.models import TagKind
from prm_saas.tags.overview import condition_choices, named_history, run_rule, tag_summaries
from tenants.db import tenant_session
from tenants.errors import NotFound, PermissionDenied
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


def test_run_rule_is_for_tag_admins_of_the_rules_tenant_and_audited(world: World) -> None:
    auto = b.tag(world.a, world.admin_a, "女性", kind=TagKind.AUTO)
    woman = b.patient(world.a, sex=Sex.FEMALE)
    with tenant_session(world.a.id) as s:
        rule = services.create_rule(
            session=s,
            actor=world.admin_a,
            tag_id=auto,
            conditions=[{"key": "sex", "params": {"sex": "female"}}],
            active=False,
            now=NOW,
        )
        rid = int(rule.id or 0)
    with tenant_session(world.a.id) as s:
        services.update_rule(
            session=s,
            actor=world.admin_a,
            rule_id=rid,
            conditions=[{"key": "sex", "params": {"sex": "female"}}],
            active=True,
            now=NOW,
        )
    later = b.patient(world.a, sex=Sex.FEMALE)  # not tagged until the rule runs again
    with pytest.raises(PermissionDenied), tenant_session(world.a.id) as s:
        run_rule(session=s, actor=world.staff_a, rule_id=rid, now=NOW)
    with pytest.raises(NotFound), tenant_session(world.b.id) as s:
        run_rule(session=s, actor=world.admin_b, rule_id=rid, now=NOW)
    assert b.holders(world.a, auto) == {woman}
    with tenant_session(world.a.id) as s:
        run = run_rule(session=s, actor=world.admin_a, rule_id=rid, now=NOW)
    assert (run.added, run.removed) == (1, 0)
    assert b.holders(world.a, auto) == {woman, later}
    with tenant_session(world.a.id) as s:
        actions = [e.action for e in s.exec(select(AuditEvent)).all()]
    assert "tag_rule.run" in actions


def test_named_history_names_the_patient_and_the_staff_member(world: World) -> None:
    vip = b.tag(world.a, world.admin_a, "VIP")
    pid = b.patient(world.a)
    with tenant_session(world.a.id) as s:
        services.add_tags(
            session=s, actor=world.staff_a, patient_ids=[pid], tag_ids=[vip], reason="到店"
        )
    with tenant_session(world.a.id) as s:
        lines = named_history(session=s, actor=world.staff_a, patient_id=pid)
        name = s.exec(select(Patient.name).where(Patient.id == pid)).one()
    assert [(h.tag_name, h.action, h.patient_name, h.reason) for h in lines] == [
        ("VIP", "added", name, "到店")
    ]
    assert lines[0].staff_name != ""
    with pytest.raises(NotFound), tenant_session(world.b.id) as s:
        named_history(session=s, actor=world.admin_b, patient_id=pid)
