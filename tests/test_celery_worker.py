"""A real Celery worker process: the tenant travels in the headers, a task without one
fails, and the beat sweep reaches every tenant.

Each test runs against the SQLAlchemy broker on a SQLite file, and again against
Redis when REDIS_URL is set (scripts/redis.sh start && eval "$(scripts/redis.sh env)").
The worker uses the test database (DATABASE_URL) and imports tests.celery_probe.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

import pytest
from kombu import Connection
from sqlmodel import col, select

from prm_saas.accounts.models import LoginThrottle, OperatorSession, PrincipalKind, UserSession
from prm_saas.audit.models import AuditEvent, PlatformAuditEvent
from prm_saas.celery_app import app, transport_options_for
from tenants.context import tenant_context
from tenants.db import platform_session, tenant_session
from tenants.models import TenantStatus
from tenants.types import utcnow
from tests.celery_probe import FAILURE_ACTION, PROBE_ACTION, probe_retry, probe_tenant
from tests.factories import World, make_tenant

# kombu's SQLAlchemy transport still uses a loader strategy SQLAlchemy 2.1 deprecates.
pytestmark = [
    pytest.mark.celery,
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
]

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


@dataclass(frozen=True)
class Worker:
    """A running test worker and the broker it consumes from."""

    broker_url: str
    log: Path


def wait_for(check: Callable[[], T], *, timeout: float = 20.0, what: str = "") -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.1)


@contextmanager
def broker(url: str) -> Iterator[Connection]:
    """A connection to the test broker, to send tasks over (apply_async(connection=...))."""
    with Connection(url, transport_options=transport_options_for(url)) as conn:
        yield conn


@pytest.fixture(scope="module", params=["sqla", "redis"])
def worker(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, database: str
) -> Iterator[Worker]:
    """`celery worker -P solo` in a subprocess on the test database and a test broker."""
    tmp = tmp_path_factory.mktemp(f"celery-{request.param}")
    if request.param == "sqla":
        url = f"sqla+sqlite:///{tmp / 'broker.sqlite'}"
    else:
        url = os.environ.get("REDIS_URL", "")
        if not url:
            pytest.skip(
                "REDIS_URL is not set (scripts/redis.sh start; eval $(scripts/redis.sh env))"
            )
    with broker(url) as conn:
        # Leftovers of an interrupted earlier run must not reach this database.
        conn.default_channel.queue_declare(queue=app.conf.task_default_queue)
        conn.default_channel.queue_purge(app.conf.task_default_queue)
    log = tmp / "worker.log"
    env = {**os.environ, "CELERY_BROKER_URL": url, "PYTHONPATH": str(ROOT), "PRM_VAR_DIR": str(tmp)}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "prm_saas.celery_app",
                "worker",
                "-P",
                "solo",
                "-I",
                "tests.celery_probe",
                "-l",
                "INFO",
                "-n",
                f"test-{os.getpid()}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(
            lambda: " ready." in log.read_text() or proc.poll() is not None,
            timeout=60,
            what="the worker to start",
        )
        assert proc.poll() is None, log.read_text()
        yield Worker(broker_url=url, log=log)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def probe_events(tenant_id: int) -> list[AuditEvent]:
    """What tests.probe_tenant recorded in one tenant."""
    with tenant_session(tenant_id) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == PROBE_ACTION)).all())


def failures(task_name: str) -> list[PlatformAuditEvent]:
    """Failures of ``task_name`` the worker reported."""
    with platform_session() as s:
        return list(
            s.exec(
                select(PlatformAuditEvent).where(
                    PlatformAuditEvent.action == FAILURE_ACTION,
                    PlatformAuditEvent.target_type == task_name,
                )
            ).all()
        )


def test_a_tenant_task_runs_in_the_tenant_it_was_sent_from(world: World, worker: Worker) -> None:
    # given two tenants with a patient each
    # when a tenant task is sent from code running in tenant A's context
    with broker(worker.broker_url) as conn, tenant_context(world.a.id):
        probe_tenant.apply_async(("sent-in-a",), connection=conn)
    # then it ran with A as the current tenant, saw only A's rows and wrote into A
    (event,) = wait_for(lambda: probe_events(world.a.id), what="the probe in tenant A")
    assert event.tenant_id == world.a.id
    assert json.loads(event.details) == {
        "tag": "sent-in-a",
        "context_tenant": world.a.id,
        "session_tenant": world.a.id,
        "patient_tenants": [world.a.id],
    }
    assert probe_events(world.b.id) == []


def test_an_explicit_tenant_from_platform_code_travels_too(world: World, worker: Worker) -> None:
    # given platform-level code (no tenant context)
    # when it sends a tenant task naming tenant B
    with broker(worker.broker_url) as conn:
        probe_tenant.apply_async(("for-b",), tenant_id=world.b.id, connection=conn)
    # then the task ran in B
    (event,) = wait_for(lambda: probe_events(world.b.id), what="the probe in tenant B")
    assert json.loads(event.details)["context_tenant"] == world.b.id
    assert json.loads(event.details)["patient_tenants"] == [world.b.id]
    assert probe_events(world.a.id) == []


def test_a_retried_tenant_task_keeps_its_tenant(world: World, worker: Worker) -> None:
    # given a tenant task that retries once before doing its work
    # when it is sent from tenant B's context
    with broker(worker.broker_url) as conn, tenant_context(world.b.id):
        probe_retry.apply_async(("b",), connection=conn)
    # then the retry ran in B too
    (event,) = wait_for(lambda: probe_events(world.b.id), what="the retried probe in B")
    details = json.loads(event.details)
    assert details["tag"] == "b-retry-1"
    assert details["context_tenant"] == world.b.id
    assert details["patient_tenants"] == [world.b.id]
    assert failures("tests.probe_retry") == []


def test_a_tenant_task_without_a_tenant_fails_on_the_worker(world: World, worker: Worker) -> None:
    # given a message for a tenant task with no tenant header (sent by name, bypassing
    # TenantTask.apply_async, as a foreign or buggy producer would)
    with broker(worker.broker_url) as conn:
        app.send_task("tests.probe_tenant", args=("no-tenant",), connection=conn)
        # and afterwards a good one, to know the worker got past the bad one
        with tenant_context(world.a.id):
            probe_tenant.apply_async(("after",), connection=conn)
    # when the worker has taken both
    wait_for(lambda: probe_events(world.a.id), what="the probe sent after the bad message")
    # then the bad one failed loudly and never ran, in any tenant or at platform level
    (failure,) = wait_for(lambda: failures("tests.probe_tenant"), what="the failure")
    assert json.loads(failure.details)["error"] == "NoTenantContext"
    assert [json.loads(e.details)["tag"] for e in probe_events(world.a.id)] == ["after"]
    assert probe_events(world.b.id) == []


def _only_live_session_left(tenant_id: int) -> bool:
    with tenant_session(tenant_id) as s:
        return list(s.exec(select(UserSession.token_hash)).all()) == [f"live-{tenant_id}"]


def test_the_beat_sweep_reaches_every_tenant_and_the_platform(world: World, worker: Worker) -> None:
    # given an ended and a live session in each of three tenants (one suspended),
    # and a stale and a fresh login throttle
    c = make_tenant("clinic-c", status=TenantStatus.SUSPENDED)
    now = utcnow()
    tenants = [world.a.id, world.b.id, c.id]
    for tid in tenants:
        with tenant_session(tid) as s:
            for name, expires in (
                ("old", now - timedelta(days=60)),
                ("live", now + timedelta(days=1)),
            ):
                s.add(
                    UserSession(
                        token_hash=f"{name}-{tid}",
                        principal_id=1,
                        principal_kind=PrincipalKind.PATIENT,
                        expires_at=expires,
                    )
                )
    with platform_session() as s:
        s.add(LoginThrottle(key="op:stale", failures=3, last_failure_at=now - timedelta(days=2)))
        s.add(LoginThrottle(key="op:fresh", failures=3, last_failure_at=now))
        s.add(
            OperatorSession(
                token_hash="op-old",
                principal_id=world.operator.id,
                expires_at=now - timedelta(days=60),
            )
        )
    # when beat's hourly task runs on the worker
    with broker(worker.broker_url) as conn:
        app.send_task("housekeeping.sweep", connection=conn)
    # then every tenant lost its ended session and kept its live one
    for tid in tenants:
        wait_for(partial(_only_live_session_left, tid), what=f"tenant {tid} swept")

    # and the platform rows were swept
    def platform_swept() -> bool:
        with platform_session() as s:
            keys = s.exec(select(LoginThrottle.key).order_by(col(LoginThrottle.key))).all()
            ops = s.exec(select(OperatorSession)).all()
        return list(keys) == ["op:fresh"] and ops == []

    wait_for(platform_swept, what="the platform sweep")
    assert failures("housekeeping.sweep_tenant") == []
    assert failures("housekeeping.sweep") == []
