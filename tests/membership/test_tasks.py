"""The membership day of a tenant (prm_saas.membership.daily) and its Celery job:
expiry at the tenant's local midnight, the pre-expiry notice once per patient
and expiry day, levels recalculated, birthday points once a year in the local
date; per tenant, and a second run changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from sqlmodel import col, func, select

from prm_saas.accounts.models import Patient
from prm_saas.celery_app import app
from prm_saas.membership import admin, cards, daily
from prm_saas.membership.models import (
    MemberCard,
    MembershipLevel,
    PointsEntry,
    PointsRule,
    RuleKind,
)
from prm_saas.membership.tasks import daily_tenant
from prm_saas.messaging.models import Channel, Message
from prm_saas.messaging.templates import COMMON_VARIABLES, render, spec_of
from tenants.db import tenant_session
from tenants.resolution import TenantInfo
from tests.factories import World, make_patient, make_tenant
from tests.membership.helpers import check, earn

EARNED = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, 22:00 (3-9) in New York


def _ledger(tenant: TenantInfo) -> list[tuple[int, str, int, str]]:
    with tenant_session(tenant.id) as s:
        return [
            (e.patient_id, e.kind, e.points, e.idempotency_key)
            for e in s.exec(select(PointsEntry).order_by(col(PointsEntry.id))).all()
        ]


def _messages(tenant: TenantInfo) -> list[tuple[int | None, str, dict[str, str]]]:
    with tenant_session(tenant.id) as s:
        return [
            (m.patient_id, m.dedupe_key, _vars(m.variables))
            for m in s.exec(select(Message).order_by(col(Message.id))).all()
        ]


def _vars(raw: str) -> dict[str, str]:
    """The template's own variables (the engine adds the common ones)."""
    return {k: v for k, v in json.loads(raw).items() if k not in COMMON_VARIABLES}


def _card(tenant: TenantInfo, patient_id: int) -> None:
    with tenant_session(tenant.id) as s:
        s.add(MemberCard(number=f"T{patient_id:08d}", patient_id=patient_id))


def _born(tenant: TenantInfo, patient_id: int, day: date) -> None:
    with tenant_session(tenant.id) as s:
        p = s.exec(select(Patient).where(Patient.id == patient_id)).one()
        p.birth_date = day
        s.add(p)


def test_points_expire_at_each_tenants_local_midnight(world: World) -> None:
    ny = make_tenant("ny-clinic", timezone="America/New_York")
    ny_patient = make_patient(ny).id
    sh_patient = world.patient_a.id
    earn(world.a, sh_patient, 100, "sh", now=EARNED)  # local 2025-03-10: gone 2026-03-11 00:00
    earn(ny, ny_patient, 100, "ny", now=EARNED)  # local 2025-03-09: gone 2026-03-10 00:00 EDT
    ny_midnight = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)
    sh_midnight = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)

    def expired(tenant: TenantInfo) -> int:
        return sum(1 for e in _ledger(tenant) if e[1] == "expire")

    for now, want_ny, want_sh in (
        (ny_midnight - timedelta(microseconds=1), 0, 0),
        (ny_midnight, 1, 0),
        (sh_midnight - timedelta(microseconds=1), 1, 0),
        (sh_midnight, 1, 1),
    ):
        daily.run_day(tenant_id=ny.id, now=now)
        daily.run_day(tenant_id=world.a.id, now=now)
        assert (expired(ny), expired(world.a)) == (want_ny, want_sh), now
    assert check(world.a, sh_patient).ok
    assert check(ny, ny_patient).ok
    assert check(ny, ny_patient).balance == 0


def test_the_notice_goes_once_per_patient_and_expiry_day_in_local_dates(world: World) -> None:
    pid = world.patient_a.id
    earn(world.a, pid, 120, "old", now=EARNED)  # last day 2026-03-10 (Shanghai)
    earn(world.a, pid, 80, "older", now=EARNED - timedelta(days=1))  # last day 2026-03-09
    earn(world.a, pid, 500, "new", now=EARNED + timedelta(days=200))  # far off
    earn(world.b, world.patient_b.id, 60, "b", now=EARNED)  # tenant B: not run
    # 2026-02-07 10:00 Shanghai: 2026-03-09 is 30 days ahead, 2026-03-10 is 31.
    first = datetime(2026, 2, 7, 2, 0, tzinfo=UTC)
    assert daily.run_day(tenant_id=world.a.id, now=first).notices == 1
    assert daily.run_day(tenant_id=world.a.id, now=first + timedelta(hours=5)).notices == 0
    msgs = _messages(world.a)
    assert msgs == [
        (
            pid,
            f"points:expiring:{pid}:2026-03-09",
            {"points": "80", "expires_on": "2026-03-09", "balance": "700"},
        )
    ]
    # The day after 3-09 ends, the 3-10 points get their own notice; once.
    after = datetime(2026, 3, 9, 16, 30, tzinfo=UTC)  # 3-10 00:30 local
    assert daily.run_day(tenant_id=world.a.id, now=after).notices == 1
    assert daily.run_day(tenant_id=world.a.id, now=after).notices == 0
    last = _messages(world.a)[-1]
    assert last[1:] == (
        f"points:expiring:{pid}:2026-03-10",
        {"points": "120", "expires_on": "2026-03-10", "balance": "620"},  # 80 expired
    )
    assert _messages(world.b) == []
    with tenant_session(world.a.id) as s:
        m = s.exec(select(Message).order_by(col(Message.id).desc())).first()
        assert m is not None
        assert m.template_key == "points.expiring"


