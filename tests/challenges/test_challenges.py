"""Health challenges: the admin's form, joining, checking in on the tenant's local
day, streaks, the reward given exactly once, the nickname leaderboard, the
nudge, permissions and the other tenant."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import func, select

from prm_saas.audit.models import AuditEvent
from prm_saas.challenges import services
from prm_saas.challenges.models import Challenge, ChallengeParticipant, ChallengeStatus
from prm_saas.challenges.services import ChallengeInput
from prm_saas.challenges.tasks import nudge_tenant
from prm_saas.i18n import translate
from prm_saas.membership.models import PointsEntry
from prm_saas.messaging.models import Message
from tenants.db import get_engine, tenant_session
from tenants.errors import DomainError, FieldErrors, NotFound, PermissionDenied
from tenants.lookup import get_or_404
from tests.challenges.builders import END, START, at, check_in, counts, join, make_challenge
from tests.factories import World, make_patient

# --- the admin's form ------------------------------------------------------------------------


def _create(world: World, **kw: Any) -> Challenge:
    fields: dict[str, Any] = {
        "title_zh": "血压打卡",
        "starts_on": START,
        "ends_on": END,
        "target_days": 21,
    }
    fields.update(kw)
    with tenant_session(world.a.id) as s:
        return services.create_challenge(
            session=s, actor=world.admin_a, data=ChallengeInput(**fields)
        )


def test_a_challenge_is_a_draft_until_published_then_closed(world: World) -> None:
    cid = make_challenge(world.a, world.admin_a, publish=False)
    with tenant_session(world.a.id) as s:
        assert get_or_404(s, Challenge, cid).status == ChallengeStatus.DRAFT
    with tenant_session(world.a.id) as s, pytest.raises(NotFound):
        services.join(
            session=s, actor=world.patient_a, challenge_id=cid, nickname="x", now=at(START)
        )
    with tenant_session(world.a.id) as s:
        services.publish_challenge(session=s, actor=world.admin_a, challenge_id=cid)
    with tenant_session(world.a.id) as s, pytest.raises(DomainError) as e:
        services.publish_challenge(session=s, actor=world.admin_a, challenge_id=cid)
    assert e.value.key == "challenge.not_draft"
    with tenant_session(world.a.id) as s, pytest.raises(DomainError) as e:
        services.update_challenge(
            session=s,
            actor=world.admin_a,
            challenge_id=cid,
            data=ChallengeInput(title_zh="x", starts_on=START, ends_on=END, target_days=1),
        )
    assert e.value.key == "challenge.not_draft"
    with tenant_session(world.a.id) as s:
        services.close_challenge(session=s, actor=world.admin_a, challenge_id=cid)
        summary = services.list_challenges(session=s, actor=world.admin_a)
    assert [(x.challenge.id, x.challenge.status, x.participants) for x in summary] == [
        (cid, ChallengeStatus.CLOSED, 0)
    ]
    with tenant_session(world.a.id) as s, pytest.raises(DomainError) as e:
        services.check_in(
            session=s, actor=world.patient_a, challenge_id=cid, values=None, now=at(START)
        )
    assert e.value.key == "challenge.not_open"


@pytest.mark.parametrize(
    ("kw", "field", "key"),
    [
        ({"title_zh": "  "}, "title_zh", "field.required"),
        ({"ends_on": START - timedelta(days=1)}, "ends_on", "challenge.field.dates_invalid"),
        ({"ends_on": "2026-13-01"}, "ends_on", "challenge.field.date_invalid"),
        ({"target_days": 22}, "target_days", "challenge.field.target_too_long"),
        ({"target_days": "abc"}, "target_days", "challenge.field.number_invalid"),
        ({"target_days": 0}, "target_days", "challenge.field.number_invalid"),
        ({"reward_points": -5}, "reward_points", "challenge.field.number_invalid"),
        ({"value_kind": "blood"}, "value_kind", "field.choice_invalid"),
        ({"value_kind": "number", "threshold": "nan"}, "threshold",
         "challenge.field.threshold_invalid"),
        ({"threshold": 5}, "threshold", "challenge.field.threshold_not_allowed"),
        ({"value_kind": "number", "threshold2": 5}, "threshold2",
         "challenge.field.threshold_not_allowed"),
    ],
)  # fmt: skip
def test_bad_challenge_input_is_refused_with_a_message_and_nothing_written(
    world: World, kw: dict[str, Any], field: str, key: str
) -> None:
    with pytest.raises(FieldErrors) as e:
        _create(world, **kw)
    assert e.value.errors[field][0] == key
    params = e.value.errors[field][1]
    assert translate(key, "zh-CN", **params) != translate(key, "en", **params)
    with tenant_session(world.a.id) as s:
        assert s.exec(select(func.count()).select_from(Challenge)).one() == 0


def test_only_admins_of_the_tenant_manage_challenges(world: World) -> None:
    for actor, error in [
        (world.staff_a, PermissionDenied),
        (world.patient_a, PermissionDenied),
        (world.admin_b, NotFound),
        (None, NotFound),
    ]:
        with tenant_session(world.a.id) as s, pytest.raises(error):
            services.create_challenge(
                session=s,
                actor=actor,
                data=ChallengeInput(title_zh="x", starts_on=START, ends_on=END, target_days=1),
            )
    cid = make_challenge(world.a, world.admin_a, publish=False)
    with tenant_session(world.a.id) as s, pytest.raises(PermissionDenied):
        services.publish_challenge(session=s, actor=world.staff_a, challenge_id=cid)
    with tenant_session(world.a.id) as s, pytest.raises(PermissionDenied):
        services.list_challenges(session=s, actor=world.patient_a)
    with tenant_session(world.a.id) as s:
        assert get_or_404(s, Challenge, cid).status == ChallengeStatus.DRAFT


# --- the other tenant ------------------------------------------------------------------------


def test_a_challenge_of_another_tenant_is_the_same_not_found_as_a_missing_one(
    world: World,
) -> None:
    cid_b = make_challenge(world.b, world.admin_b)
    join(world.b, world.patient_b, cid_b)
    missing = cid_b + 1000
    for cid in (cid_b, missing, "1 OR 1=1"):
        calls = [
            lambda s, c=cid: services.join(
                session=s, actor=world.patient_a, challenge_id=c, nickname="n", now=at(START)
            ),
            lambda s, c=cid: services.check_in(
                session=s, actor=world.patient_a, challenge_id=c, values=None, now=at(START)
            ),
            lambda s, c=cid: services.my_progress(
                session=s, actor=world.patient_a, challenge_id=c, now=at(START)
            ),
            lambda s, c=cid: services.leaderboard(session=s, actor=world.patient_a, challenge_id=c),
            lambda s, c=cid: services.leaderboard(session=s, actor=world.admin_a, challenge_id=c),
            lambda s, c=cid: services.close_challenge(
                session=s, actor=world.admin_a, challenge_id=c
            ),
        ]
        for call in calls:
            with tenant_session(world.a.id) as s, pytest.raises(NotFound) as e:
                call(s)
            assert e.value.key == "error.not_found"
    # A patient of B acting in A's session is not found either.
    cid_a = make_challenge(world.a, world.admin_a)
    with tenant_session(world.a.id) as s, pytest.raises(NotFound):
        services.join(
            session=s, actor=world.patient_b, challenge_id=cid_a, nickname="n", now=at(START)
        )
    assert counts(world.a) == (0, 0)
    assert counts(world.b) == (1, 0)


# --- joining ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nickname", "key"),
    [
        ("   ", "challenge.field.nickname_required"),
        ("\x00\x07", "challenge.field.nickname_required"),
        ("长" * 21, "challenge.field.nickname_too_long"),
    ],
)
def test_a_nickname_is_required_and_short(world: World, nickname: str, key: str) -> None:
    cid = make_challenge(world.a, world.admin_a)
    with tenant_session(world.a.id) as s, pytest.raises(FieldErrors) as e:
        services.join(
            session=s, actor=world.patient_a, challenge_id=cid, nickname=nickname, now=at(START)
        )
    assert e.value.errors["nickname"][0] == key
    assert translate(key, "en", **e.value.errors["nickname"][1])
    assert counts(world.a) == (0, 0)


def test_join_once_with_a_nickname_nobody_else_uses(world: World) -> None:
    cid = make_challenge(world.a, world.admin_a)
    join(world.a, world.patient_a, cid, " 晨跑  小王 ")
    with tenant_session(world.a.id) as s:
        p = s.exec(select(ChallengeParticipant)).one()
        assert p.nickname == "晨跑 小王"
    with tenant_session(world.a.id) as s, pytest.raises(DomainError) as e:
        services.join(
            session=s, actor=world.patient_a, challenge_id=cid, nickname="other", now=at(START)
        )
    assert e.value.key == "challenge.already_joined"
    assert translate(e.value.key, "zh-CN") == "您已参加该挑战。"
    other = make_patient(world.a)
    with tenant_session(world.a.id) as s, pytest.raises(FieldErrors) as fe:
        services.join(session=s, actor=other, challenge_id=cid, nickname="晨跑 小王", now=at(START))
    assert fe.value.errors["nickname"][0] == "challenge.field.nickname_taken"
    assert counts(world.a) == (1, 0)
    # The same nickname in another tenant's challenge is fine.
    cid_b = make_challenge(world.b, world.admin_b)
    join(world.b, world.patient_b, cid_b, "晨跑 小王")


def test_joining_after_the_end_is_outside_the_dates(world: World) -> None:
    cid = make_challenge(world.a, world.admin_a)
    with tenant_session(world.a.id) as s, pytest.raises(DomainError) as e:
        services.join(
            session=s,
            actor=world.patient_a,
            challenge_id=cid,
            nickname="n",
            now=at(END + timedelta(days=1), 0, 5),
        )
    assert e.value.key == "challenge.outside_dates"
    assert counts(world.a) == (0, 0)
    with tenant_session(world.a.id) as s:
        cards = services.open_challenges(
            session=s, actor=world.patient_a, now=at(END + timedelta(days=1))
        )
        assert cards == []
        cards = services.open_challenges(session=s, actor=world.patient_a, now=at(END))
        assert [(c.challenge.id, c.joined) for c in cards] == [(cid, False)]


# --- checking in -----------------------------------------------------------------------------


def test_check_in_outside_the_dates_or_twice_a_day_is_refused_and_nothing_written(
    world: World,
) -> None:
    cid = make_challenge(world.a, world.admin_a)
    with tenant_session(world.a.id) as s, pytest.raises(DomainError) as e:
        services.check_in(
            session=s, actor=world.patient_a, challenge_id=cid, values=None, now=at(START)
        )
    assert e.value.key == "challenge.not_joined"
    join(world.a, world.patient_a, cid)
    before = at(START - timedelta(days=1), 23, 59)
    after = at(END + timedelta(days=1), 0, 0)
    for now in (before, after):
        with pytest.raises(DomainError) as e:
            check_in(world.a, world.patient_a, cid, now)
        assert e.value.key == "challenge.outside_dates"
    zh = translate(e.value.key, "zh-CN", **e.value.params)
    en = translate(e.value.key, "en", **e.value.params)
    assert "2026-12-22" in zh
    assert "2026-12-01" in en
    assert "2026-12-21" in en
    assert counts(world.a) == (1, 0)
    progress = check_in(world.a, world.patient_a, cid, at(START, 8))
    assert (progress.days_counted, progress.checked_in_today) == (1, True)
    with pytest.raises(DomainError) as e:
        check_in(world.a, world.patient_a, cid, at(START, 20))
    assert e.value.key == "challenge.already_checked_in"
    assert "2026-12-01" in translate(e.value.key, "zh-CN", **e.value.params)
    assert "today" in translate(e.value.key, "en", **e.value.params)
    assert counts(world.a) == (1, 1)
    with tenant_session(world.a.id) as s:
        p = s.exec(select(ChallengeParticipant)).one()
        assert (p.days_counted, p.current_streak, p.best_streak) == (1, 1, 1)


def test_the_day_is_the_tenants_local_day_not_the_utc_date(world: World) -> None:
    cid = make_challenge(world.a, world.admin_a, target_days=10)
    join(world.a, world.patient_a, cid)
    # 23:30 and 00:30 Shanghai: the same UTC date (15:30 and 16:30 UTC), two local days.
    late, early = at(START, 23, 30), at(START + timedelta(days=1), 0, 30)
    assert late.date() == early.date()
    check_in(world.a, world.patient_a, cid, late)
    progress = check_in(world.a, world.patient_a, cid, early)
    assert (progress.days_counted, progress.current_streak) == (2, 2)
    # 00:30 and 23:30 of one local day: two UTC dates, one local day.
    d = START + timedelta(days=2)
    first, second = at(d, 0, 30), at(d, 23, 30)
    assert first.date() != second.date()
    check_in(world.a, world.patient_a, cid, first)
    with pytest.raises(DomainError) as e:
        check_in(world.a, world.patient_a, cid, second)
    assert e.value.key == "challenge.already_checked_in"
    # The first day of the challenge starts at local midnight, not UTC midnight.
    cid2 = make_challenge(world.a, world.admin_a, title_zh="第二个")
    join(world.a, world.patient_a, cid2)
    assert check_in(world.a, world.patient_a, cid2, at(START, 0, 1)).days_counted == 1


@pytest.mark.parametrize(
    ("kind", "values", "field", "key"),
    [
        ("number", None, "value", "challenge.field.value_required"),
        ("number", [""], "value", "challenge.field.value_required"),
        ("number", ["abc"], "value", "challenge.field.value_invalid"),
        ("number", [float("nan")], "value", "challenge.field.value_invalid"),
        ("number", [float("inf")], "value", "challenge.field.value_invalid"),
        ("number", [-1], "value", "challenge.field.value_invalid"),
        ("number", [True], "value", "challenge.field.value_invalid"),
        ("number", "10000", "value", "challenge.field.value_required"),
        ("pair", [120], "value2", "challenge.field.value_required"),
        ("pair", [120, 10**9], "value2", "challenge.field.value_invalid"),
    ],
)
def test_check_in_values_are_validated(
    world: World, kind: str, values: Any, field: str, key: str
) -> None:
    cid = make_challenge(world.a, world.admin_a, value_kind=kind)
    join(world.a, world.patient_a, cid)
    with pytest.raises(FieldErrors) as e:
        check_in(world.a, world.patient_a, cid, at(START), values)
    assert e.value.errors[field][0] == key
    for locale in ("zh-CN", "en"):
        assert "{" not in translate(key, locale, **e.value.errors[field][1])
    assert counts(world.a) == (1, 0)


def test_a_day_counts_only_when_its_numbers_pass_the_threshold(world: World) -> None:
    steps = make_challenge(
        world.a, world.admin_a, value_kind="number", unit="步", threshold=10000, target_days=2
    )
    bp = make_challenge(
        world.a,
        world.admin_a,
        title_zh="血压",
        value_kind="pair",
        unit="mmHg",
        comparison="<=",
        threshold="140",
        threshold2="90",
        target_days=2,
    )
    join(world.a, world.patient_a, steps)
    join(world.a, world.patient_a, bp, "血压达人")
    day2 = START + timedelta(days=1)
    assert check_in(world.a, world.patient_a, steps, at(START), ["9999"]).days_counted == 0
    assert check_in(world.a, world.patient_a, steps, at(day2), [10000]).days_counted == 1
    assert check_in(world.a, world.patient_a, bp, at(START), [130, 95]).days_counted == 0
    assert check_in(world.a, world.patient_a, bp, at(day2), ["139.5", "90"]).days_counted == 1


def test_streaks_and_a_consecutive_target(world: World) -> None:
    cid = make_challenge(world.a, world.admin_a, streak_rule="consecutive", target_days=3)
    join(world.a, world.patient_a, cid)
    d = [START + timedelta(days=i) for i in range(8)]
    for day in (d[0], d[1], d[3], d[4]):
        p = check_in(world.a, world.patient_a, cid, at(day))
    assert (p.days_counted, p.current_streak, p.best_streak, p.completed) == (4, 2, 2, False)
    # A day missed after the last check-in: the current streak shows 0, the best stays.
    with tenant_session(world.a.id) as s:
        later = services.my_progress(
            session=s, actor=world.patient_a, challenge_id=cid, now=at(d[6])
        )
    assert (later.current_streak, later.best_streak, later.checked_in_today) == (0, 2, False)
    p = check_in(world.a, world.patient_a, cid, at(d[5]))
    assert (p.current_streak, p.best_streak, p.completed, p.reward_given) == (3, 3, True, True)


# --- completion and its reward ---------------------------------------------------------------


def _rewards(world: World) -> int:
    with tenant_session(world.a.id) as s:
        q = (
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "challenge.reward")
        )
        return int(s.exec(q).one())


def _points(world: World, patient_id: int) -> list[tuple[int, str, str]]:
    """The patient's ledger entries: (points, source id, idempotency key)."""
    with tenant_session(world.a.id) as s:
        rows = s.exec(select(PointsEntry).where(PointsEntry.patient_id == patient_id)).all()
        return [(e.points, e.source_id, e.idempotency_key) for e in rows]


