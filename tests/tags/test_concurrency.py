"""Concurrent evaluations of one rule: the nightly run and event hooks at once
(the full run locks the rule exclusively, hooks share it), and hooks for the
same patient at once: every patient is tagged once, with one history row, and
nobody gets an error."""

from __future__ import annotations

import pytest

from prm_saas.accounts.models import Sex
from prm_saas.tags import services
from prm_saas.tags.models import TagKind
from tenants.db import tenant_session
from tests.concurrency import race
from tests.factories import World
from tests.tags import builders as b
from tests.tags.builders import NOW

pytestmark = pytest.mark.postgres_only


def test_concurrent_evaluations_tag_each_patient_once(world: World) -> None:
    tag = b.tag(world.a, world.admin_a, "女性", TagKind.AUTO)
    with tenant_session(world.a.id) as s:
        rid = int(
            services.create_rule(
                session=s,
                actor=world.admin_a,
                tag_id=tag,
                conditions=[{"key": "sex", "params": {"sex": "female"}}],
                confirm_empty=True,
                now=NOW,
            ).id
            or 0
        )
    women = [b.patient(world.a, sex=Sex.FEMALE) for _ in range(5)]

    def evaluate(i: int) -> None:
        with tenant_session(world.a.id) as s:
            if i % 2:
                services.evaluate_rule(session=s, rule_id=rid, now=NOW)
            else:
                services.reevaluate_for_patient(session=s, patient_id=women[i % 5], now=NOW)

    assert race(8, evaluate) == {"ok": 8}
    assert b.holders(world.a, tag) == set(women)
    assert sorted(e[0] for e in b.events(world.a)) == sorted(women)


def test_concurrent_hooks_for_one_patient_tag_once_and_untag_once(world: World) -> None:
    from prm_saas.accounts.models import Patient
    from prm_saas.tags.models import TagAction

    tag = b.tag(world.a, world.admin_a, "女", TagKind.AUTO)
    b.patient(world.a, sex=Sex.FEMALE)  # so the rule matches someone when saved
    with tenant_session(world.a.id) as s:
        rid = services.create_rule(
            session=s,
            actor=world.admin_a,
            tag_id=tag,
            conditions=[{"key": "sex", "params": {"sex": "female"}}],
            now=NOW,
        ).id
    assert rid is not None
    woman = b.patient(world.a, sex=Sex.FEMALE)  # not tagged yet: no hook ran for her

    def hook(_i: int) -> None:
        with tenant_session(world.a.id) as s:
            services.reevaluate_for_patient(session=s, patient_id=woman, now=NOW)

    def her(action: str) -> int:
        return sum(1 for e in b.events(world.a) if (e[0], e[2]) == (woman, action))

    assert race(8, hook) == {"ok": 8}
    assert woman in b.holders(world.a, tag)
    assert her(TagAction.ADDED) == 1
    with tenant_session(world.a.id) as s:
        p = s.get(Patient, woman)
        assert p is not None
        p.sex = Sex.MALE
        s.add(p)
    assert race(8, hook) == {"ok": 8}
    assert woman not in b.holders(world.a, tag)
    assert her(TagAction.REMOVED) == 1