def test_the_notice_renders_in_both_languages_on_every_channel() -> None:
    spec = spec_of("points.expiring")
    values = {**spec.sample, **dict.fromkeys(COMMON_VARIABLES, "X")}
    for locale in ("zh-CN", "en"):
        for channel in Channel:
            subject, body = spec.defaults[(channel, locale)]
            assert render(body, values).strip()
            render(subject, values)
    assert "300" in render(spec.defaults[(Channel.INAPP, "en")][0], values)


def test_birthday_points_once_a_year_on_the_local_birthday_for_card_holders(world: World) -> None:
    pid = world.patient_a.id
    cardless = make_patient(world.a).id
    leap = make_patient(world.a).id
    for p, born in (
        (pid, date(1990, 3, 11)),
        (cardless, date(1991, 3, 11)),
        (leap, date(1992, 2, 29)),
    ):
        _born(world.a, p, born)
    _card(world.a, pid)
    _card(world.a, leap)
    _born(world.b, world.patient_b.id, date(1990, 3, 11))
    _card(world.b, world.patient_b.id)
    with tenant_session(world.a.id) as s:
        s.add(PointsRule(kind=RuleKind.BIRTHDAY, points=100))

    eve = datetime(2026, 3, 10, 15, 59, tzinfo=UTC)  # 3-10 23:59 in Shanghai
    assert daily.run_day(tenant_id=world.a.id, now=eve).birthdays == 0
    day = datetime(2026, 3, 10, 16, 1, tzinfo=UTC)  # 3-11 00:01 in Shanghai
    assert daily.run_day(tenant_id=world.a.id, now=day).birthdays == 1
    assert daily.run_day(tenant_id=world.a.id, now=day + timedelta(hours=8)).birthdays == 0
    assert _ledger(world.a) == [(pid, "earn", 100, f"birthday:{pid}:2026")]
    # 29 February birthdays are kept on 28 February in other years.
    feb28 = datetime(2026, 2, 28, 4, 0, tzinfo=UTC)
    assert daily.run_day(tenant_id=world.a.id, now=feb28).birthdays == 1
    assert _ledger(world.a)[-1] == (leap, "earn", 100, f"birthday:{leap}:2026")
    # Next year, again.
    assert daily.run_day(tenant_id=world.a.id, now=day.replace(year=2027)).birthdays == 1
    # Tenant B has no birthday rule: nothing, though its patient has a card and a birthday.
    assert daily.run_day(tenant_id=world.b.id, now=day).birthdays == 0
    assert _ledger(world.b) == []


def test_levels_fall_with_the_rolling_12_months_and_a_repeat_run_does_nothing(
    world: World,
) -> None:
    pid = world.patient_a.id
    with tenant_session(world.a.id) as s:
        s.add(MembershipLevel(name_zh="普通", rank=0))
        s.add(MembershipLevel(name_zh="银卡", rank=1, min_points_12m=500))
    with tenant_session(world.a.id) as s:
        cards.issue_card(s, actor=world.patient_a, patient_id=pid, now=EARNED)
    earn(world.a, pid, 600, "big", now=EARNED)
    with tenant_session(world.a.id) as s:
        cards.recalc_level(s, patient_id=pid, now=EARNED)

    def level() -> str:
        with tenant_session(world.a.id) as s:
            card = s.exec(select(MemberCard)).one()
            lv = s.exec(select(MembershipLevel).where(MembershipLevel.id == card.level_id)).one()
            return lv.name_zh

    assert level() == "银卡"
    later = EARNED + timedelta(days=366)
    result = daily.run_day(tenant_id=world.a.id, now=later)
    assert (result.expired, result.levels_checked) == (1, 1)
    assert level() == "普通"
    ledger = _ledger(world.a)
    again = daily.run_day(tenant_id=world.a.id, now=later + timedelta(hours=1))
    assert again == daily.DayResult(expired=0, birthdays=0, levels_checked=0, notices=0)
    assert _ledger(world.a) == ledger


def test_the_task_runs_in_its_tenant_and_beat_runs_it_hourly(world: World) -> None:
    earn(world.a, world.patient_a.id, 50, "gone", now=EARNED)  # long expired by now
    earn(world.b, world.patient_b.id, 70, "gone-b", now=EARNED)
    assert daily_tenant.apply(tenant_id=world.a.id).get()["expired"] == 1
    assert daily_tenant.apply(tenant_id=world.a.id).get()["expired"] == 0
    with tenant_session(world.b.id) as s:
        assert s.exec(select(func.count()).select_from(PointsEntry)).one() == 1
    entry = app.conf.beat_schedule["membership-daily"]
    assert entry["task"] == "membership.daily_due"
    assert "membership.daily_tenant" in app.tasks


def test_a_level_switched_off_moves_its_cards_at_the_next_run_the_same_day(world: World) -> None:
    pid = world.patient_a.id
    with tenant_session(world.a.id) as s:
        s.add(MembershipLevel(name_zh="普通", rank=0))
        silver = MembershipLevel(name_zh="银卡", rank=1, min_points_12m=500)
        s.add(silver)
        s.flush()
        silver_id = int(silver.id or 0)
    with tenant_session(world.a.id) as s:
        cards.issue_card(s, actor=world.patient_a, patient_id=pid, now=EARNED)
    earn(world.a, pid, 600, "big", now=EARNED)
    morning = EARNED + timedelta(hours=1)
    assert daily.run_day(tenant_id=world.a.id, now=morning).levels_checked == 1
    assert daily.run_day(tenant_id=world.a.id, now=morning).levels_checked == 0
    with tenant_session(world.a.id) as s:
        admin.set_level_active(session=s, actor=world.admin_a, level_id=silver_id, active=False)
    assert daily.run_day(tenant_id=world.a.id, now=morning + timedelta(hours=1)).levels_checked == 1
    with tenant_session(world.a.id) as s:
        card = s.exec(select(MemberCard)).one()
        assert card.level_id != silver_id
        assert card.level_id is not None
