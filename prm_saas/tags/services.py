"""Tags, tagging patients, tag rules and their evaluation.

- Tags are managed by admins (``TAGS_MANAGE``); staff with ``FRONT_DESK`` add and
  remove *manual* tags on patients, in bulk. An *auto* tag belongs to its rule:
  nobody adds or removes it by hand.
- Every change of a patient's tags is one ``TagEvent`` (append-only), written in
  the same transaction as the change.
- A rule (one per auto tag) is a list of conditions (``prm_saas.tags.conditions``),
  all of which must hold. ``evaluate_rule`` compiles them to one SQL clause and
  lets the database find who must get the tag and who must lose it; re-running
  it with nothing changed changes nothing. Evaluations of one rule are
  serialized by a lock on the rule's row.
- Saving a rule that matches nobody right now is refused with
  ``RuleMatchesNothing`` (the page asks "save anyway?") unless the admin
  confirms with ``confirm_empty=True``. Saving a rule evaluates it at once, in
  the same transaction, so the tag is right as soon as the rule is saved.
  A deactivated rule stops changing its tag; the patients keep it as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from prm_saas.accounts.authz import Permission, Principal, require_staff
from prm_saas.accounts.models import Patient, PrincipalKind
from prm_saas.audit.services import record
from prm_saas.automations.hooks import fire_tags_added
from prm_saas.booking.schedule import pk, write_lock
from prm_saas.tags.conditions import compile_conditions, context, validate_conditions
from prm_saas.tags.models import PatientTag, Tag, TagAction, TagEvent, TagKind, TagRule, TagSource
from prm_saas.validation import Checker
from tenants.db import TenantSession, hash_joins, insert_from_select, insert_rows
from tenants.errors import DomainError, FieldErrors, NotFound
from tenants.lookup import get_or_404
from tenants.types import UTCDateTime, utcnow

MAX_BULK = 1000  # patients x tags changed by one bulk call
SAMPLE_SIZE = 10
_CHUNK = 500  # ids per IN (...) list


class RuleMatchesNothing(DomainError):
    """The rule matches no patient now; save again with ``confirm_empty=True``."""

    key = "tags.rule.matches_nothing"


# --- tags ------------------------------------------------------------------------------


@dataclass
class TagInput:
    """The admin's tag form, as the client sent it."""

    name: str
    color: str = "#64748b"
    description: str = ""
    kind: str = TagKind.MANUAL


def _clean_tag(session: TenantSession, data: TagInput, tag_id: int | None) -> dict[str, Any]:
    ck = Checker()
    name = ck.text("name", data.name, max_len=40)
    color = ck.color("color", data.color)
    description = ck.text("description", data.description, max_len=200, required=False)
    kind = data.kind if data.kind in {k.value for k in TagKind} else None
    if kind is None:
        ck.fail("kind", "tags.field.kind_invalid")
    if name and "name" not in ck.errors:
        same = session.exec(select(Tag.id).where(col(Tag.name) == name)).first()
        if same is not None and same != tag_id:
            ck.fail("name", "tags.field.name_taken")
    ck.raise_if_any()
    return {"name": name, "color": color, "description": description, "kind": kind}


def list_tags(*, session: TenantSession, actor: Principal | None) -> list[Tag]:
    """The tenant's tags by name (any staff: the front desk picks from them)."""
    require_staff(session, actor)
    return list(session.exec(select(Tag).order_by(col(Tag.name))).all())


def create_tag(*, session: TenantSession, actor: Principal | None, data: TagInput) -> Tag:
    """A new tag."""
    actor = require_staff(session, actor, Permission.TAGS_MANAGE)
    tag = Tag(**_clean_tag(session, data, None))
    session.add(tag)
    session.flush()
    record(session, actor=actor, action="tag.create", target_type="tag", target_id=pk(tag))
    return tag


def _in_use(session: TenantSession, tag_id: int) -> bool:
    for model in (PatientTag, TagRule, TagEvent):
        hit = session.exec(select(model.id).where(col(model.tag_id) == tag_id).limit(1)).first()
        if hit is not None:
            return True
    return False