def test_completion_is_rewarded_exactly_once(world: World) -> None:
    cid = make_challenge(world.a, world.admin_a, target_days=2, reward_points=50, badge_name="达人")
    join(world.a, world.patient_a, cid)
    p = check_in(world.a, world.patient_a, cid, at(START))
    assert (p.completed, p.reward_given, p.badge_name) == (False, False, "")
    assert _rewards(world) == 0
    p = check_in(world.a, world.patient_a, cid, at(START + timedelta(days=1)))
    assert (p.completed, p.reward_given, p.badge_name) == (True, True, "达人")
    first_done = p.completed_at
    reward = [(50, str(cid), f"challenge:{cid}:{world.patient_a.id}")]
    assert _points(world, world.patient_a.id) == reward
    p = check_in(world.a, world.patient_a, cid, at(START + timedelta(days=2)))
    assert (p.completed_at, p.days_counted) == (first_done, 3)
    with tenant_session(world.a.id) as s:
        part = s.exec(select(ChallengeParticipant)).one()
        challenge = get_or_404(s, Challenge, cid)
        again = services.award_completion(
            session=s, challenge=challenge, participant=part, now=at(END)
        )
        assert again is False
        assert services.reward_key(challenge, part) == f"challenge:{cid}:{world.patient_a.id}"
    assert _rewards(world) == 1
    assert _points(world, world.patient_a.id) == reward


