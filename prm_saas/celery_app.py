"""The one Celery app of the product, the tenant-carrying task base, and the fan-out helper.

Broker: the kombu SQLAlchemy transport on a SQLite file under var/ by default
(no server to run on a laptop), Redis when REDIS_URL (or CELERY_BROKER_URL) is
set; see prm_saas.settings. There is no result backend: tasks report through
the database, nobody waits on a task's return value.

Tenancy: a task whose work belongs to one tenant uses ``base=TenantTask``. The
tenant travels in the message headers under ``TENANT_HEADER``: it is taken from
the sender's tenant context (tenants.context) or from an explicit
``tenant_id=`` given by platform-level code, never from task arguments. On the
worker, ``TenantTask.__call__`` reads the header and runs the task body inside
``tenant_context(tid)``, so ``tenants.db.tenant_session()`` opened by the body
is bound to that tenant. A tenant task with no tenant fails, on the sender and
again on the worker; it never runs at platform level by accident.

Start a worker with scripts/celery.sh (worker + embedded beat for local use;
the production form is documented there).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

from celery import Celery, Task
from celery.schedules import crontab
from celery.signals import worker_process_init
from kombu import Connection
from sqlmodel import col, select

from prm_saas.settings import get_settings
from tenants.context import current_tenant_id, tenant_context
from tenants.db import get_engine, platform_session
from tenants.errors import CrossTenantWrite, NoTenantContext
from tenants.models import Tenant, TenantStatus
from tenants.settings import VAR_DIR

log = logging.getLogger(__name__)

#: The message header that carries the tenant id of a TenantTask.
TENANT_HEADER = "prm_tenant_id"

#: Every module that defines tasks; the worker imports these at start.
TASK_MODULES = (
    "prm_saas.housekeeping.tasks",
    "prm_saas.messaging.tasks",
    "prm_saas.booking.tasks",
    "prm_saas.challenges.tasks",
    "prm_saas.membership.tasks",
    "prm_saas.tags.tasks",
    "prm_saas.campaigns.tasks",
    "prm_saas.automations.tasks",
    "prm_saas.dashboards.tasks",
    "prm_saas.billing.tasks",
)

#: Tenants read per query when fanning out. Each batch is one short keyset query
#: on the primary key (no OFFSET, no long-lived transaction holding a snapshot
#: while messages are published) and is published over one broker connection.
#: 500 ids keep a batch to a few KB and well under a second of publishing, so
#: even 10,000 tenants take only 20 queries.
FAN_OUT_BATCH_SIZE = 500

#: How long /api/health waits for the broker before calling it unreachable.
BROKER_CHECK_TIMEOUT_S = 2.0

#: Redis redelivers a message not acknowledged within this many seconds to another
#: worker. With acks_late a message is acknowledged after its task finishes, so this
#: must exceed the longest task run plus the longest countdown/ETA we use (ours run
#: for seconds, and far-future work is kept as database rows picked up by beat, not
#: as ETA messages). One hour also bounds how long a task lost with a crashed worker
#: waits before it runs again.
REDIS_VISIBILITY_TIMEOUT_S = 3600


def _is_redis(url: str) -> bool:
    return url.startswith(("redis://", "rediss://", "redis+socket://"))


def transport_options_for(url: str) -> dict[str, Any]:
    """The broker transport options this product uses for a broker URL."""
    # Only Redis takes these: the SQLAlchemy transport hands its transport options
    # to create_engine(), which rejects unknown keywords.
    if _is_redis(url):
        return {
            "visibility_timeout": REDIS_VISIBILITY_TIMEOUT_S,
            "socket_connect_timeout": 5,
            "socket_keepalive": True,
            "health_check_interval": 30,
        }
    return {}


def _make_app() -> Celery:
    broker_url = get_settings().celery_broker_url
    celery = Celery("prm_saas", include=list(TASK_MODULES))
    celery.conf.update(
        broker_url=broker_url,
        broker_transport_options=transport_options_for(broker_url),
        broker_connection_retry_on_startup=True,
        # No result backend: task outcomes are database rows; return values are only logged.
        result_backend=None,
        task_ignore_result=True,
        # JSON only: a pickled message from a compromised producer would be code execution.
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        event_serializer="json",
        timezone="UTC",
        enable_utc=True,
        # Acknowledge after the task ran, so a worker that dies mid-task leaves the
        # message to be delivered again; tasks are written to be idempotent for that.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # A running acks_late task is redelivered after a broker connection loss
        # anyway; cancelling it avoids running it twice at the same time.
        worker_cancel_long_running_tasks_on_connection_loss=True,
        # Reserve one message per process: with acks_late, prefetched messages would
        # wait behind a long task instead of going to an idle worker.
        worker_prefetch_multiplier=1,
        # A hung task (a stuck SMTP or payment call) must not hold a slot forever.
        # Enforced by the prefork pool; -P solo cannot interrupt a task.
        task_soft_time_limit=300,
        task_time_limit=360,
        # Embedded beat (worker -B) and `celery beat` both keep their schedule here.
        beat_schedule_filename=str(VAR_DIR / "celerybeat-schedule"),
        beat_schedule={
            # At :17 rather than :00, when hourly jobs everywhere else start.
            # Due reminders and queued messages of every tenant, every minute.
            "messaging-dispatch-due": {
                "task": "messaging.dispatch_due",
                "schedule": 60.0,
                "options": {"expires": 55},
            },
            # Unpaid holds and lapsed waiting-list offers of every tenant, every minute.
            "booking-expire-due": {
                "task": "booking.expire_due",
                "schedule": 60.0,
                "options": {"expires": 55},
            },
            # Challenge nudges for yesterday's missed check-ins, daily at 01:23 UTC
            # (09:23 in China); "yesterday" is each tenant's own local day.
            "challenges-nudge-daily": {
                "task": "challenges.nudge_due",
                "schedule": crontab(hour=1, minute=23),
                "options": {"expires": 20 * 60 * 60},
            },
            # The membership day of every tenant (points expiry at the tenant's local
            # midnight, birthdays, levels, pre-expiry notices), hourly at :07 so each
            # zone's day is handled soon after it starts; repeats in a day do nothing.
            "membership-daily": {
                "task": "membership.daily_due",
                "schedule": crontab(minute=7),
                "options": {"expires": 50 * 60},
            },
            # Tag rules of every tenant, nightly at 19:37 UTC (03:37 in China), so
            # "days since the last visit" and ages follow the calendar.
            "tags-nightly": {
                "task": "tags.nightly_due",
                "schedule": crontab(hour=19, minute=37),
                "options": {"expires": 20 * 60 * 60},
            },
            # Due automation enrollments of every tenant, every minute.
            "automations-tick": {
                "task": "automations.tick",
                "schedule": 60.0,
                "options": {"expires": 55},
            },
            # Birthday / points-expiring / no-visit journeys, hourly at :27 so each
            # tenant's local day is scanned soon after it starts; repeats enroll nobody.
            "automations-daily": {
                "task": "automations.daily_due",
                "schedule": crontab(minute=27),
                "options": {"expires": 50 * 60},
            },
            # Campaign runs of every tenant: start due runs, release within the
            # throttle, daily cap and quiet hours, every minute.
            "campaigns-tick": {
                "task": "campaigns.tick",
                "schedule": 60.0,
                "options": {"expires": 55},
            },
            # Dashboard roll-up of every tenant, hourly at :43: finished local days
            # (the trailing 14 recomputed) and the platform's usage rows.
            "dashboards-rollup": {
                "task": "dashboards.rollup",
                "schedule": crontab(minute=43),
                "options": {"expires": 50 * 60},
            },
            # Platform billing, every 10 minutes: ended periods billed (usage, trial
            # ends, renewals), Stripe accounts retried, past due beyond grace suspended.
            "billing-cycle": {
                "task": "billing.cycle",
                "schedule": 600.0,
                "options": {"expires": 9 * 60},
            },
            "housekeeping-sweep-hourly": {
                "task": "housekeeping.sweep",
                "schedule": crontab(minute=17),
                # A sweep that waited most of an hour in the queue (workers down) is
                # superseded by the next one: drop it instead of piling them up.
                "options": {"expires": 50 * 60},
            },
        },
    )
    return celery


app = _make_app()


@worker_process_init.connect
def _fresh_db_pool_in_child(**_kwargs: Any) -> None:
    """A forked pool process must not share the parent's pooled database connections."""
    get_engine().dispose(close=False)