def update_tag(
    *, session: TenantSession, actor: Principal | None, tag_id: int, data: TagInput
) -> Tag:
    """Rename, recolor or redescribe a tag; its kind changes only while it is unused."""
    actor = require_staff(session, actor, Permission.TAGS_MANAGE)
    tag = get_or_404(session, Tag, tag_id)
    values = _clean_tag(session, data, pk(tag))
    if values["kind"] != tag.kind and _in_use(session, pk(tag)):
        raise FieldErrors.single("kind", "tags.field.kind_locked")
    for name, value in values.items():
        setattr(tag, name, value)
    session.add(tag)
    session.flush()
    record(session, actor=actor, action="tag.update", target_type="tag", target_id=pk(tag))
    return tag


def delete_tag(*, session: TenantSession, actor: Principal | None, tag_id: int) -> None:
    """Delete a tag nobody has ever had (its history is kept, so a used tag stays)."""
    actor = require_staff(session, actor, Permission.TAGS_MANAGE)
    tag = get_or_404(session, Tag, tag_id)
    if _in_use(session, pk(tag)):
        raise DomainError("tags.in_use")
    record(
        session,
        actor=actor,
        action="tag.delete",
        target_type="tag",
        target_id=pk(tag),
        details={"name": tag.name},
    )
    session.delete(tag)
    session.flush()


# --- tagging patients by hand ---------------------------------------------------------------


def _ids(values: Iterable[object]) -> list[int]:
    out: list[int] = []
    for v in values:
        try:
            out.append(int(v))  # type: ignore[call-overload]
        except (TypeError, ValueError):
            raise NotFound() from None
    return sorted(set(out))


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]


def _check_bulk(
    session: TenantSession, patient_ids: Sequence[object], tag_ids: Sequence[object]
) -> tuple[list[int], list[Tag]]:
    """The patients and manual tags of a bulk call; NotFound if any is missing or of
    another tenant, DomainError naming the auto tags if any."""
    ck = Checker()
    if not patient_ids:
        ck.fail("patient_ids", "tags.field.patients_required")
    if not tag_ids:
        ck.fail("tag_ids", "tags.field.tags_required")
    ck.raise_if_any()
    pids = _ids(patient_ids)
    tids = _ids(tag_ids)
    if len(pids) * len(tids) > MAX_BULK:
        raise FieldErrors.single("patient_ids", "tags.field.too_many", max=MAX_BULK)
    found: set[int] = set()
    for chunk in _chunks(pids):
        found.update(
            int(i or 0) for i in session.exec(select(Patient.id).where(col(Patient.id).in_(chunk)))
        )
    tags = list(session.exec(select(Tag).where(col(Tag.id).in_(tids))).all())
    if found != set(pids) or len(tags) != len(tids):
        raise NotFound()
    auto = sorted(t.name for t in tags if t.kind == TagKind.AUTO)
    if auto:
        raise DomainError("tags.auto_by_hand", names="、".join(auto))
    return pids, tags


def _existing(session: TenantSession, pids: Sequence[int], tag_id: int) -> set[int]:
    have: set[int] = set()
    for chunk in _chunks(pids):
        have.update(
            session.exec(
                select(PatientTag.patient_id).where(
                    col(PatientTag.tag_id) == tag_id, col(PatientTag.patient_id).in_(chunk)
                )
            ).all()
        )
    return have


def _reason(value: str) -> str:
    ck = Checker()
    cleaned = ck.text("reason", value, max_len=200, required=False)
    ck.raise_if_any()
    return cleaned


def _staff_id(actor: Principal) -> int | None:
    return actor.id if actor.kind == PrincipalKind.STAFF else None


def add_tags(
    *,
    session: TenantSession,
    actor: Principal | None,
    patient_ids: Sequence[object],
    tag_ids: Sequence[object],
    reason: str = "",
    now: datetime | None = None,
) -> int:
    """Give every patient every (manual) tag they lack; returns how many were added."""
    actor = require_staff(session, actor, Permission.FRONT_DESK)
    reason = _reason(reason)
    pids, tags = _check_bulk(session, patient_ids, tag_ids)
    at = now or utcnow()
    staff_id = _staff_id(actor)
    added = 0
    new_events: list[TagEvent] = []
    for tag in tags:
        tid = pk(tag)
        have = _existing(session, pids, tid)
        for pid in pids:
            if pid in have:
                continue
            session.add(
                PatientTag(
                    patient_id=pid,
                    tag_id=tid,
                    source=TagSource.MANUAL,
                    added_at=at,
                    added_by_staff_id=staff_id,
                )
            )
            event = TagEvent(
                patient_id=pid,
                tag_id=tid,
                action=TagAction.ADDED,
                staff_id=staff_id,
                at=at,
                reason=reason,
            )
            session.add(event)
            new_events.append(event)
            added += 1
    session.flush()
    fire_tags_added(session, new_events, now=at)  # automations on "tag added"
    if added:
        record(
            session,
            actor=actor,
            action="tag.add",
            target_type="tag",
            target_id=",".join(str(pk(t)) for t in tags),
            details={"patients": len(pids), "added": added},
        )
    return added