def test_a_challenge_without_points_still_completes_with_its_badge(world: World) -> None:
    cid = make_challenge(world.a, world.admin_a, target_days=1, badge_name="打卡之星")
    join(world.a, world.patient_a, cid)
    p = check_in(world.a, world.patient_a, cid, at(START))
    assert (p.completed, p.reward_given, p.badge_name) == (True, True, "打卡之星")
    assert _points(world, world.patient_a.id) == []


def test_a_challenge_without_points_of_its_own_earns_the_tenants_rule(world: World) -> None:
    from prm_saas.membership import admin

    for tenant, staff, pts in ((world.a, world.admin_a, 80), (world.b, world.admin_b, 7)):
        with tenant_session(tenant.id) as s:
            admin.set_rule(
                session=s, actor=staff, kind="challenge_completed", points=pts, active=True
            )
    cid = make_challenge(world.a, world.admin_a, target_days=1)
    join(world.a, world.patient_a, cid)
    p = check_in(world.a, world.patient_a, cid, at(START))
    assert (p.completed, p.reward_given) == (True, True)
    # Tenant A's rule, not B's; keyed like a challenge's own points, so once.
    assert _points(world, world.patient_a.id) == [
        (80, str(cid), f"challenge:{cid}:{world.patient_a.id}")
    ]