# --- tenant-carrying tasks --------------------------------------------------------------


def _valid_tenant_id(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise NoTenantContext(f"bad tenant id {value!r} in the {TENANT_HEADER} header")
    return value


def tenant_headers(
    task_name: str, tenant_id: int | None, headers: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The message headers of a tenant task: ``headers`` plus the tenant.

    The tenant is ``tenant_id`` if given (or already in ``headers``, as on a
    retry or an eager run), else the current tenant context. Only platform-level
    code may name a tenant explicitly; inside a tenant context naming another
    tenant is refused.
    """
    current = current_tenant_id()
    named = {
        t
        for t in (_valid_tenant_id(tenant_id), _valid_tenant_id((headers or {}).get(TENANT_HEADER)))
        if t is not None
    }
    if len(named) > 1 or (current is not None and named and named != {current}):
        raise CrossTenantWrite(
            f"task {task_name} for tenant(s) {sorted(named)} sent from tenant {current}'s context"
        )
    tid = named.pop() if named else current
    if tid is None:
        raise NoTenantContext(
            f"tenant task {task_name} sent with no tenant: send it inside a tenant "
            "context or pass tenant_id= from platform-level code"
        )
    return {**(headers or {}), TENANT_HEADER: tid}


def tenant_of_request(request: Any) -> int | None:
    """The tenant id in a task request's headers, or None."""
    value = getattr(request, TENANT_HEADER, None)
    if value is None:
        # Eager runs (Task.apply) keep custom headers under request.headers only.
        value = (getattr(request, "headers", None) or {}).get(TENANT_HEADER)
    return _valid_tenant_id(value)


class TenantTask(Task):
    """Base class of every task whose work belongs to one tenant.

    Send it like any task (``.delay()``, ``.apply_async()``, a signature) from
    code running in a tenant context, or from platform-level code with
    ``apply_async(..., tenant_id=...)``. The body runs with that tenant as the
    current tenant. Arguments are ids, never ORM objects.
    """

    def apply_async(
        self,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        task_id: str | None = None,
        producer: Any = None,
        link: Any = None,
        link_error: Any = None,
        shadow: str | None = None,
        *,
        tenant_id: int | None = None,
        **options: Any,
    ) -> Any:
        """Send the task with the tenant in its headers (see ``tenant_headers``)."""
        options["headers"] = tenant_headers(self.name, tenant_id, options.get("headers"))
        return super().apply_async(
            args, kwargs, task_id, producer, link, link_error, shadow, **options
        )

    def apply(
        self,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        *,
        tenant_id: int | None = None,
        **options: Any,
    ) -> Any:
        """Run the task in this process (eager), with the tenant as for ``apply_async``."""
        options["headers"] = tenant_headers(self.name, tenant_id, options.get("headers"))
        return super().apply(args, kwargs, **options)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # The worker's tracer calls this with the message's request on the stack. A
        # plain function call in-process (called_directly) runs in the caller's tenant.
        request = self.request
        tid = current_tenant_id() if request.called_directly else tenant_of_request(request)
        if tid is None:
            raise NoTenantContext(
                f"tenant task {self.name} received with no {TENANT_HEADER} header; refusing "
                "to run it at platform level"
            )
        with tenant_context(tid):
            return super().__call__(*args, **kwargs)


# --- the scheduler pattern: one task per tenant ------------------------------------------------


def tenant_id_batches(
    *, statuses: Collection[TenantStatus] | None = None, batch_size: int = FAN_OUT_BATCH_SIZE
) -> Iterator[list[int]]:
    """Ids of every tenant (or of those in ``statuses``), ascending, in batches.

    Keyset pagination on the primary key, one short platform transaction per
    batch: tenants created while this runs are picked up if their id is higher.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    after = 0
    while True:
        stmt = select(Tenant.id).where(col(Tenant.id) > after)
        if statuses is not None:
            stmt = stmt.where(col(Tenant.status).in_([str(s) for s in statuses]))
        with platform_session() as s:
            rows = s.exec(stmt.order_by(col(Tenant.id)).limit(batch_size)).all()
        batch = [i for i in rows if i is not None]
        if not batch:
            return
        yield batch
        if len(batch) < batch_size:
            return
        after = batch[-1]


def enqueue_per_tenant(
    task: TenantTask,
    tenant_ids: Collection[int],
    *,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    **options: Any,
) -> int:
    """Send ``task`` once for each tenant id, over one broker connection; returns the count."""
    if current_tenant_id() is not None:
        raise CrossTenantWrite("fanning out over tenants is done at platform level only")
    with app.producer_or_acquire() as producer:
        for tid in tenant_ids:
            task.apply_async(args, kwargs, tenant_id=tid, producer=producer, **options)
    return len(tenant_ids)


def fan_out(
    task: TenantTask,
    *,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    statuses: Collection[TenantStatus] | None = None,
    batch_size: int = FAN_OUT_BATCH_SIZE,
    **options: Any,
) -> int:
    """Send ``task`` once per tenant (optionally only tenants in ``statuses``), batch by batch.

    Called by a beat task at platform level; each tenant's work then runs in its
    own TenantTask with that tenant's context, so one tenant's failure or size
    never holds up another. Returns the number of tasks sent.
    """
    sent = 0
    for batch in tenant_id_batches(statuses=statuses, batch_size=batch_size):
        sent += enqueue_per_tenant(task, batch, args=args, kwargs=kwargs, **options)
    log.info("fanned out %s to %d tenants", task.name, sent)
    return sent


# --- health ---------------------------------------------------------------------------------


def broker_ok(url: str | None = None, *, timeout: float = BROKER_CHECK_TIMEOUT_S) -> bool:
    """Whether the broker accepts a connection and answers a queue query, within ``timeout``.

    One attempt, no retry loop (kombu's default would sleep and retry). The
    default queue is declared, which any producer does anyway; for the SQLAlchemy
    transport that is what actually touches the database.
    """
    target = url or str(app.conf.broker_url)
    options = dict(transport_options_for(target))
    if _is_redis(target):
        options.update(socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        # A plain kombu Connection: app.connection_for_write() would merge in the
        # app's transport options, which belong to the app's broker, not ``target``.
        with Connection(
            target,
            connect_timeout=timeout,
            transport_options=options,
            ssl=app.conf.broker_use_ssl,
        ) as conn:
            conn.ensure_connection(max_retries=0, timeout=timeout)
            conn.default_channel.queue_declare(queue=app.conf.task_default_queue)
        return True
    except Exception as exc:
        log.warning("broker check failed: %s", type(exc).__name__)
        return False