def remove_tags(
    *,
    session: TenantSession,
    actor: Principal | None,
    patient_ids: Sequence[object],
    tag_ids: Sequence[object],
    reason: str = "",
    now: datetime | None = None,
) -> int:
    """Take the (manual) tags off the patients that have them; returns how many."""
    actor = require_staff(session, actor, Permission.FRONT_DESK)
    reason = _reason(reason)
    pids, tags = _check_bulk(session, patient_ids, tag_ids)
    at = now or utcnow()
    staff_id = _staff_id(actor)
    removed = 0
    for tag in tags:
        tid = pk(tag)
        have = sorted(_existing(session, pids, tid))
        for chunk in _chunks(have):
            session.execute(
                delete(PatientTag).where(
                    col(PatientTag.tag_id) == tid, col(PatientTag.patient_id).in_(chunk)
                )
            )
        for pid in have:
            session.add(
                TagEvent(
                    patient_id=pid,
                    tag_id=tid,
                    action=TagAction.REMOVED,
                    staff_id=staff_id,
                    at=at,
                    reason=reason,
                )
            )
        removed += len(have)
    session.flush()
    if removed:
        record(
            session,
            actor=actor,
            action="tag.remove",
            target_type="tag",
            target_id=",".join(str(pk(t)) for t in tags),
            details={"patients": len(pids), "removed": removed},
        )
    return removed


@dataclass(frozen=True)
class PatientTagView:
    """A tag a patient has, for the patient's page."""

    tag_id: int
    name: str
    color: str
    kind: str
    source: str
    rule_id: int | None
    added_at: datetime


def patient_tags(
    *, session: TenantSession, actor: Principal | None, patient_id: int
) -> list[PatientTagView]:
    """The patient's tags by name."""
    require_staff(session, actor, Permission.PATIENT_READ)
    patient = get_or_404(session, Patient, patient_id)
    rows = session.exec(
        select(PatientTag, Tag)
        .join(Tag, col(Tag.id) == col(PatientTag.tag_id))
        .where(col(PatientTag.patient_id) == pk(patient))
        .order_by(col(Tag.name))
    ).all()
    return [
        PatientTagView(
            tag_id=pk(tag),
            name=tag.name,
            color=tag.color,
            kind=tag.kind,
            source=pt.source,
            rule_id=pt.rule_id,
            added_at=pt.added_at,
        )
        for pt, tag in rows
    ]


@dataclass(frozen=True)
class TagEventView:
    """One line of the tag history."""

    id: int
    patient_id: int
    tag_id: int
    tag_name: str
    action: str
    staff_id: int | None
    rule_id: int | None
    at: datetime
    reason: str


def tag_history(
    *,
    session: TenantSession,
    actor: Principal | None,
    patient_id: int | None = None,
    tag_id: int | None = None,
    limit: int = 100,
) -> list[TagEventView]:
    """The newest tag changes of a patient and/or a tag (newest first)."""
    require_staff(session, actor, Permission.PATIENT_READ)
    stmt = select(TagEvent, Tag).join(Tag, col(Tag.id) == col(TagEvent.tag_id))
    if patient_id is not None:
        stmt = stmt.where(col(TagEvent.patient_id) == pk(get_or_404(session, Patient, patient_id)))
    if tag_id is not None:
        stmt = stmt.where(col(TagEvent.tag_id) == pk(get_or_404(session, Tag, tag_id)))
    limit = max(1, min(int(limit), 500))
    rows = session.exec(stmt.order_by(col(TagEvent.id).desc()).limit(limit)).all()
    return [
        TagEventView(
            id=pk(ev),
            patient_id=ev.patient_id,
            tag_id=ev.tag_id,
            tag_name=tag.name,
            action=ev.action,
            staff_id=ev.staff_id,
            rule_id=ev.rule_id,
            at=ev.at,
            reason=ev.reason,
        )
        for ev, tag in rows
    ]


# --- rules ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RulePreview:
    """How many patients a rule matches now, and up to ten of them."""

    count: int
    sample: list[tuple[int, str]]  # (patient id, name)