def _concurrent_check_ins(world: World, cid: int, n: int) -> list[str]:
    barrier = threading.Barrier(n)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        try:
            check_in(world.a, world.patient_a, cid, at(START, 10))
            out = "ok"
        except DomainError as exc:
            out = exc.key
        except Exception as exc:  # the test reports what went wrong
            out = repr(exc)
        with lock:
            outcomes.append(out)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


@pytest.mark.postgres_only
def test_concurrent_check_ins_make_one_check_in_and_one_reward_on_postgres(world: World) -> None:
    assert get_engine().dialect.name == "postgresql"
    cid = make_challenge(world.a, world.admin_a, target_days=1, reward_points=10)
    join(world.a, world.patient_a, cid)
    outcomes = _concurrent_check_ins(world, cid, 8)
    assert sorted(outcomes) == ["challenge.already_checked_in"] * 7 + ["ok"]
    assert counts(world.a) == (1, 1)
    assert _rewards(world) == 1
    assert [pts for pts, _, _ in _points(world, world.patient_a.id)] == [10]
    with tenant_session(world.a.id) as s:
        p = s.exec(select(ChallengeParticipant)).one()
        assert (p.days_counted, p.reward_given) == (1, True)


def test_concurrent_check_ins_make_one_check_in_and_one_reward(world: World) -> None:
    cid = make_challenge(world.a, world.admin_a, target_days=1, reward_points=7)
    join(world.a, world.patient_a, cid)
    outcomes = _concurrent_check_ins(world, cid, 4)
    assert sorted(outcomes) == ["challenge.already_checked_in"] * 3 + ["ok"]
    assert counts(world.a) == (1, 1)
    assert _rewards(world) == 1
    assert [pts for pts, _, _ in _points(world, world.patient_a.id)] == [7]


