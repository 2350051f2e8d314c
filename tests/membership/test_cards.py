"""Member cards: numbers from the tenant's format, one card per patient, who may
issue them, levels from the rolling 12 months, wrong tenant."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from prm_saas.membership import cards
from prm_saas.membership.models import MemberCard, MembershipLevel
from tenants.db import tenant_session
from tenants.errors import FieldErrors, NotFound, PermissionDenied
from tests.factories import World
from tests.membership.helpers import NOW, earn, new_patient


def test_numbers_follow_the_tenants_format_per_tenant(world: World) -> None:
    other = new_patient(world.a, 1)
    with tenant_session(world.a.id) as s:
        cards.set_card_format(s, actor=world.admin_a, prefix="SUN", digits=6)
    with tenant_session(world.a.id) as s:
        first = cards.issue_card(s, actor=world.patient_a, patient_id=world.patient_a.id, now=NOW)
        second = cards.issue_card(s, actor=world.staff_a, patient_id=other, now=NOW)
        again = cards.issue_card(s, actor=world.staff_a, patient_id=other, now=NOW)
        numbers = (first.number, second.number, again.number)
        kinds = (first.self_registered, second.self_registered, second.issued_by_staff_id)
    with tenant_session(world.b.id) as s:
        b_card = cards.issue_card(s, actor=world.staff_b, patient_id=world.patient_b.id, now=NOW)
        b_number = b_card.number

    assert numbers == ("SUN000001", "SUN000002", "SUN000002")  # a second issue: the same card
    assert kinds == (True, False, world.staff_a.id)
    assert b_number == "M00000001"  # tenant B's own sequence and default format
    with tenant_session(world.a.id) as s:
        mine = cards.my_card(s, actor=world.patient_a)
        assert mine is not None
        assert mine.number == "SUN000001"


def test_who_may_issue_and_wrong_tenant(world: World) -> None:
    other = new_patient(world.a, 2)
    with tenant_session(world.a.id) as s:
        with pytest.raises(NotFound):  # a patient cannot open a card for someone else
            cards.issue_card(s, actor=world.patient_a, patient_id=other, now=NOW)
        with pytest.raises(NotFound):  # another tenant's patient
            cards.issue_card(s, actor=world.staff_a, patient_id=world.patient_b.id, now=NOW)
        with pytest.raises(NotFound):  # another tenant's staff
            cards.issue_card(s, actor=world.staff_b, patient_id=other, now=NOW)
        with pytest.raises(PermissionDenied):
            cards.set_card_format(s, actor=world.staff_a, prefix="X", digits=6)
    with pytest.raises(FieldErrors), tenant_session(world.a.id) as s:
        cards.set_card_format(s, actor=world.admin_a, prefix="含中文", digits=6)
    with tenant_session(world.a.id) as s:
        assert s.exec(select(MemberCard)).all() == []


def test_levels_go_up_and_down_with_the_rolling_12_months(world: World) -> None:
    pid = world.patient_a.id
    with tenant_session(world.a.id) as s:
        s.add(MembershipLevel(name_zh="普通", name_en="Basic", rank=0))
        s.add(MembershipLevel(name_zh="银卡", name_en="Silver", rank=1, min_points_12m=500))
        s.add(MembershipLevel(name_zh="金卡", name_en="Gold", rank=2, min_points_12m=2000))
    with tenant_session(world.a.id) as s:
        card = cards.issue_card(s, actor=world.patient_a, patient_id=pid, now=NOW)
        level = s.get(MembershipLevel, card.level_id)
        assert level is not None
        assert level.name_en == "Basic"
    earn(world.a, pid, 600, "e1", now=NOW)
    cardless = new_patient(world.a, 3)

    with tenant_session(world.a.id) as s:
        up = cards.recalc_level(s, patient_id=pid, now=NOW + timedelta(days=1))
        down = cards.recalc_level(s, patient_id=pid, now=NOW + timedelta(days=366))
        none = cards.recalc_level(s, patient_id=cardless, now=NOW)

    assert up is not None
    assert up.name_en == "Silver"
    assert down is not None
    assert down.name_en == "Basic"
    assert none is None
