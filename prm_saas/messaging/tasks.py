"""Celery tasks of the messaging engine.

beat (every minute) -> messaging.dispatch_due: one dispatch per tenant, staggered
  -> messaging.dispatch_tenant (TenantTask): claims due rows in batches
    -> messaging.send_batch (TenantTask): delivers a batch of ids

The database is the queue of record: a task only says "look at these ids".
A lost task (worker SIGKILLed) leaves rows whose lease runs out; the next
dispatch claims them again. Claims are conditional updates, so beat firing
twice, or a task delivered twice, sends nothing twice.
"""

from __future__ import annotations

import logging

from prm_saas.celery_app import TenantTask, app, tenant_id_batches
from prm_saas.messaging.delivery import deliver_batch
from prm_saas.messaging.outbox import claim_due
from tenants.context import current_tenant_id
from tenants.db import tenant_session
from tenants.models import TenantStatus
from tenants.types import utcnow

log = logging.getLogger(__name__)

# Rows claimed per dispatch transaction: big enough that a tenant with a
# backlog is drained in few round trips, small enough that the claiming
# transaction (and its row locks) stays well under a second.
CLAIM_BATCH = 1000
# Messages per send task: one SMTP connection and one HTTP pool serve the whole
# batch, and a lost task strands at most this many rows until their lease ends.
SEND_BATCH = 50
# Tenant dispatches are spread over this many seconds so a thousand tenants do
# not hit the database and the providers in the same second every minute.
STAGGER_WINDOW_S = 20
# A dispatch still queued after this long is superseded by the next minute's.
DISPATCH_EXPIRES_S = 55
ACTIVE = (TenantStatus.TRIAL, TenantStatus.ACTIVE, TenantStatus.PAST_DUE)


@app.task(name="messaging.send_batch", base=TenantTask)
def send_batch(message_ids: list[int]) -> dict[str, int]:
    """Deliver these claimed messages of the current tenant."""
    tid = current_tenant_id()
    assert tid is not None
    ids = [int(i) for i in message_ids][: SEND_BATCH * 2]
    return deliver_batch(tenant_id=tid, message_ids=ids).counts


@app.task(name="messaging.dispatch_tenant", base=TenantTask)
def dispatch_tenant() -> int:
    """Claim the current tenant's due messages and send them in batches."""
    tid = current_tenant_id()
    assert tid is not None
    total = 0
    while True:
        with tenant_session(tid) as session:
            ids = claim_due(session, now=utcnow(), limit=CLAIM_BATCH)
        for start in range(0, len(ids), SEND_BATCH):
            send_batch.apply_async((ids[start : start + SEND_BATCH],), tenant_id=tid)
        total += len(ids)
        if len(ids) < CLAIM_BATCH:
            return total


@app.task(name="messaging.dispatch_due")
def dispatch_due() -> int:
    """Beat entry point (every minute): one dispatch per tenant that may send."""
    sent = 0
    with app.producer_or_acquire() as producer:
        for batch in tenant_id_batches(statuses=ACTIVE):
            for tid in batch:
                dispatch_tenant.apply_async(
                    tenant_id=tid,
                    countdown=tid % STAGGER_WINDOW_S,
                    expires=DISPATCH_EXPIRES_S + STAGGER_WINDOW_S,
                    producer=producer,
                )
                sent += 1
    log.info("messaging: dispatch sent to %d tenants", sent)
    return sent