# --- leaderboard -----------------------------------------------------------------------------


def test_the_leaderboard_shows_nicknames_only_ties_by_earliest_completion(world: World) -> None:
    cid = make_challenge(world.a, world.admin_a, target_days=2)
    p2 = make_patient(world.a, name="李四", phone="+8613900000002")
    p3 = make_patient(world.a, name="王五", phone="+8613900000003")
    join(world.a, world.patient_a, cid, "阿甲")
    join(world.a, p2, cid, "阿乙")
    join(world.a, p3, cid, "阿丙")
    d1 = START + timedelta(days=1)
    # p2 completes first (day 2, 08:00), patient_a later the same day (09:00): a tie on days.
    for who in (world.patient_a, p2, p3):
        check_in(world.a, who, cid, at(START, 7))
    check_in(world.a, p2, cid, at(d1, 8))
    check_in(world.a, world.patient_a, cid, at(d1, 9))
    with tenant_session(world.a.id) as s:
        rows = services.leaderboard(session=s, actor=p3, challenge_id=cid)
        staff_rows = services.leaderboard(session=s, actor=world.admin_a, challenge_id=cid)
    assert [(r.rank, r.nickname, r.score, r.completed, r.is_me) for r in rows] == [
        (1, "阿乙", 2, True, False),
        (2, "阿甲", 2, True, False),
        (3, "阿丙", 1, False, True),
    ]
    assert [r.nickname for r in staff_rows] == ["阿乙", "阿甲", "阿丙"]
    text = repr(rows)
    for secret in ("李四", "王五", "13900000002", "13900000003"):
        assert secret not in text
    assert set(vars(rows[0])) == {"rank", "nickname", "score", "completed", "is_me"}
    with tenant_session(world.a.id) as s, pytest.raises(PermissionDenied):
        services.leaderboard(session=s, actor=world.staff_a, challenge_id=cid)


