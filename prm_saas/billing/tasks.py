"""Celery task of platform billing.

beat (every 10 minutes) -> billing.cycle (platform level): retry the tenants'
Stripe accounts that could not be made at sign-up, close every billing period
that has ended (usage on the invoice, trial ends, renewal invoices made and
paid, the period advanced) and suspend the tenants past due beyond the grace
period (``prm_saas.billing.engine.run_cycle``). Each account is closed in a
transaction of its own under its row's lock, so a cycle that overlaps the next
(or a second worker's) bills nothing twice.

The task takes an optional ``now`` (ISO 8601) so tests drive the clock; beat
sends none and the current time is used.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from prm_saas.billing.engine import run_cycle
from prm_saas.celery_app import app
from tenants.types import utcnow

log = logging.getLogger(__name__)

CYCLE_EXPIRES_S = 9 * 60


def _at(now: str | None) -> datetime:
    if not now:
        return utcnow()
    at = datetime.fromisoformat(now)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


@app.task(name="billing.cycle")
def cycle(now: str | None = None) -> dict[str, object]:
    """One run of the billing cycle at ``now`` (ISO; default: the current time)."""
    report = run_cycle(now=_at(now)).as_dict()
    log.info("billing cycle: %s", report)
    return report