@dataclass(frozen=True)
class RuleRun:
    """What one evaluation changed."""

    added: int
    removed: int
    matched: int  # patients holding the tag afterwards


def _preview(
    session: TenantSession, conditions: list[dict[str, Any]], now: datetime
) -> RulePreview:
    clause = compile_conditions(conditions, context(session, now))
    count = session.exec(select(func.count()).select_from(Patient).where(clause)).one()
    sample = session.exec(
        select(Patient.id, Patient.name).where(clause).order_by(col(Patient.id)).limit(SAMPLE_SIZE)
    ).all()
    return RulePreview(count=int(count), sample=[(int(i or 0), n) for i, n in sample])


def preview_rule(
    *,
    session: TenantSession,
    actor: Principal | None,
    conditions: object,
    now: datetime | None = None,
) -> RulePreview:
    """Count and sample the patients the conditions match now (nothing is written)."""
    require_staff(session, actor, Permission.TAGS_MANAGE)
    cleaned = validate_conditions(session, conditions)
    return _preview(session, cleaned, now or utcnow())


def get_rule(*, session: TenantSession, actor: Principal | None, rule_id: int) -> TagRule:
    """One rule of this tenant."""
    require_staff(session, actor, Permission.TAGS_MANAGE)
    return get_or_404(session, TagRule, rule_id)


def rule_conditions(rule: TagRule) -> list[dict[str, Any]]:
    """A rule's conditions, as stored."""
    value = json.loads(rule.conditions or "[]")
    return value if isinstance(value, list) else []


def _save_checks(
    session: TenantSession, conditions: object, confirm_empty: bool, now: datetime
) -> list[dict[str, Any]]:
    cleaned = validate_conditions(session, conditions)
    if not confirm_empty and _preview(session, cleaned, now).count == 0:
        raise RuleMatchesNothing()
    return cleaned


def create_rule(
    *,
    session: TenantSession,
    actor: Principal | None,
    tag_id: int,
    conditions: object,
    active: bool = True,
    confirm_empty: bool = False,
    now: datetime | None = None,
) -> TagRule:
    """The rule of an auto tag; evaluated at once when active."""
    actor = require_staff(session, actor, Permission.TAGS_MANAGE)
    now = now or utcnow()
    tag = get_or_404(session, Tag, tag_id)
    if tag.kind != TagKind.AUTO:
        raise FieldErrors.single("tag_id", "tags.field.tag_not_auto")
    if session.exec(select(TagRule.id).where(col(TagRule.tag_id) == pk(tag))).first():
        raise FieldErrors.single("tag_id", "tags.field.rule_exists")
    cleaned = _save_checks(session, conditions, confirm_empty, now)
    rule = TagRule(
        tag_id=pk(tag),
        conditions=json.dumps(cleaned, ensure_ascii=False),
        active=bool(active),
        created_at=now,
        updated_at=now,
    )
    session.add(rule)
    session.flush()
    record(
        session,
        actor=actor,
        action="tag_rule.create",
        target_type="tag_rule",
        target_id=pk(rule),
        details={"tag_id": pk(tag), "conditions": cleaned},
    )
    if rule.active:
        evaluate_rule(session=session, rule_id=pk(rule), now=now)
    return rule


def update_rule(
    *,
    session: TenantSession,
    actor: Principal | None,
    rule_id: int,
    conditions: object,
    active: bool = True,
    confirm_empty: bool = False,
    now: datetime | None = None,
) -> TagRule:
    """New conditions and/or on/off; an active rule is evaluated at once."""
    actor = require_staff(session, actor, Permission.TAGS_MANAGE)
    now = now or utcnow()
    rule = get_or_404(session, TagRule, rule_id)
    cleaned = _save_checks(session, conditions, confirm_empty or not active, now)
    rule.conditions = json.dumps(cleaned, ensure_ascii=False)
    rule.active = bool(active)
    rule.updated_at = now
    session.add(rule)
    session.flush()
    record(
        session,
        actor=actor,
        action="tag_rule.update",
        target_type="tag_rule",
        target_id=pk(rule),
        details={"active": rule.active, "conditions": cleaned},
    )
    if rule.active:
        evaluate_rule(session=session, rule_id=pk(rule), now=now)
    return rule