# --- nudges ----------------------------------------------------------------------------------


def test_participants_who_missed_yesterday_get_one_nudge(world: World) -> None:
    cid = make_challenge(world.a, world.admin_a, target_days=5)
    done = make_challenge(world.a, world.admin_a, title_zh="一天", target_days=1)
    diligent = make_patient(world.a)
    join(world.a, world.patient_a, cid, "懒")
    join(world.a, diligent, cid, "勤")
    join(world.a, diligent, done, "勤")
    check_in(world.a, diligent, done, at(START))  # completed: never nudged for it
    check_in(world.a, diligent, cid, at(START + timedelta(days=1)))
    # B's participant missed yesterday too, but a run in A touches A only.
    cid_b = make_challenge(world.b, world.admin_b)
    join(world.b, world.patient_b, cid_b)
    now = at(START + timedelta(days=2), 9, 30)
    with tenant_session(world.a.id) as s:
        assert services.nudge_missed(session=s, now=now) == 1
    with tenant_session(world.a.id) as s:
        assert services.nudge_missed(session=s, now=now + timedelta(hours=5)) == 0
        msgs = s.exec(select(Message)).all()
    assert [(m.template_key, m.patient_id, m.dedupe_key) for m in msgs] == [
        (
            "challenge.nudge",
            world.patient_a.id,
            services.nudge_key(_pid(world, world.patient_a.id), cid, START + timedelta(days=1)),
        )
    ]
    with tenant_session(world.b.id) as s:
        assert s.exec(select(func.count()).select_from(Message)).one() == 0
    # The next day is another day: a new nudge (for the diligent one too, who missed it).
    with tenant_session(world.a.id) as s:
        assert services.nudge_missed(session=s, now=now + timedelta(days=1)) == 2
    # The task runs the same sweep for its own tenant only.
    with tenant_session(world.a.id) as s:
        in_a = s.exec(select(func.count()).select_from(Message)).one()
    assert isinstance(nudge_tenant.apply(tenant_id=world.b.id).get(), int)
    with tenant_session(world.a.id) as s:
        assert s.exec(select(func.count()).select_from(Message)).one() == in_a


def _pid(world: World, patient_id: int) -> int:
    with tenant_session(world.a.id) as s:
        q = select(ChallengeParticipant.id).where(ChallengeParticipant.patient_id == patient_id)
        return int(s.exec(q).first() or 0)


def test_no_nudge_before_the_start_for_a_new_joiner_or_after_the_end(world: World) -> None:
    cid = make_challenge(world.a, world.admin_a)
    join(world.a, world.patient_a, cid)
    with tenant_session(world.a.id) as s:
        assert services.nudge_missed(session=s, now=at(START, 12)) == 0  # yesterday < start
        assert services.nudge_missed(session=s, now=at(END + timedelta(days=1), 9)) == 0
    late = make_patient(world.a)
    with tenant_session(world.a.id) as s:
        services.join(
            session=s,
            actor=late,
            challenge_id=cid,
            nickname="迟到",
            now=at(START + timedelta(days=3)),
        )
        # On the day they join, nothing was missed yet; patient_a did miss.
        assert services.nudge_missed(session=s, now=at(START + timedelta(days=3), 20)) == 1
