"""Demo data: two tenants (a community clinic and a health-check center), each with
an admin, two staff and 50 patients with realistic zh-CN names, plus one operator.

Idempotent: an existing demo tenant is left as it is.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from faker import Faker
from sqlmodel import col, select

from prm_saas.accounts.credentials import hash_password
from prm_saas.accounts.models import (
    AccountStatus,
    Operator,
    Patient,
    Sex,
    StaffMember,
    StaffRole,
)
from prm_saas.audit.services import record, record_platform
from prm_saas.booking.schedule import local_today, tenant_zone
from prm_saas.dashboards.models import KpiRollupState
from prm_saas.messaging.models import Channel
from prm_saas.messaging.outbox import enqueue
from prm_saas.platform.demo_data import load_demo_plans
from prm_saas.settings import get_settings
from tenants.db import platform_session, tenant_session
from tenants.errors import DomainError
from tenants.models import Locale, Tenant, TenantKind, TenantStatus
from tenants.resolution import invalidate_tenant_cache
from tenants.types import utcnow

DEMO_PASSWORD = "Demo12345"  # noqa: S105 - documented demo login
OPERATOR_EMAIL = "ops@prm.local"
PATIENTS_PER_TENANT = 50


@dataclass(frozen=True)
class DemoTenant:
    """One demo tenant and its fixed logins (listed in the README)."""

    slug: str
    name: str
    kind: TenantKind
    color: str
    admin: tuple[str, str]
    staff: tuple[tuple[str, str], ...]
    first_patient: tuple[str, str]  # name, phone


DEMO_TENANTS = (
    DemoTenant(
        "sunshine",
        "阳光社区诊所",
        TenantKind.CLINIC,
        "#0f766e",
        ("admin@sunshine.demo", "周晓梅"),
        (("doctor@sunshine.demo", "陈建国"), ("nurse@sunshine.demo", "刘婷")),
        ("李娜", "13800000001"),
    ),
    DemoTenant(
        "kangjian",
        "康健体检中心",
        TenantKind.CHECKUP_CENTER,
        "#1d4ed8",
        ("admin@kangjian.demo", "王海涛"),
        (("frontdesk@kangjian.demo", "张静"), ("manager@kangjian.demo", "赵磊")),
        ("王芳", "13900000001"),
    ),
)


def _patients(fake: Faker, rng: random.Random, spec: DemoTenant, pw_hash: str) -> list[Patient]:
    today = date(2026, 1, 1)
    phones = {spec.first_patient[1]}
    out = [
        Patient(
            name=spec.first_patient[0],
            phone="+86" + spec.first_patient[1],
            email=None,
            sex=Sex.FEMALE,
            birth_date=date(1986, 5, 12),
            password_hash=pw_hash,
            status=AccountStatus.ACTIVE,
        )
    ]
    while len(out) < PATIENTS_PER_TENANT:
        sex = rng.choice([Sex.MALE, Sex.FEMALE])
        name = fake.name_male() if sex == Sex.MALE else fake.name_female()
        phone = fake.phone_number()
        if phone in phones:
            continue
        phones.add(phone)
        born = today - timedelta(days=rng.randint(18 * 365, 80 * 365))
        email = f"{fake.user_name()}{rng.randint(1, 99)}@example.cn" if rng.random() < 0.3 else None
        out.append(
            Patient(
                name=name,
                phone="+86" + phone,
                email=email,
                sex=sex,
                birth_date=born,
                password_hash=pw_hash,
                status=AccountStatus.ACTIVE,
                created_at=utcnow() - timedelta(days=rng.randint(0, 700)),
            )
        )
    return out


def load_demo() -> list[str]:
    """Create whatever demo data is missing; returns what was created."""
    created: list[str] = []
    pw_hash = hash_password(DEMO_PASSWORD)
    with platform_session() as s:
        if s.exec(select(Operator).where(Operator.email == OPERATOR_EMAIL)).first() is None:
            s.add(Operator(email=OPERATOR_EMAIL, name="平台运营", password_hash=pw_hash))
            record_platform(
                s,
                actor=None,
                actor_label="demo",
                action="operator.created",
                target_type="operator",
                target_id=OPERATOR_EMAIL,
            )
            created.append(f"operator {OPERATOR_EMAIL}")
    for i, spec in enumerate(DEMO_TENANTS):
        with platform_session() as s:
            if s.exec(select(Tenant.id).where(Tenant.slug == spec.slug)).first() is not None:
                continue
            tenant = Tenant(
                slug=spec.slug,
                name=spec.name,
                kind=spec.kind,
                status=TenantStatus.ACTIVE,
                primary_color=spec.color,
                default_locale=Locale.ZH_CN,
            )
            s.add(tenant)
            s.flush()
            tid = tenant.id
            record_platform(
                s,
                actor=None,
                actor_label="demo",
                action="tenant.created",
                target_type="tenant",
                target_id=tid,
                subject_tenant_id=tid,
            )
        assert tid is not None
        fake = Faker("zh_CN")
        fake.seed_instance(2026 + i)
        rng = random.Random(2026 + i)
        with tenant_session(tid) as s:
            s.add(
                StaffMember(
                    email=spec.admin[0],
                    name=spec.admin[1],
                    role=StaffRole.TENANT_ADMIN,
                    status=AccountStatus.ACTIVE,
                    password_hash=pw_hash,
                )
            )
            for email, name in spec.staff:
                s.add(
                    StaffMember(
                        email=email,
                        name=name,
                        role=StaffRole.STAFF,
                        status=AccountStatus.ACTIVE,
                        password_hash=pw_hash,
                    )
                )
            s.add_all(_patients(fake, rng, spec, pw_hash))
            record(
                s,
                actor=None,
                actor_label="demo",
                action="tenant.created",
                target_type="tenant",
                target_id=tid,
            )
        _demo_messages(tid, spec)
        _demo_booking(tid, spec)
        _demo_appointments(tid)
        _demo_rewards(tid)
        _demo_membership(tid, spec)
        _demo_marketing(tid, spec)
        created.append(f"tenant {spec.slug}")
    created += load_demo_plans(OPERATOR_EMAIL)
    if created:
        _demo_dashboards()
    invalidate_tenant_cache()
    return created


def _demo_dashboards() -> None:
    """Five months of past visits and orders per demo tenant, then the dashboards'
    roll-up (and the platform's usage rows), as the hourly task would do."""
    from prm_saas.dashboards.demo import seed_history
    from prm_saas.dashboards.tasks import run_tenant

    with platform_session() as s:
        tenants = s.exec(
            select(Tenant.id, Tenant.slug).where(
                col(Tenant.slug).in_([t.slug for t in DEMO_TENANTS])
            )
        ).all()
    for i, (tid, _slug) in enumerate(tenants):
        with tenant_session(int(tid or 0)) as s:
            fresh = s.exec(select(KpiRollupState)).first() is None
        if fresh:
            seed_history(int(tid or 0), seed=7000 + i)
        run_tenant(tenant_id=int(tid or 0), now=utcnow())


def _demo_messages(tenant_id: int, spec: DemoTenant) -> None:
    """A reminder and a health tip for the first demo patient's inbox, due now: the
    Celery worker started by scripts/run.sh delivers them within a minute."""
    with tenant_session(tenant_id) as s:
        patient = s.exec(
            select(Patient).where(Patient.phone == "+86" + spec.first_patient[1])
        ).one()
        assert patient.id is not None
        enqueue(
            s,
            template_key="care.reminder",
            channel=Channel.INAPP,
            patient_id=patient.id,
            variables={
                "title": "年度体检",
                "when": "2026-12-05 08:00",
                "note": "请于前一晚 22:00 后禁食，携带身份证。",
            },
            dedupe_key="demo:reminder",
            urgent=True,
            source="demo",
        )
        enqueue(
            s,
            template_key="marketing.health_tip",
            channel=Channel.INAPP,
            patient_id=patient.id,
            variables={"tip": "冬季早晚温差大，注意保暖，每天步行 30 分钟。"},
            dedupe_key="demo:tip",
            urgent=True,
            source="demo",
        )


# (name zh, name en, address, capacity per 30-minute slot, open weekdays (0 = Monday))
_LOCATIONS = {
    "sunshine": [
        (
            "阳光社区诊所 体检部",
            "Sunshine Clinic checkup unit",
            "上海市静安区共和新路 1888 号 2 楼",
            6,
            range(6),
        ),
    ],
    "kangjian": [
        (
            "康健体检中心 浦东总部",
            "Kangjian Pudong (main)",
            "上海市浦东新区张杨路 500 号",
            20,
            range(7),
        ),
        (
            "康健体检中心 徐汇分院",
            "Kangjian Xuhui branch",
            "上海市徐汇区漕溪北路 88 号",
            12,
            range(6),
        ),
    ],
}


def _demo_booking(tenant_id: int, spec: DemoTenant) -> None:
    """Locations with morning hours (checkups are done fasting, 07:30-11:30), a
    New Year closure, CT and gastroscopy limits, and the mall's catalog."""
    from prm_saas.booking.models import Closure, Location, LocationHours, Resource
    from prm_saas.mall.demo import seed_catalog

    with tenant_session(tenant_id) as s:
        if s.exec(select(Location.id)).first() is not None:
            return
        ids: list[int] = []
        for name_zh, name_en, address, capacity, weekdays in _LOCATIONS.get(spec.slug, []):
            loc = Location(
                name_zh=name_zh,
                name_en=name_en,
                address=address,
                phone="021-5555 0100",
                min_days_ahead=1,
                max_days_ahead=30,
            )
            s.add(loc)
            s.flush()
            assert loc.id is not None
            ids.append(loc.id)
            for wd in weekdays:
                s.add(
                    LocationHours(
                        location_id=loc.id,
                        weekday=wd,
                        start="07:30",
                        end="11:30",
                        slot_minutes=30,
                        capacity=capacity,
                    )
                )
            s.add(Closure(location_id=loc.id, day=date(2027, 1, 1), reason="元旦休息"))
            s.add(
                Resource(location_id=loc.id, key="ct", name_zh="CT", name_en="CT", daily_limit=20)
            )
            s.add(
                Resource(
                    location_id=loc.id,
                    key="gastroscopy",
                    name_zh="胃镜室",
                    name_en="Gastroscopy room",
                    daily_limit=8,
                )
            )
        s.flush()
        seed_catalog(s, location_ids=ids)


def _demo_appointments(tenant_id: int) -> None:
    """Patients booked at the first location, so the front desk has a day to run:
    walk-ins today (patients 2-5) and pay-at-the-clinic bookings the next open
    day (patients 6-13), through the same services the pages use. The first
    patient (the demo login) has none: booking is theirs to try."""
    from prm_saas.accounts.auth import patient_principal, staff_principal
    from prm_saas.booking.calendar import bookable_days
    from prm_saas.booking.frontdesk import walk_in
    from prm_saas.booking.models import Location
    from prm_saas.booking.schedule import available_slots, local_today, tenant_zone
    from prm_saas.mall.storefront import published_packages
    from prm_saas.orders.services import checkout

    now = utcnow()
    with tenant_session(tenant_id) as s:
        location = s.exec(select(Location).order_by(col(Location.id))).first()
        admin = s.exec(
            select(StaffMember).where(StaffMember.role == StaffRole.TENANT_ADMIN)
        ).first()
        if location is None or location.id is None or admin is None:
            return
        packages = [
            c.id
            for c in published_packages(session=s, location_id=location.id)
            if c.target_sex == "any" and c.min_age <= 30
        ]
        patients = s.exec(
            select(Patient).where(col(Patient.birth_date).is_not(None)).order_by(col(Patient.id))
        ).all()[1:13]
        today = local_today(now, tenant_zone(s))
        days = [d.day for d in bookable_days(session=s, location_id=location.id, now=now) if d.open]
        plan = [(today, patients[:4], True), *([(days[0], patients[4:], False)] if days else [])]
        for day, people, at_desk in plan:
            slots = [
                v for v in available_slots(session=s, location_id=location.id, day=day, now=now)
            ]
            if not slots or not packages:
                continue
            for i, patient in enumerate(people):
                slot = slots[i % len(slots)]
                package_id = packages[i % len(packages)]
                try:
                    with s.begin_nested():
                        if at_desk:
                            walk_in(
                                session=s,
                                actor=staff_principal(admin),
                                patient_id=int(patient.id or 0),
                                package_id=package_id,
                                slot_id=slot.id,
                                idempotency_key=f"demo:{patient.id}:{day}",
                                now=now,
                            )
                        else:
                            checkout(
                                session=s,
                                actor=patient_principal(patient),
                                package_id=package_id,
                                location_id=location.id,
                                slot_id=slot.id,
                                addon_item_ids=[],
                                payment_method="clinic",
                                idempotency_key=f"demo:{patient.id}:{day}",
                                now=now,
                            )
                except DomainError:
                    continue  # e.g. a package this patient is not eligible for


def _demo_rewards(tenant_id: int) -> None:
    """A rewards catalog to spend points on: two discount coupons, the cheapest
    package for points + 99 yuan, and a gift at the front desk."""
    from prm_saas.mall.models import HealthPackage
    from prm_saas.membership.models import Reward, RewardKind

    with tenant_session(tenant_id) as s:
        if s.exec(select(Reward.id)).first() is not None:
            return
        s.add_all(
            [
                Reward(
                    kind=RewardKind.DISCOUNT_COUPON,
                    name_zh="满300减50元券",
                    name_en="50 yuan off 300",
                    description_zh="体检套餐订单满 300 元可用，30 天内有效。",
                    description_en="On a checkup order of 300 yuan or more; valid 30 days.",
                    points_cost=500,
                    discount_fen=5000,
                    min_spend_fen=30000,
                    stock=200,
                ),
                Reward(
                    kind=RewardKind.DISCOUNT_COUPON,
                    name_zh="9折券",
                    name_en="10% off",
                    description_zh="任意体检套餐九折，每人限兑 2 张。",
                    description_en="10% off any checkup package; two per person.",
                    points_cost=800,
                    discount_percent=10,
                    per_patient_limit=2,
                ),
                Reward(
                    kind=RewardKind.GIFT,
                    name_zh="定制保温杯",
                    name_en="Insulated cup",
                    description_zh="到店前台凭券码领取。",
                    description_en="Collect it at the front desk with the code.",
                    points_cost=1500,
                    stock=50,
                    per_patient_limit=1,
                ),
            ]
        )
        cheapest = s.exec(
            select(HealthPackage)
            .where(col(HealthPackage.published))
            .order_by(col(HealthPackage.sale_price_fen))
        ).first()
        if cheapest is not None and cheapest.sale_price_fen > 9900:
            s.add(
                Reward(
                    kind=RewardKind.PACKAGE_COUPON,
                    name_zh=f"积分+99元换{cheapest.name_zh}",
                    name_en=f"{cheapest.name_en or cheapest.name_zh} for points + 99 yuan",
                    description_zh="指定套餐仅需 99 元，60 天内有效。",
                    description_en="This package for 99 yuan; valid 60 days.",
                    points_cost=3000,
                    package_id=cheapest.id,
                    cash_fen=9900,
                    stock=20,
                    per_patient_limit=1,
                    coupon_valid_days=60,
                )
            )


# Card prefixes of the demo tenants (the policy's card format).
_CARD_PREFIX = {"sunshine": "SUN", "kangjian": "KJ"}


def _demo_membership(tenant_id: int, spec: DemoTenant) -> None:
    """Membership to look at: the policy, levels 普通/银卡/金卡, the earn rules,
    a card for every demo patient, points history (the first patient: purchases,
    a checkup and a challenge over the past year, 1,299 points expiring within 30
    days, 399 still locked in the return window, level 银卡), and two published
    challenges with participants and check-ins. Through the same services the
    admin pages use."""
    from prm_saas.accounts.auth import patient_principal, staff_principal
    from prm_saas.challenges.services import (
        ChallengeInput,
        check_in,
        create_challenge,
        join,
        publish_challenge,
    )
    from prm_saas.membership import admin as members
    from prm_saas.membership import cards, points
    from prm_saas.membership.models import MembershipLevel, RuleKind

    now = utcnow()
    with tenant_session(tenant_id) as s:
        if s.exec(select(MembershipLevel.id)).first() is not None:
            return
        boss = s.exec(select(StaffMember).where(StaffMember.role == StaffRole.TENANT_ADMIN)).one()
        actor = staff_principal(boss)
        members.update_policy(
            session=s,
            actor=actor,
            data=members.PolicyInput(
                points_expiry_months=12,
                return_window_days=7,
                negative_policy="floor_zero",
                notice_days=30,
                card_prefix=_CARD_PREFIX.get(spec.slug, "M"),
                card_digits=8,
                auto_issue_card=True,
            ),
        )
        for name_zh, name_en, rank, pts, spent, discount, mult in (
            ("普通", "Basic", 0, 0, "", 0, 100),
            ("银卡", "Silver", 1, 1000, "2000", 5, 120),
            ("金卡", "Gold", 2, 5000, "8000", 10, 150),
        ):
            members.create_level(
                session=s,
                actor=actor,
                data=members.LevelInput(
                    name_zh=name_zh,
                    name_en=name_en,
                    rank=rank,
                    min_points_12m=pts,
                    min_spent_yuan_12m=spent,
                    discount_percent=discount,
                    multiplier_percent=mult,
                ),
            )
        for kind, n in (
            (RuleKind.PER_YUAN_PAID, 1),
            (RuleKind.CHECKUP_COMPLETED, 200),
            (RuleKind.CHALLENGE_COMPLETED, 100),
            (RuleKind.BIRTHDAY, 100),
            (RuleKind.REFERRAL, 300),
        ):
            members.set_rule(session=s, actor=actor, kind=kind, points=n, active=True)
        patients = s.exec(select(Patient).order_by(col(Patient.id))).all()
        first = patients[0]
        cards.issue_card(s, actor=patient_principal(first), patient_id=int(first.id or 0), now=now)
        for p in patients[1:]:
            cards.issue_card(s, actor=actor, patient_id=int(p.id or 0), now=now)

        def earned(pid: int, n: int, kind: RuleKind, days_ago: float, key: str) -> None:
            points.earn(
                s,
                patient_id=pid,
                points=n,
                reason=f"rule:{kind.value}",
                source=points.Source("demo", key),
                idempotency_key=f"demo:{key}",
                now=now - timedelta(days=days_ago),
                lock_days=7 if kind == RuleKind.PER_YUAN_PAID else 0,
            )

        pid = int(first.id or 0)
        # Earned 345 days ago: expires at the end of a local day about 20 days from now.
        earned(pid, 1299, RuleKind.PER_YUAN_PAID, 345, "first:order1")
        earned(pid, 200, RuleKind.CHECKUP_COMPLETED, 180, "first:checkup")
        earned(pid, 699, RuleKind.PER_YUAN_PAID, 60, "first:order2")
        earned(pid, 100, RuleKind.CHALLENGE_COMPLETED, 30, "first:challenge")
        earned(pid, 399, RuleKind.PER_YUAN_PAID, 3, "first:order3")  # still locked
        rng = random.Random(tenant_id)
        for p in patients[1:25]:
            for j in range(rng.randint(1, 3)):
                earned(
                    int(p.id or 0),
                    rng.choice((299, 499, 899, 1299, 2599)),
                    RuleKind.PER_YUAN_PAID,
                    rng.randint(10, 330),
                    f"{p.id}:order{j}",
                )
        for p in patients:
            cards.recalc_level(s, patient_id=int(p.id or 0), now=now)

        tz = tenant_zone(s)
        today = local_today(now, tz)
        plans = (
            ("21 天血压打卡", "21-day blood pressure check-in", "pair", 10, 21, "mmHg"),
            ("每日万步走", "10,000 steps a day", "number", 6, 14, "步"),
        )
        for title_zh, title_en, value_kind, started, days, unit in plans:
            starts = today - timedelta(days=started)
            challenge = create_challenge(
                session=s,
                actor=actor,
                data=ChallengeInput(
                    title_zh=title_zh,
                    title_en=title_en,
                    starts_on=starts,
                    ends_on=starts + timedelta(days=days - 1),
                    target_days=days,
                    value_kind=value_kind,
                    unit=unit,
                    comparison="<=" if value_kind == "pair" else ">=",
                    threshold=140 if value_kind == "pair" else 10000,
                    threshold2=90 if value_kind == "pair" else None,
                    reward_points=100,
                    badge_name="坚持之星",
                ),
            )
            cid = int(challenge.id or 0)
            publish_challenge(session=s, actor=actor, challenge_id=cid)
            for i, p in enumerate(patients[1:7]):
                who = patient_principal(p)
                join(
                    session=s,
                    actor=who,
                    challenge_id=cid,
                    nickname=f"{p.name[0]}同学{i + 1}",
                    now=now - timedelta(days=started),
                )
                for d in range(started):
                    if rng.random() < 0.25:
                        continue  # a missed day
                    day = starts + timedelta(days=d)
                    at = datetime.combine(day, time(8, 30), tzinfo=tz)
                    values: list[object] = (
                        [rng.randint(112, 138), rng.randint(70, 88)]
                        if value_kind == "pair"
                        else [rng.randint(8000, 15000)]
                    )
                    check_in(session=s, actor=who, challenge_id=cid, values=values, now=at)


def _demo_marketing(tenant_id: int, spec: DemoTenant) -> None:
    """Tags, audiences, a campaign and journeys to look at, through the services the
    admin pages use: manual tags VIP客户 / 高血压 / 糖尿病 on some patients, the auto
    tag 中年女性 (age 40-59, female) with its rule, two saved audiences, the
    campaign 冬季体检关爱 started (its in-app messages recorded for the worker to
    deliver), and the three built-in journeys switched on."""
    from prm_saas.accounts.auth import staff_principal
    from prm_saas.audiences.services import create_audience
    from prm_saas.automations.builtin import BUILTINS
    from prm_saas.automations.services import enable_builtin
    from prm_saas.campaigns.release import release_campaign
    from prm_saas.campaigns.services import (
        CampaignInput,
        create_campaign,
        set_content,
        start_campaign,
    )
    from prm_saas.tags.models import Tag
    from prm_saas.tags.services import TagInput, add_tags, create_rule, create_tag

    now = utcnow()
    with tenant_session(tenant_id) as s:
        if s.exec(select(Tag.id)).first() is not None:
            return
        boss = s.exec(select(StaffMember).where(StaffMember.role == StaffRole.TENANT_ADMIN)).one()
        actor = staff_principal(boss)
        pids = [int(p) for p in s.exec(select(Patient.id).order_by(col(Patient.id))).all() if p]
        for name, color, description, holders in (
            ("VIP客户", "#d97706", "年消费高、需专人维护", pids[0:6]),
            ("高血压", "#dc2626", "体检或问诊确认", pids[2:14]),
            ("糖尿病", "#7c3aed", "体检或问诊确认", pids[10:18]),
        ):
            tag = create_tag(
                session=s,
                actor=actor,
                data=TagInput(name=name, color=color, description=description),
            )
            add_tags(
                session=s,
                actor=actor,
                patient_ids=holders,
                tag_ids=[int(tag.id or 0)],
                reason="演示数据",
            )
        auto = create_tag(
            session=s,
            actor=actor,
            data=TagInput(
                name="中年女性", color="#db2777", description="40-59 岁女性", kind="auto"
            ),
        )
        create_rule(
            session=s,
            actor=actor,
            tag_id=int(auto.id or 0),
            conditions=[
                {"key": "age_band", "params": {"min_age": 40, "max_age": 59}},
                {"key": "sex", "params": {"sex": "female"}},
            ],
            confirm_empty=True,
            now=now,
        )
        target = create_audience(
            session=s,
            actor=actor,
            name="高血压未合并糖尿病",
            description="冬季心脑血管筛查",
            expression="高血压 AND NOT 糖尿病",
        )
        create_audience(
            session=s,
            actor=actor,
            name="VIP 或中年女性",
            expression="VIP客户 OR 中年女性",
        )
        campaign = create_campaign(
            session=s,
            actor=actor,
            data=CampaignInput(
                name="冬季体检关爱",
                audience_id=target.id,
                channels=["inapp"],
                link=f"{get_settings().public_url}/t/{spec.slug}/mall",
                per_minute=60,
                ab_split=50,
            ),
        )
        cid = int(campaign.id or 0)
        for variant, subject, body in (
            (
                "A",
                "冬季心脑血管筛查",
                "{patient_name}您好，入冬血压易波动，"
                "{tenant_name}心脑血管筛查套餐本月 8 折：{link}",
            ),
            (
                "B",
                "为您预留的冬季体检名额",
                "{patient_name}您好，本月为您预留了心脑血管筛查名额，点此预约：{link}",
            ),
        ):
            set_content(
                session=s,
                actor=actor,
                campaign_id=cid,
                variant=variant,
                channel="inapp",
                subject=subject,
                body=body,
            )
        start_campaign(session=s, actor=actor, campaign_id=cid)
        release_campaign(s, campaign_id=cid, now=now, send=False)
        for key in BUILTINS:
            enable_builtin(session=s, actor=actor, key=key, now=now)
