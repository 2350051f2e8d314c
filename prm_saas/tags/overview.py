"""What the tag admin pages need beyond ``tags.services``: each tag with how many
patients hold it and its rule, the choices a rule's ``ref`` parameters offer
(packages, levels, challenges of this tenant), the history with the names of
patients and staff, and running a rule now on an admin's request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from prm_saas.accounts.authz import Permission, Principal, require_staff
from prm_saas.accounts.models import Patient, StaffMember
from prm_saas.audit.services import record
from prm_saas.booking.schedule import pk
from prm_saas.challenges.models import Challenge
from prm_saas.mall.models import HealthPackage
from prm_saas.membership.models import MembershipLevel
from prm_saas.tags.conditions import REGISTRY
from prm_saas.tags.models import PatientTag, Tag, TagRule
from prm_saas.tags.services import RuleRun, evaluate_rule, tag_history
from tenants.db import TenantSession
from tenants.lookup import get_or_404
from tenants.types import utcnow


@dataclass(frozen=True)
class TagSummary:
    """A tag on the admin list."""

    id: int
    name: str
    color: str
    description: str
    kind: str
    holders: int
    rule_id: int | None
    rule_active: bool
    rule_conditions: str  # JSON as stored, "" without a rule
    rule_evaluated_at: datetime | None


def tag_summaries(*, session: TenantSession, actor: Principal | None) -> list[TagSummary]:
    """Every tag by name with its holder count and rule (any staff may read tags)."""
    require_staff(session, actor)
    counts = dict(
        session.exec(select(PatientTag.tag_id, func.count()).group_by(col(PatientTag.tag_id))).all()
    )
    rules = {r.tag_id: r for r in session.exec(select(TagRule)).all()}
    out = []
    for tag in session.exec(select(Tag).order_by(col(Tag.name))).all():
        tid = pk(tag)
        rule = rules.get(tid)
        out.append(
            TagSummary(
                id=tid,
                name=tag.name,
                color=tag.color,
                description=tag.description,
                kind=str(tag.kind),
                holders=int(counts.get(tid, 0)),
                rule_id=pk(rule) if rule else None,
                rule_active=bool(rule and rule.active),
                rule_conditions=rule.conditions if rule else "",
                rule_evaluated_at=rule.evaluated_at if rule else None,
            )
        )
    return out


@dataclass(frozen=True)
class RefChoice:
    """One choice of a ``ref`` parameter."""

    id: int
    name_zh: str
    name_en: str


# The label columns of each model a condition parameter may refer to.
_REF_LABELS: dict[Any, tuple[Any, Any]] = {
    HealthPackage: (HealthPackage.name_zh, HealthPackage.name_en),
    MembershipLevel: (MembershipLevel.name_zh, MembershipLevel.name_en),
    Challenge: (Challenge.title_zh, Challenge.title_en),
}


def ref_name(model: Any) -> str:
    """The name under which a ref model's choices are listed (its table name)."""
    return str(model.__tablename__)


def condition_choices(
    *, session: TenantSession, actor: Principal | None
) -> dict[str, list[RefChoice]]:
    """For every model a registered condition refers to: this tenant's rows as
    choices, keyed by ``ref_name`` (rule and audience editors need them)."""
    require_staff(session, actor)
    models = {p.ref for spec in REGISTRY.values() for p in spec.params if p.kind == "ref"}
    out: dict[str, list[RefChoice]] = {}
    for model in sorted(models, key=ref_name):
        zh, en = _REF_LABELS.get(model, (None, None))
        if zh is None:
            rows = session.exec(select(model.id).order_by(model.id).limit(500)).all()
            out[ref_name(model)] = [RefChoice(int(i), f"#{i}", f"#{i}") for i in rows]
            continue
        pairs = session.exec(select(model.id, zh, en).order_by(model.id).limit(500)).all()
        out[ref_name(model)] = [RefChoice(int(i), z, e or z) for i, z, e in pairs]
    return out


def run_rule(
    *, session: TenantSession, actor: Principal | None, rule_id: int, now: datetime | None = None
) -> RuleRun:
    """Evaluate one rule now (the admin's "run now"); audited."""
    principal = require_staff(session, actor, Permission.TAGS_MANAGE)
    rule = get_or_404(session, TagRule, rule_id)
    run = evaluate_rule(session=session, rule_id=pk(rule), now=now or utcnow())
    record(
        session,
        actor=principal,
        action="tag_rule.run",
        target_type="tag_rule",
        target_id=pk(rule),
        details={"added": run.added, "removed": run.removed},
    )
    return run


@dataclass(frozen=True)
class HistoryLine:
    """One tag change with who it happened to and who made it."""

    id: int
    at: datetime
    patient_id: int
    patient_name: str
    tag_name: str
    action: str
    staff_name: str  # "" when a rule made it
    rule_id: int | None
    reason: str


def named_history(
    *,
    session: TenantSession,
    actor: Principal | None,
    patient_id: int | None = None,
    tag_id: int | None = None,
    limit: int = 50,
) -> list[HistoryLine]:
    """``tags.services.tag_history`` with patient and staff names (newest first)."""
    events = tag_history(
        session=session, actor=actor, patient_id=patient_id, tag_id=tag_id, limit=limit
    )
    pids = sorted({e.patient_id for e in events})
    sids = sorted({e.staff_id for e in events if e.staff_id is not None})
    patients = (
        dict(session.exec(select(Patient.id, Patient.name).where(col(Patient.id).in_(pids))).all())
        if pids
        else {}
    )
    staff = (
        dict(
            session.exec(
                select(StaffMember.id, StaffMember.name).where(col(StaffMember.id).in_(sids))
            ).all()
        )
        if sids
        else {}
    )
    return [
        HistoryLine(
            id=e.id,
            at=e.at,
            patient_id=e.patient_id,
            patient_name=str(patients.get(e.patient_id, "")),
            tag_name=e.tag_name,
            action=e.action,
            staff_name=str(staff.get(e.staff_id, "")) if e.staff_id is not None else "",
            rule_id=e.rule_id,
            reason=e.reason,
        )
        for e in events
    ]
