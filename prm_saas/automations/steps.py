"""Checking an automation's trigger and steps as the manager typed them.

Steps arrive as a list of dicts (the editor's rows):

- ``{"type": "wait", "days": 3, "hours": 0}``
- ``{"type": "message", "channel": "sms", "subject": "", "body": "...",
  "content_id": 12}`` (``content_id`` when the row was loaded from a saved
  version; the wording is what counts)
- ``{"type": "branch", "expr": "VIP AND NOT 流失", "conditions": [...],
  "when_match": "continue" | "exit"}``: the patient matches when the tag
  expression (``prm_saas.audiences.expr``) and every tag-rule condition
  (``prm_saas.tags.conditions``) hold; a non-matching patient takes the other
  way. At least one of the two must be given.

Errors are per field: ``steps.<i>.<field>`` (``steps.<i>.expr`` carries the
caret ``position``), ``trigger_params.<name>``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from prm_saas.audiences import expr as tag_expr
from prm_saas.automations.models import StepKind, Trigger
from prm_saas.messaging.content import check_content
from prm_saas.messaging.models import Channel
from prm_saas.tags.conditions import validate_conditions
from prm_saas.tags.models import Tag
from prm_saas.validation import Checker
from tenants.db import TenantSession
from tenants.errors import FieldErrors

MAX_STEPS = 20
MAX_WAIT_DAYS = 365
MAX_TRIGGER_DAYS = 3650
DEFAULT_NO_VISIT_DAYS = 365
WHEN_MATCH = ("continue", "exit")

# The parameters of each trigger: name -> (lowest, highest, default or None = required).
TRIGGER_PARAMS: dict[Trigger, dict[str, tuple[int, int, int | None]]] = {
    Trigger.TAG_ADDED: {"tag_id": (1, 2**31 - 1, None)},
    Trigger.PATIENT_JOINED: {},
    Trigger.BOOKING_COMPLETED: {},
    Trigger.DAYS_AFTER_CHECKUP: {"days": (0, MAX_TRIGGER_DAYS, None)},
    Trigger.BIRTHDAY: {},
    Trigger.POINTS_EXPIRING: {"days_before": (0, 365, None)},
    Trigger.NO_VISIT: {"days": (1, MAX_TRIGGER_DAYS, DEFAULT_NO_VISIT_DAYS)},
}


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def clean_trigger(
    session: TenantSession, ck: Checker, trigger: object, params: object
) -> tuple[Trigger | None, dict[str, int]]:
    """The trigger and its parameters (errors into ``ck``)."""
    try:
        trig = Trigger(str(trigger))
    except ValueError:
        ck.fail("trigger", "automations.field.trigger_invalid")
        return None, {}
    given = params if isinstance(params, dict) else {}
    cleaned: dict[str, int] = {}
    for name, (lo, hi, default) in TRIGGER_PARAMS[trig].items():
        raw = given.get(name)
        if raw is None or raw == "":
            if default is None:
                ck.fail(f"trigger_params.{name}", "field.required")
            else:
                cleaned[name] = default
            continue
        number = _int(raw)
        if number is None or not lo <= number <= hi:
            ck.fail(f"trigger_params.{name}", "automations.field.number_invalid", min=lo, max=hi)
            continue
        cleaned[name] = number
    if (
        trig == Trigger.TAG_ADDED
        and "tag_id" in cleaned
        and session.exec(select(Tag.id).where(col(Tag.id) == cleaned["tag_id"])).first() is None
    ):
        ck.fail("trigger_params.tag_id", "automations.field.tag_unknown")
    return trig, cleaned


@dataclass(frozen=True)
class MessageText:
    """The wording of a message step (saved as a content row)."""

    channel: Channel
    subject: str
    body: str
    link: str = ""


def clean_steps(
    session: TenantSession, ck: Checker, raw: object
) -> list[dict[str, Any] | MessageText]:
    """The steps; a message step comes back as its ``MessageText`` (the service
    saves it as content and stores the content id)."""
    items: object = raw
    if isinstance(raw, str):
        try:
            items = json.loads(raw)
        except ValueError:
            items = None
    if not isinstance(items, list) or not items:
        ck.fail("steps", "automations.field.steps_required")
        return []
    if len(items) > MAX_STEPS:
        ck.fail("steps", "automations.field.steps_too_many", max=MAX_STEPS)
        return []
    tag_ids: dict[str, int] | None = None
    out: list[dict[str, Any] | MessageText] = []
    has_message = False
    for i, item in enumerate(items):
        prefix = f"steps.{i}"
        step = item if isinstance(item, dict) else {}
        kind = step.get("type")
        if kind == StepKind.WAIT:
            days = _int(step.get("days") or 0)
            hours = _int(step.get("hours") or 0)
            if days is None or not 0 <= days <= MAX_WAIT_DAYS:
                ck.fail(
                    f"{prefix}.days", "automations.field.number_invalid", min=0, max=MAX_WAIT_DAYS
                )
            if hours is None or not 0 <= hours <= 23:
                ck.fail(f"{prefix}.hours", "automations.field.number_invalid", min=0, max=23)
            if days == 0 and hours == 0:
                ck.fail(f"{prefix}.days", "automations.field.wait_empty")
            out.append({"type": StepKind.WAIT.value, "days": days or 0, "hours": hours or 0})
        elif kind == StepKind.MESSAGE:
            has_message = True
            try:
                channel = Channel(str(step.get("channel")))
            except ValueError:
                ck.fail(f"{prefix}.channel", "automations.field.channel_invalid")
                continue
            subject = str(step.get("subject") or "").strip()
            body = str(step.get("body") or "").strip()
            link = ck.url(f"{prefix}.link", str(step.get("link") or ""), required=False)
            try:
                check_content(channel, subject, body)
            except FieldErrors as exc:
                for name, (key, params) in exc.errors.items():
                    ck.fail(f"{prefix}.{name}", key, **params)
                continue
            out.append(MessageText(channel=channel, subject=subject, body=body, link=link))
        elif kind == StepKind.BRANCH:
            text = str(step.get("expr") or "").strip()
            conditions = step.get("conditions") or []
            if not text and not conditions:
                ck.fail(f"{prefix}.expr", "automations.field.branch_empty")
                continue
            if text:
                if tag_ids is None:
                    tag_ids = tenant_tag_ids(session)
                try:
                    tag_expr.check_tags(tag_expr.parse(text), tag_ids)
                except tag_expr.ExprError as exc:
                    ck.fail(f"{prefix}.expr", exc.key, position=exc.position, **exc.params)
                    continue
            cleaned_conditions: list[dict[str, Any]] = []
            if conditions:
                try:
                    cleaned_conditions = validate_conditions(session, conditions)
                except FieldErrors as exc:
                    for name, (key, params) in exc.errors.items():
                        ck.fail(f"{prefix}.{name}", key, **params)
                    continue
            when = step.get("when_match") or "continue"
            if when not in WHEN_MATCH:
                ck.fail(f"{prefix}.when_match", "field.choice_invalid")
                continue
            out.append(
                {
                    "type": StepKind.BRANCH.value,
                    "expr": text,
                    "conditions": cleaned_conditions,
                    "when_match": when,
                }
            )
        else:
            ck.fail(f"{prefix}.type", "automations.field.step_invalid")
    if items and not has_message and "steps" not in ck.errors:
        ck.fail("steps", "automations.field.no_message")
    return out


def tenant_tag_ids(session: TenantSession) -> dict[str, int]:
    """The session tenant's tag names and ids."""
    return {name: int(tid or 0) for tid, name in session.exec(select(Tag.id, Tag.name)).all()}