def list_rules(*, session: TenantSession, actor: Principal | None) -> list[tuple[TagRule, Tag]]:
    """The tenant's rules with their tags, by tag name."""
    require_staff(session, actor, Permission.TAGS_MANAGE)
    rows = session.exec(
        select(TagRule, Tag).join(Tag, col(Tag.id) == col(TagRule.tag_id)).order_by(col(Tag.name))
    ).all()
    return [(r, t) for r, t in rows]


def _lock_rule(session: TenantSession, rule_id: int, *, shared: bool = False) -> TagRule | None:
    """The rule, locked until the commit: exclusively for a full evaluation (the
    nightly run, a save), shared for one patient's (the event hooks), so the
    hooks of different patients never wait for each other, only for a full run."""
    write_lock(session)
    return session.exec(
        select(TagRule).where(col(TagRule.id) == rule_id).with_for_update(read=shared)
    ).first()


def evaluate_rule(
    *,
    session: TenantSession,
    rule_id: int,
    now: datetime,
    patient_ids: Sequence[int] | None = None,
) -> RuleRun:
    """Bring the rule's tag in line with its conditions (for ``patient_ids`` only, if
    given): add it to matching patients that lack it, remove it from holders that no
    longer match; one TagEvent per change. A system action (no actor): callers are
    the rule services, the nightly task and the event hooks. An inactive rule
    changes nothing."""
    only = sorted({int(p) for p in patient_ids}) if patient_ids is not None else None
    rule = _lock_rule(session, rule_id, shared=only is not None)
    if rule is None:
        raise NotFound()
    if not rule.active:
        return RuleRun(added=0, removed=0, matched=rule.matched)
    if only is not None:
        return _evaluate_for(session, rule, only, now)
    # Set-based, as a hand-written statement would be: one INSERT ... SELECT of the
    # matches lacking the tag, one DELETE of the holders no longer matching, and
    # their history rows set-based too (benchmarks/audience.py).
    tid = session.tenant_id
    clause = compile_conditions(rule_conditions(rule), context(session, now))
    held = (
        select(sa.literal(1))
        .where(
            col(PatientTag.tenant_id) == col(Patient.tenant_id),
            col(PatientTag.patient_id) == col(Patient.id),
            col(PatientTag.tag_id) == rule.tag_id,
        )
        .exists()
    )
    at = sa.literal(now, type_=UTCDateTime(timezone=True))
    missing = sa.select(
        col(Patient.id),
        sa.literal(rule.tag_id),
        sa.literal(TagSource.RULE.value),
        sa.literal(pk(rule)),
        at,
    ).where(col(Patient.tenant_id) == tid, clause, sa.not_(held))
    with hash_joins(session):
        added = insert_from_select(
            session,
            PatientTag,
            ["patient_id", "tag_id", "source", "rule_id", "added_at"],
            missing,
            returning=(col(PatientTag.id), col(PatientTag.patient_id)),
        )
        events: list[Any] = []
        if added:
            # The history rows of exactly those tags, in one INSERT ... SELECT: under the
            # rule's exclusive lock only this statement adds the rule's tag, so its rows
            # are the tag's rows with ids from the first to the last returned (ids grow:
            # every earlier insert of the tag committed before the lock was granted).
            ids = [int(r[0]) for r in added]
            events = insert_from_select(
                session,
                TagEvent,
                ["patient_id", "tag_id", "action", "rule_id", "at", "reason"],
                sa.select(
                    col(PatientTag.patient_id),
                    col(PatientTag.tag_id),
                    sa.literal(TagAction.ADDED.value),
                    col(PatientTag.rule_id),
                    col(PatientTag.added_at),
                    sa.literal(""),
                ).where(
                    col(PatientTag.tenant_id) == tid,
                    col(PatientTag.tag_id) == rule.tag_id,
                    col(PatientTag.id).between(min(ids), max(ids)),
                ),
                returning=(col(TagEvent.id), col(TagEvent.patient_id), col(TagEvent.tag_id)),
            )
        stale = session.execute(
            delete(PatientTag)
            .where(
                col(PatientTag.tag_id) == rule.tag_id,
                sa.not_(
                    select(sa.literal(1))
                    .where(
                        col(Patient.tenant_id) == col(PatientTag.tenant_id),
                        col(Patient.id) == col(PatientTag.patient_id),
                        clause,
                    )
                    .exists()
                ),
            )
            .returning(col(PatientTag.patient_id))
            .execution_options(synchronize_session=False)
        ).all()
    to_add = [int(r[1]) for r in added]
    to_remove = sorted(int(r[0]) for r in stale)
    insert_rows(
        session,
        TagEvent,
        [
            {
                "patient_id": pid,
                "tag_id": rule.tag_id,
                "action": TagAction.REMOVED.value,
                "rule_id": pk(rule),
                "at": now,
                "reason": "",
            }
            for pid in to_remove
        ],
    )
    fire_tags_added(session, events, now=now)  # automations on "tag added"
    matched = session.exec(
        select(func.count()).select_from(PatientTag).where(col(PatientTag.tag_id) == rule.tag_id)
    ).one()
    rule.matched = int(matched)
    rule.evaluated_at = now
    session.add(rule)
    session.flush()
    return RuleRun(added=len(to_add), removed=len(to_remove), matched=rule.matched)


