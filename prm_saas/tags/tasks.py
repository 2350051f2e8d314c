"""Celery tasks of tags.

beat (nightly) -> tags.nightly_due: one task per active tenant
  -> tags.nightly_tenant (TenantTask): every active rule of the tenant, each in
     its own transaction (one rule's failure does not undo the others), at the
     current time, so time-based conditions (age, days since the last visit,
     windows of N days) move with the tenant's calendar.

Evaluation is idempotent: a second run in a night changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlmodel import col, select

from prm_saas.celery_app import TenantTask, app, fan_out
from prm_saas.messaging.tasks import ACTIVE
from prm_saas.tags.models import TagRule
from prm_saas.tags.services import evaluate_rule
from tenants.context import current_tenant_id
from tenants.db import tenant_session
from tenants.types import utcnow

log = logging.getLogger(__name__)

# A nightly run still queued after this long is superseded by the next night's.
NIGHTLY_EXPIRES_S = 20 * 60 * 60


@dataclass(frozen=True)
class NightResult:
    """What one tenant's nightly run did."""

    rules: int
    added: int
    removed: int
    failed: int

    def as_dict(self) -> dict[str, int]:
        """For the task result and the log."""
        return asdict(self)


def run_tenant(*, tenant_id: int, now: datetime) -> NightResult:
    """Every active rule of ``tenant_id`` at ``now``, one transaction per rule."""
    with tenant_session(tenant_id) as session:
        rule_ids = [
            int(r or 0)
            for r in session.exec(
                select(TagRule.id).where(col(TagRule.active).is_(True)).order_by(col(TagRule.id))
            ).all()
        ]
    added = removed = failed = 0
    for rid in rule_ids:
        try:
            with tenant_session(tenant_id) as session:
                run = evaluate_rule(session=session, rule_id=rid, now=now)
        except Exception:
            log.exception("tag rule %s of tenant %s failed", rid, tenant_id)
            failed += 1
            continue
        added += run.added
        removed += run.removed
    return NightResult(rules=len(rule_ids), added=added, removed=removed, failed=failed)


@app.task(name="tags.nightly_tenant", base=TenantTask)
def nightly_tenant() -> dict[str, int]:
    """The current tenant's rules at the current time."""
    tid = current_tenant_id()
    assert tid is not None
    result = run_tenant(tenant_id=tid, now=utcnow()).as_dict()
    log.info("tag rules of tenant %s: %s", tid, result)
    return result


@app.task(name="tags.nightly_due")
def nightly_due() -> int:
    """Beat entry point (nightly): one run of the tag rules per active tenant."""
    return fan_out(nightly_tenant, statuses=ACTIVE, expires=NIGHTLY_EXPIRES_S)
