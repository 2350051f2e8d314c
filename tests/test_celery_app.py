"""The Celery app in-process: the tenant header, refusals, eager runs, fan-out, config."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from celery.app.task import Context
from kombu import Connection
from sqlmodel import select

from prm_saas.audit.models import AuditEvent
from prm_saas.celery_app import (
    TASK_MODULES,
    TENANT_HEADER,
    app,
    fan_out,
    tenant_id_batches,
    tenant_of_request,
)
from tenants.context import tenant_context
from tenants.db import tenant_session
from tenants.errors import CrossTenantWrite, NoTenantContext
from tenants.models import TenantStatus
from tests.celery_probe import PROBE_ACTION, probe_tenant
from tests.factories import World, make_tenant


@pytest.fixture
def memory_broker() -> Iterator[Connection]:
    """An in-process broker whose messages the test can read back."""
    with Connection("memory://") as conn:
        yield conn
        conn.default_channel.queue_purge(app.conf.task_default_queue)


@pytest.fixture
def eager() -> Iterator[None]:
    """Tasks run in this process when sent (still through apply_async and the headers)."""
    old = {k: app.conf[k] for k in ("task_always_eager", "task_eager_propagates")}
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield
    app.conf.update(old)


def probes(tenant_id: int) -> list[dict[str, object]]:
    """The details of every probe run recorded in one tenant."""
    with tenant_session(tenant_id) as s:
        rows = s.exec(select(AuditEvent).where(AuditEvent.action == PROBE_ACTION)).all()
        return [json.loads(r.details) for r in rows]


def test_the_tenant_travels_in_the_message_headers_not_in_the_args(
    world: World, memory_broker: Connection
) -> None:
    # given code running in tenant A's context
    # when it sends a tenant task
    with tenant_context(world.a.id):
        probe_tenant.apply_async(("x",), connection=memory_broker)
    # then the message carries A in its headers and only the task's own arguments
    message = memory_broker.SimpleQueue(app.conf.task_default_queue).get(timeout=2)
    assert message.headers[TENANT_HEADER] == world.a.id
    assert message.headers["task"] == "tests.probe_tenant"
    args, kwargs, _embed = message.decode()
    assert (args, kwargs) == (["x"], {})
    # and a signature (as used in chains and groups) carries it the same way
    with tenant_context(world.b.id):
        probe_tenant.s("y").apply_async(connection=memory_broker)
    message = memory_broker.SimpleQueue(app.conf.task_default_queue).get(timeout=2)
    assert message.headers[TENANT_HEADER] == world.b.id


def test_a_tenant_task_sent_with_no_tenant_is_refused_before_sending(
    world: World, memory_broker: Connection
) -> None:
    # given platform-level code with no tenant context
    # when it sends a tenant task without naming a tenant, then it fails at once
    with pytest.raises(NoTenantContext):
        probe_tenant.apply_async(("x",), connection=memory_broker)
    with pytest.raises(NoTenantContext):
        probe_tenant.delay("x")
    # and nothing reached the broker
    queue = memory_broker.SimpleQueue(app.conf.task_default_queue)
    assert queue.qsize() == 0


def test_naming_another_tenant_from_a_tenant_context_is_refused(
    world: World, memory_broker: Connection
) -> None:
    # given code running in tenant A's context
    # when it names tenant B explicitly, then it is refused
    with tenant_context(world.a.id), pytest.raises(CrossTenantWrite):
        probe_tenant.apply_async(("x",), tenant_id=world.b.id, connection=memory_broker)
    # but naming its own tenant is fine
    with tenant_context(world.a.id):
        probe_tenant.apply_async(("x",), tenant_id=world.a.id, connection=memory_broker)
    message = memory_broker.SimpleQueue(app.conf.task_default_queue).get(timeout=2)
    assert message.headers[TENANT_HEADER] == world.a.id


@pytest.mark.parametrize("forged", ["1", 1.0, True, 0, -3, [1]])
def test_a_tenant_header_that_is_not_a_positive_int_is_refused(forged: object) -> None:
    with pytest.raises(NoTenantContext):
        tenant_of_request(Context({TENANT_HEADER: forged}))


@pytest.mark.usefixtures("eager")
def test_an_eager_run_happens_in_the_senders_tenant(world: World) -> None:
    # given tenant B's context, when a tenant task is sent in eager mode
    with tenant_context(world.b.id):
        probe_tenant.delay("eager")
    # then the body ran in B, seeing only B's rows
    assert probes(world.b.id) == [
        {
            "tag": "eager",
            "context_tenant": world.b.id,
            "session_tenant": world.b.id,
            "patient_tenants": [world.b.id],
        }
    ]
    assert probes(world.a.id) == []


def test_a_direct_call_runs_in_the_callers_tenant_and_needs_one(world: World) -> None:
    # when the task function is called directly inside tenant A's context, it runs in A
    with tenant_context(world.a.id):
        probe_tenant("direct")
    assert [p["context_tenant"] for p in probes(world.a.id)] == [world.a.id]
    # and with no tenant it refuses to run
    with pytest.raises(NoTenantContext):
        probe_tenant("nowhere")
    assert probes(world.b.id) == []


@pytest.mark.usefixtures("eager")
def test_fan_out_sends_one_task_per_tenant_batch_by_batch(world: World) -> None:
    # given three tenants
    c = make_tenant("clinic-c")
    # when a platform-level scheduler fans a tenant task out in batches of two
    sent = fan_out(probe_tenant, args=("fan",), batch_size=2)
    # then each tenant got exactly one run, in its own context
    assert sent == 3
    for tid in (world.a.id, world.b.id, c.id):
        assert [(p["tag"], p["context_tenant"]) for p in probes(tid)] == [("fan", tid)]


def test_tenant_id_batches_page_by_id_and_filter_by_status(world: World) -> None:
    c = make_tenant("clinic-c", status=TenantStatus.SUSPENDED)
    d = make_tenant("clinic-d")
    assert list(tenant_id_batches(batch_size=2)) == [[world.a.id, world.b.id], [c.id, d.id]]
    assert list(tenant_id_batches(batch_size=3)) == [[world.a.id, world.b.id, c.id], [d.id]]
    active = list(tenant_id_batches(statuses=[TenantStatus.ACTIVE], batch_size=10))
    assert active == [[world.a.id, world.b.id, d.id]]


@pytest.mark.usefixtures("eager")
def test_fan_out_is_refused_inside_a_tenant_context(world: World) -> None:
    with tenant_context(world.a.id), pytest.raises(CrossTenantWrite):
        fan_out(probe_tenant, args=("x",))
    assert probes(world.b.id) == []


def test_every_task_has_an_explicit_name_and_beat_names_registered_tasks() -> None:
    # given the app with every task module imported
    app.loader.import_default_modules()
    ours = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}
    # then no name is the auto-generated module path (names survive refactors)
    assert "housekeeping.sweep" in ours
    assert "housekeeping.sweep_tenant" in ours
    for name, task in ours.items():
        assert name != f"{task.__module__}.{task.__name__}"
    assert set(TASK_MODULES) <= set(app.conf.include)
    # and every beat entry points at a registered task
    for entry in app.conf.beat_schedule.values():
        assert entry["task"] in ours


def test_the_app_is_configured_for_at_least_once_delivery_with_json_only() -> None:
    conf = app.conf
    assert app.main == "prm_saas"
    assert conf.task_acks_late
    assert conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.accept_content == ["json"]
    assert conf.task_serializer == "json"
    assert conf.timezone == "UTC"
