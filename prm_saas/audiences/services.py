"""Saved audiences: who matches a tag expression and attribute filters, and who of
them may be reached on a channel.

Counting, sampling and the campaign snapshot share one set-based query
(``_match``): the expression compiled to EXISTS clauses on ``patient_tag``
(``expr.compile_sql``) and the filters compiled by the tag-rule registry
(``tags.conditions``), both inside the tenant session's wall. ``reach`` adds what
a marketing message on a channel needs: the channel switched on for the
tenant, an address on it, consent not withdrawn, the channel not blocked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from prm_saas.accounts.authz import Permission, Principal, require_staff
from prm_saas.accounts.models import AccountStatus, Patient
from prm_saas.audiences.expr import ExprError, Node, compile_sql, parse
from prm_saas.audiences.models import Audience
from prm_saas.audit.services import record
from prm_saas.messaging.models import Channel, ContactPreference
from prm_saas.messaging.preferences import messaging_settings
from prm_saas.tags.conditions import compile_conditions, context, validate_conditions
from prm_saas.tags.models import Tag
from prm_saas.validation import Checker
from tenants.db import TenantSession
from tenants.errors import DomainError, FieldErrors
from tenants.lookup import get_or_404
from tenants.types import utcnow

SAMPLE_SIZE = 10
NAME_MAX = 60
DESCRIPTION_MAX = 200


@dataclass(frozen=True)
class Definition:
    """A checked audience definition: the parsed expression and the cleaned filters."""

    expression: str
    node: Node | None
    filters: list[dict[str, Any]]


@dataclass(frozen=True)
class AudiencePreview:
    """How many patients match now, up to ten of them, and how many each channel reaches."""

    count: int
    sample: list[tuple[int, str]]  # (patient id, name)
    reachable: dict[str, int]  # channel -> patients a marketing message reaches


def _filters_list(filters: object) -> object:
    if isinstance(filters, str):
        try:
            return json.loads(filters or "[]")
        except ValueError:
            return filters
    return filters


def define(session: TenantSession, expression: str, filters: object) -> Definition:
    """Check an expression and filters (FieldErrors on ``expression`` with the
    caret's ``position``, or on ``conditions.<i>...``); one of them is needed."""
    text = (expression or "").strip()
    items = _filters_list(filters)
    cleaned = validate_conditions(session, items) if items not in (None, [], "") else []
    node: Node | None = None
    if text:
        try:
            node = parse(text)
            compile_sql(node, _tag_ids(session))  # unknown tags, at their position
        except ExprError as exc:
            raise FieldErrors(
                {"expression": (exc.key, {**exc.params, "position": exc.position})}
            ) from None
    elif not cleaned:
        raise FieldErrors.single("expression", "audience.definition_required")
    return Definition(expression=text, node=node, filters=cleaned)


def _tag_ids(session: TenantSession) -> dict[str, int]:
    return {name: int(tid) for tid, name in session.exec(select(Tag.id, Tag.name)).all() if tid}


def _match(session: TenantSession, definition: Definition, now: datetime) -> sa.ColumnElement[bool]:
    clauses: list[sa.ColumnElement[bool]] = [col(Patient.status) != AccountStatus.DISABLED]
    if definition.node is not None:
        clauses.append(compile_sql(definition.node, _tag_ids(session)))
    if definition.filters:
        clauses.append(compile_conditions(definition.filters, context(session, now)))
    return sa.and_(*clauses)


def reach(session: TenantSession, channel: Channel) -> sa.ColumnElement[bool]:
    """Patients a marketing message on ``channel`` may reach now (a clause on Patient)."""
    settings = messaging_settings(session)
    if (channel == Channel.EMAIL and not settings.email_enabled) or (
        channel == Channel.SMS and not settings.sms_enabled
    ):
        return sa.false()
    pref = (
        select(sa.literal(1))
        .where(
            col(ContactPreference.tenant_id) == col(Patient.tenant_id),
            col(ContactPreference.patient_id) == col(Patient.id),
            col(ContactPreference.channel) == channel,
        )
        .correlate(Patient)
    )
    refused = pref.where(
        sa.or_(col(ContactPreference.blocked), sa.not_(col(ContactPreference.marketing)))
    ).exists()
    consent = (
        sa.not_(refused)
        if settings.marketing_default
        else pref.where(
            col(ContactPreference.marketing), sa.not_(col(ContactPreference.blocked))
        ).exists()
    )
    if channel == Channel.EMAIL:
        return sa.and_(col(Patient.email).is_not(None), col(Patient.email) != "", consent)
    if channel == Channel.SMS:
        return sa.and_(col(Patient.phone).is_not(None), col(Patient.phone) != "", consent)
    return consent


def _preview(session: TenantSession, definition: Definition, now: datetime) -> AudiencePreview:
    match = _match(session, definition, now)
    count = session.exec(select(func.count()).select_from(Patient).where(match)).one()
    sample = session.exec(
        select(Patient.id, Patient.name).where(match).order_by(col(Patient.id)).limit(SAMPLE_SIZE)
    ).all()
    reachable = {
        str(ch): int(
            session.exec(
                select(func.count()).select_from(Patient).where(match, reach(session, ch))
            ).one()
        )
        for ch in Channel
    }
    return AudiencePreview(
        count=int(count), sample=[(int(i or 0), n) for i, n in sample], reachable=reachable
    )


def preview_audience(
    *,
    session: TenantSession,
    actor: Principal | None,
    expression: str,
    filters: object = (),
    now: datetime | None = None,
) -> AudiencePreview:
    """The live count as the builder is edited (nothing is written)."""
    require_staff(session, actor, Permission.CAMPAIGNS_MANAGE)
    return _preview(session, define(session, expression, list(_as_list(filters))), now or utcnow())


def _as_list(filters: object) -> list[Any]:
    items = _filters_list(filters)
    if isinstance(items, list | tuple):
        return list(items)
    if items in (None, ""):
        return []
    return [items]  # validate_conditions names what is wrong with it


def audience_preview(
    *,
    session: TenantSession,
    actor: Principal | None,
    audience_id: int,
    now: datetime | None = None,
) -> AudiencePreview:
    """The count, sample and reach of a saved audience now."""
    require_staff(session, actor, Permission.CAMPAIGNS_MANAGE)
    audience = get_or_404(session, Audience, audience_id)
    return _preview(session, _stored(session, audience), now or utcnow())


def _stored(session: TenantSession, audience: Audience) -> Definition:
    return define(session, audience.expression, audience.filters)


def audience_ids(
    session: TenantSession, *, audience_id: int, channel: Channel, now: datetime | None = None
) -> SelectOfScalar[int | None]:
    """The ids of the patients of a saved audience a marketing message on ``channel``
    reaches now: what a campaign snapshots when a send starts (``INSERT ... SELECT``).

    No actor: the caller (a campaign's start, already checked) is trusted; another
    tenant's audience is not found, and every clause is inside the tenant's wall.
    """
    audience = get_or_404(session, Audience, audience_id)
    match = _match(session, _stored(session, audience), now or utcnow())
    return select(col(Patient.id)).where(
        col(Patient.tenant_id) == session.tenant_id, match, reach(session, channel)
    )


# --- saved audiences ----------------------------------------------------------------


def _clean(
    session: TenantSession,
    audience_id: int | None,
    name: str,
    description: str,
    expression: str,
    filters: object,
) -> tuple[str, str, Definition]:
    ck = Checker()
    name = ck.text("name", name, max_len=NAME_MAX)
    description = ck.text("description", description, max_len=DESCRIPTION_MAX, required=False)
    definition: Definition | None = None
    try:
        definition = define(session, expression, _as_list(filters))
    except FieldErrors as exc:
        for field, (key, params) in exc.errors.items():
            ck.fail(field, key, **params)
    if name:
        clash = session.exec(
            select(Audience.id).where(Audience.name == name, col(Audience.id) != (audience_id or 0))
        ).first()
        if clash is not None:
            ck.fail("name", "audience.name_taken")
    ck.raise_if_any()
    assert definition is not None
    return name, description, definition


def list_audiences(*, session: TenantSession, actor: Principal | None) -> list[Audience]:
    """The tenant's saved audiences, by name."""
    require_staff(session, actor, Permission.CAMPAIGNS_MANAGE)
    return list(session.exec(select(Audience).order_by(col(Audience.name))).all())


def get_audience(*, session: TenantSession, actor: Principal | None, audience_id: int) -> Audience:
    """One saved audience of this tenant."""
    require_staff(session, actor, Permission.CAMPAIGNS_MANAGE)
    return get_or_404(session, Audience, audience_id)


def create_audience(
    *,
    session: TenantSession,
    actor: Principal | None,
    name: str,
    expression: str,
    filters: object = (),
    description: str = "",
) -> Audience:
    """Save an audience definition (checked: names, expression, filters)."""
    principal = require_staff(session, actor, Permission.CAMPAIGNS_MANAGE)
    name, description, definition = _clean(session, None, name, description, expression, filters)
    now = utcnow()
    audience = Audience(
        name=name,
        description=description,
        expression=definition.expression,
        filters=json.dumps(definition.filters, ensure_ascii=False),
        created_by_staff_id=principal.id,
        created_at=now,
        updated_at=now,
    )
    session.add(audience)
    session.flush()
    record(
        session,
        actor=principal,
        action="audience.create",
        target_type="audience",
        target_id=audience.id,
        details={"name": name},
    )
    return audience


def update_audience(
    *,
    session: TenantSession,
    actor: Principal | None,
    audience_id: int,
    name: str,
    expression: str,
    filters: object = (),
    description: str = "",
) -> Audience:
    """Change a saved audience; campaigns snapshot it when their next send starts."""
    principal = require_staff(session, actor, Permission.CAMPAIGNS_MANAGE)
    audience = get_or_404(session, Audience, audience_id)
    name, description, definition = _clean(
        session, audience_id, name, description, expression, filters
    )
    audience.name, audience.description = name, description
    audience.expression = definition.expression
    audience.filters = json.dumps(definition.filters, ensure_ascii=False)
    audience.updated_at = utcnow()
    session.add(audience)
    session.flush()
    record(
        session,
        actor=principal,
        action="audience.update",
        target_type="audience",
        target_id=audience.id,
        details={"name": name},
    )
    return audience


class AudienceInUse(DomainError):
    """A campaign still targets the audience."""

    key = "audience.in_use"


def delete_audience(*, session: TenantSession, actor: Principal | None, audience_id: int) -> None:
    """Delete a saved audience no campaign uses."""
    principal = require_staff(session, actor, Permission.CAMPAIGNS_MANAGE)
    audience = get_or_404(session, Audience, audience_id)
    name = audience.name
    try:
        with session.begin_nested():
            session.delete(audience)
            session.flush()
    except IntegrityError:
        raise AudienceInUse() from None
    record(
        session,
        actor=principal,
        action="audience.delete",
        target_type="audience",
        target_id=audience_id,
        details={"name": name},
    )
