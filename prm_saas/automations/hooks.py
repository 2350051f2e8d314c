"""Where other capabilities tell automations that something happened.

``fire(session, trigger, patient_id, **context)`` runs in the caller's
transaction (an enrollment commits with the tag, the registration, the
completed visit that caused it) inside a savepoint, and never raises: a
failing automation must not undo a registration or a check-out. Failures are
logged and the savepoint is rolled back, nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from tenants.db import TenantSession
from tenants.types import utcnow

log = logging.getLogger(__name__)


def fire(
    session: TenantSession,
    trigger: str,
    patient_id: int,
    *,
    now: datetime | None = None,
    **context: Any,
) -> int:
    """Enroll the patient in the active automations of ``trigger`` (tag_added with
    ``tag_id`` and ``event_id``, patient_joined, booking_completed with
    ``booking_id``); returns how many enrollments were made (0 on any failure)."""
    try:
        from prm_saas.automations.engine import on_trigger
        from prm_saas.automations.models import Trigger

        with session.begin_nested():
            return on_trigger(session, Trigger(trigger), patient_id, now or utcnow(), **context)
    except Exception:
        log.exception("automation hook %s for patient %s failed", trigger, patient_id)
        return 0


def fire_tags_added(
    session: TenantSession, events: Iterable[Any], *, now: datetime | None = None
) -> int:
    """``fire`` for tag history rows just flushed (``TagEvent`` with ids): one query
    when no automation listens to tags, so bulk tagging stays cheap."""
    try:
        from prm_saas.automations.engine import active_automations
        from prm_saas.automations.models import Trigger

        with session.begin_nested():
            listening = bool(active_automations(session, Trigger.TAG_ADDED))
        if not listening:
            return 0
    except Exception:
        log.exception("automation hook tag_added failed")
        return 0
    return sum(
        fire(session, "tag_added", ev.patient_id, now=now, tag_id=ev.tag_id, event_id=ev.id)
        for ev in events
    )