def _rule_tag(rule: TagRule, patient_id: int, now: datetime) -> PatientTag:
    return PatientTag(
        patient_id=patient_id,
        tag_id=rule.tag_id,
        source=TagSource.RULE,
        rule_id=pk(rule),
        added_at=now,
    )


def _rule_event(rule: TagRule, patient_id: int, action: TagAction, now: datetime) -> TagEvent:
    return TagEvent(
        patient_id=patient_id, tag_id=rule.tag_id, action=action, rule_id=pk(rule), at=now
    )


def _evaluate_for(
    session: TenantSession, rule: TagRule, patient_ids: list[int], now: datetime
) -> RuleRun:
    """The rule for a few patients under the shared lock: each change on its own,
    so two hooks for the same patient at once make it once (the second insert
    meets the unique key, the second delete finds nothing) with one history row.
    The rule's ``matched`` count is left to the full runs (counting every holder
    and writing the rule row would make each hook as costly as a full run)."""
    clause = compile_conditions(rule_conditions(rule), context(session, now))
    added = removed = 0
    new_events: list[TagEvent] = []
    for chunk in _chunks(patient_ids):
        matching = {
            int(i or 0)
            for i in session.exec(
                select(col(Patient.id)).where(clause, col(Patient.id).in_(chunk))
            ).all()
        }
        holding = {
            int(i)
            for i in session.exec(
                select(PatientTag.patient_id).where(
                    col(PatientTag.tag_id) == rule.tag_id, col(PatientTag.patient_id).in_(chunk)
                )
            ).all()
        }
        for pid in sorted(matching - holding):
            try:
                with session.begin_nested():
                    session.add(_rule_tag(rule, pid, now))
                    session.flush()
            except IntegrityError:
                continue  # another transaction tagged this patient meanwhile
            event = _rule_event(rule, pid, TagAction.ADDED, now)
            session.add(event)
            new_events.append(event)
            added += 1
        for pid in sorted(holding - matching):
            gone = session.execute(
                delete(PatientTag).where(
                    col(PatientTag.tag_id) == rule.tag_id, col(PatientTag.patient_id) == pid
                )
            )
            if not getattr(gone, "rowcount", 0):
                continue  # another transaction untagged this patient meanwhile
            session.add(_rule_event(rule, pid, TagAction.REMOVED, now))
            removed += 1
    session.flush()
    fire_tags_added(session, new_events, now=now)  # automations on "tag added"
    return RuleRun(added=added, removed=removed, matched=rule.matched)


def reevaluate_for_patient(*, session: TenantSession, patient_id: int, now: datetime) -> int:
    """Every active rule, for one patient (after something about them changed);
    returns how many of their tags changed."""
    rule_ids = session.exec(
        select(TagRule.id).where(col(TagRule.active).is_(True)).order_by(col(TagRule.id))
    ).all()
    changed = 0
    for rid in rule_ids:
        assert rid is not None
        run = evaluate_rule(session=session, rule_id=rid, now=now, patient_ids=[patient_id])
        changed += run.added + run.removed
    return changed


def evaluate_all(*, session: TenantSession, now: datetime) -> RuleRun:
    """Every active rule of the session's tenant (the nightly run)."""
    rule_ids = session.exec(
        select(TagRule.id).where(col(TagRule.active).is_(True)).order_by(col(TagRule.id))
    ).all()
    added = removed = matched = 0
    for rid in rule_ids:
        assert rid is not None
        run = evaluate_rule(session=session, rule_id=rid, now=now)
        added += run.added
        removed += run.removed
        matched += run.matched
    return RuleRun(added=added, removed=removed, matched=matched)
