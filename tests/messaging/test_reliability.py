"""Each message exactly once, with a real Celery worker on Redis that is killed mid-run.

The tests marked ``celery`` start ``celery -A prm_saas.celery_app worker`` subprocesses on the
test database (DATABASE_URL) and a Redis broker (REDIS_URL; a database of that
server of their own, flushed before and after, so a killed worker's unacked
task can never reach another test). The providers are real local servers: an
aiosmtpd SMTP server (tests/smtp_sink.py) and the HTTP SMS provider of
tests/sms_provider.py, which deduplicates on the Idempotency-Key header.

PRM_MESSAGING_LEASE_S is 5 s for the workers and the tests, so work lost with a
killed worker is claimed again within seconds instead of five minutes.

Run them with Redis (scripts/test.sh does, in its PostgreSQL pass):

    scripts/redis.sh start && eval "$(scripts/redis.sh env)" && .venv/bin/pytest -m celery
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from kombu import Connection
from sqlmodel import col, func, select

from prm_saas.accounts.models import Patient, Sex
from prm_saas.celery_app import transport_options_for
from prm_saas.messaging.channels import Outbound
from prm_saas.messaging.delivery import deliver_batch
from prm_saas.messaging.models import (
    Category,
    Channel,
    Message,
    MessageStatus,
    UsageCounter,
)
from prm_saas.messaging.outbox import claim_due, enqueue
from prm_saas.messaging.tasks import dispatch_due, dispatch_tenant
from tenants.db import tenant_session
from tenants.resolution import TenantInfo
from tenants.types import utcnow
from tests.factories import World, make_admin, make_tenant
from tests.sms_provider import SmsProvider, connect_tenant
from tests.smtp_sink import MailSink

ROOT = Path(__file__).resolve().parents[2]
LEASE_S = 5
# A database of the Redis server of its own (see the module docstring).
REDIS_DB = 13
REMINDER = {"title": "复诊", "when": "2026-12-01 09:30", "note": "请携带既往检查报告。"}
T = TypeVar("T")


# --- the broker, the workers ------------------------------------------------------------


@pytest.fixture
def broker_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A Redis database of its own, empty before and after the test."""
    url = os.environ.get("REDIS_URL", "")
    if not url:
        pytest.skip(
            "needs Redis: REDIS_URL is not set (scripts/redis.sh start; "
            'eval "$(scripts/redis.sh env)")'
        )
    parts = urlsplit(url)
    if parts.scheme in ("redis", "rediss"):
        url = urlunsplit(parts._replace(path=f"/{REDIS_DB}"))
    client = redis.Redis.from_url(url)
    client.flushdb()
    monkeypatch.setenv("PRM_MESSAGING_LEASE_S", str(LEASE_S))
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


@dataclass
class Workers:
    """Celery worker subprocesses of one test, all on the same broker and database."""

    broker_url: str
    tmp: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def start(self, *pool: str) -> subprocess.Popen[bytes]:
        """Start a worker (``-P solo`` unless ``pool`` says otherwise); wait until ready."""
        n = len(self.procs) + 1
        log = self.tmp / f"worker-{n}.log"
        env = {
            **os.environ,
            "CELERY_BROKER_URL": self.broker_url,
            "PYTHONPATH": str(ROOT),
            "PRM_VAR_DIR": str(self.tmp),
            "PRM_MESSAGING_LEASE_S": str(LEASE_S),
        }
        with log.open("w") as out:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "prm_saas.celery_app",
                    "worker",
                    *(pool or ("-P", "solo")),
                    "-l",
                    "INFO",
                    "-n",
                    f"reliability-{os.getpid()}-{n}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.procs.append(proc)
        self.logs.append(log)
        wait_for(
            lambda: " ready." in log.read_text() or proc.poll() is not None,
            timeout=60,
            what=f"worker {n} to start",
        )
        assert proc.poll() is None, log.read_text()
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL: no warm shutdown, no acknowledgement, no cleanup of any kind."""
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        """Warm shutdown of every worker still running."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def log_tail(self, chars: int = 3000) -> str:
        """The end of every worker's log, for a failure message."""
        return "\n".join(f"--- {p.name}\n{p.read_text()[-chars:]}" for p in self.logs)


@pytest.fixture
def workers(broker_url: str, tmp_path: Path) -> Iterator[Workers]:
    """Starts workers on demand; stops whatever still runs at the end."""
    w = Workers(broker_url=broker_url, tmp=tmp_path)
    try:
        yield w
    finally:
        w.stop_all()


def wait_for(check: Callable[[], T], *, timeout: float, what: str, every: float = 0.1) -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


@contextmanager
def broker(url: str) -> Iterator[Connection]:
    """A connection to the test broker, to send tasks over."""
    with Connection(url, transport_options=transport_options_for(url)) as conn:
        yield conn


def beat(url: str, tenant_ids: list[int]) -> None:
    """What beat's dispatch does for these tenants, without the stagger: one
    ``messaging.dispatch_tenant`` each (the test cannot wait 20 seconds a round)."""
    with broker(url) as conn:
        for tid in tenant_ids:
            dispatch_tenant.apply_async(tenant_id=tid, connection=conn)


# --- data ----------------------------------------------------------------------------------


def add_patients(tenant: TenantInfo, n: int) -> list[Patient]:
    """``n`` patients with a phone and an email (no password: they never sign in here)."""
    with tenant_session(tenant.id) as s:
        patients = [
            Patient(
                name=f"患者{i}",
                phone=f"+86139{tenant.id:03d}{i:05d}",
                email=f"p{i}@{tenant.slug}.test",
                sex=Sex.UNKNOWN,
            )
            for i in range(n)
        ]
        s.add_all(patients)
        s.flush()
        return patients


def add_due_reminders(
    tenant: TenantInfo, patients: list[Patient], n: int, channels: tuple[Channel, ...]
) -> None:
    """``n`` urgent reminders due now, round-robin over ``patients`` and ``channels``.

    The rows are what ``outbox.enqueue`` writes (the same fields, the patient's
    address and name); they are added with one ``add_all`` because enqueueing
    10,000 one by one would take most of the test's time budget.
    """
    now = utcnow()
    rows = []
    for i in range(n):
        patient, channel = patients[i % len(patients)], channels[i % len(channels)]
        assert patient.id is not None
        rows.append(
            Message(
                patient_id=patient.id,
                to_address=(patient.email if channel == Channel.EMAIL else patient.phone) or "",
                channel=channel,
                category=Category.TRANSACTIONAL,
                urgent=True,  # quiet hours would hold them at night
                template_key="care.reminder",
                locale="zh-CN",
                variables=json.dumps(
                    {"patient_name": patient.name, **REMINDER}, ensure_ascii=False
                ),
                dedupe_key=f"reliability:{i}",
                source="test",
                status=MessageStatus.SCHEDULED,
                due_at=now,
                created_at=now,
                updated_at=now,
            )
        )
    with tenant_session(tenant.id) as s:
        s.add_all(rows)


def statuses(tenant_ids: list[int]) -> Counter[str]:
    """Messages of these tenants by status."""
    out: Counter[str] = Counter()
    for tid in tenant_ids:
        with tenant_session(tid) as s:
            for status, n in s.exec(
                select(Message.status, func.count()).group_by(col(Message.status))
            ).all():
                out[str(status)] += int(n)
    return out


def ids_in(tenant_ids: list[int], status: MessageStatus) -> set[str]:
    """Idempotency keys of the messages now in ``status``."""
    keys = set()
    for tid in tenant_ids:
        with tenant_session(tid) as s:
            for mid in s.exec(select(Message.id).where(Message.status == status)).all():
                keys.add(f"prm-{tid}-{mid}")
    return keys


def all_keys(tenant_ids: list[int], channel: Channel) -> set[str]:
    """Idempotency keys of every message on ``channel``."""
    keys = set()
    for tid in tenant_ids:
        with tenant_session(tid) as s:
            for mid in s.exec(select(Message.id).where(Message.channel == channel)).all():
                keys.add(f"prm-{tid}-{mid}")
    return keys


def usage(tenant_ids: list[int]) -> Counter[str]:
    """Messages counted for billing, by channel."""
    out: Counter[str] = Counter()
    for tid in tenant_ids:
        with tenant_session(tid) as s:
            for row in s.exec(select(UsageCounter)).all():
                out[str(row.channel)] += row.count
    return out


def mail_keys(sink: MailSink) -> Counter[str]:
    """Message-IDs as the SMTP server received them, raw (a resend counts twice)."""
    ids = Counter()
    for m in sink.messages:
        found = re.fullmatch(r"<(prm-\d+-\d+)@prm\.localhost>", str(m.message["Message-ID"]))
        assert found, m.message["Message-ID"]
        ids[found.group(1)] += 1
    return ids


def sms_keys(provider: SmsProvider) -> Counter[str]:
    """Idempotency keys of the messages the SMS provider accepted (a repeat is no message)."""
    return Counter(m.idempotency_key for m in provider.messages)


def tenants_with_sms(n: int, provider: SmsProvider) -> list[TenantInfo]:
    """``n`` tenants, each with its own account at ``provider``."""
    tenants = [make_tenant(f"rel-{i}") for i in range(n)]
    for t in tenants:
        connect_tenant(t, make_admin(t), provider)
    return tenants


# --- the tests -------------------------------------------------------------------------------


@pytest.mark.celery
def test_killed_workers_lose_nothing_and_send_nothing_twice(
    workers: Workers, smtp_sink: MailSink, sms_provider: SmsProvider
) -> None:
    """10,000 due reminders of 10 tenants (half email, half SMS), one solo worker at a
    time, SIGKILLed three times: once during the fan-out, twice during the sends.

    The guarantee demonstrated, per channel:

    - every message ends ``sent`` and is counted once in the tenant's usage;
    - SMS: exactly once at the provider. A killed worker leaves its batch's rows
      ``sending``; when their lease (5 s here) runs out, beat claims them again and
      they are sent again under the same Idempotency-Key, which the provider
      answers without sending. Each key is accepted exactly once;
    - email: no loss, and at most one raw duplicate per kill, carrying the same
      Message-ID. SMTP has no idempotency key: the server has the message once it
      answers 250 to DATA, the outbox row says so once the worker commits right
      after. A worker killed between the two leaves that one row ``sending``, and
      it is sent again. The engine commits each email's outcome on its own right
      after the reply, so the window holds one message, and a solo worker has
      one message in flight: at most one duplicate per kill, and it is a message
      that was ``sending`` when the worker died. Nothing can close that window
      without a deduplicating mail provider; the fixed Message-ID lets mail clients
      collapse the copy.
    """
    tenants = tenants_with_sms(10, sms_provider)
    tids = [t.id for t in tenants]
    for t in tenants:
        add_due_reminders(t, add_patients(t, 20), 1_000, (Channel.EMAIL, Channel.SMS))
    total = 10_000
    expected_mail, expected_sms = all_keys(tids, Channel.EMAIL), all_keys(tids, Channel.SMS)
    assert len(expected_mail) == len(expected_sms) == total // 2

    def delivered() -> int:
        return len(smtp_sink.messages) + len(sms_provider.messages)

    def first_tenant_claimed() -> bool:
        # Dispatches run in the order sent: the first tenant's claim is committed,
        # the other tenants' dispatches are still to come.
        return statuses(tids[:1])[MessageStatus.QUEUED] > 0

    kill_when: list[tuple[str, Callable[[], bool]]] = [
        ("during the fan-out", first_tenant_claimed),
        ("during the sends", lambda: delivered() >= total // 3),
        ("during the sends", lambda: delivered() >= 2 * total // 3),
    ]
    in_flight_at_kill: set[str] = set()
    kills: list[str] = []
    proc = workers.start()
    beat(workers.broker_url, tids)
    # The providers run in this process: the loop polls the database sparingly,
    # or they would wait for the GIL.
    # A bound on a hang, not a speed target (that is benchmarks/reminders.py): a loaded
    # machine needs well over the ~40 s a quiet one does.
    deadline = time.monotonic() + 300
    next_beat, next_poll = time.monotonic() + 1.5, 0.0
    while True:
        now = time.monotonic()
        assert now < deadline, f"{dict(statuses(tids))}; kills: {kills}\n{workers.log_tail()}"
        if kill_when and kill_when[0][1]():
            when, _check = kill_when.pop(0)
            workers.kill(proc)
            sending = ids_in(tids, MessageStatus.SENDING)
            in_flight_at_kill |= sending
            kills.append(f"{when}: {delivered()} delivered, {len(sending)} rows left sending")
            proc = workers.start()
            continue
        if now >= next_beat:
            beat(workers.broker_url, tids)  # what beat does every minute in production
            next_beat = now + 1.5
        if not kill_when and now >= next_poll:
            if statuses(tids)[MessageStatus.SENT] >= total:
                break
            next_poll = now + 1
        time.sleep(0.05)

    # then every message was sent, and billed once
    assert statuses(tids) == {MessageStatus.SENT: total}, workers.log_tail()
    assert usage(tids) == {"email": total // 2, "sms": total // 2}
    # and the SMS provider accepted each key exactly once: no loss, no duplicate
    accepted = sms_keys(sms_provider)
    assert set(accepted) == expected_sms
    assert max(accepted.values()) == 1
    repeated = {k: n for k, n in sms_provider.requests_per_key.items() if n > 1}
    # and every email arrived; a raw duplicate is the message a killed worker had in flight
    received = mail_keys(smtp_sink)
    assert set(received) == expected_mail
    duplicates = {k: n for k, n in received.items() if n > 1}
    assert sum(n - 1 for n in duplicates.values()) <= len(kills)
    assert set(duplicates) <= in_flight_at_kill
    for key in duplicates:
        copies = [m for m in smtp_sink.messages if key in str(m.message["Message-ID"])]
        assert len({(c.to, c.subject, c.body) for c in copies}) == 1  # the same message
    print(
        f"\n{total} messages, {len(kills)} kills ({'; '.join(kills)}); "
        f"SMS: {len(accepted)} accepted once each, {len(repeated)} keys sent again after a "
        f"kill and deduplicated by the provider; email: {sum(received.values())} received "
        f"for {len(received)} Message-IDs, raw duplicates {sorted(duplicates)}"
    )


def _dispatch_intervals(log: str) -> list[tuple[float, float]]:
    """(start, end) in seconds of every dispatch_tenant run the worker logged."""
    runs = []
    pattern = re.compile(
        r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}): INFO/[^\]]+\] "
        r"Task messaging\.dispatch_tenant\[[^\]]+\] succeeded in ([\d.]+)s"
    )
    for m in pattern.finditer(log):
        end = time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) + int(m.group(2)) / 1000
        runs.append((end - float(m.group(3)), end))
    return runs


@pytest.mark.celery
def test_beat_firing_twice_at_once_sends_each_message_once(
    workers: Workers, smtp_sink: MailSink, sms_provider: SmsProvider
) -> None:
    # given 1,500 due reminders in each of two tenants (more than one claim of
    # CLAIM_BATCH rows), half email, half SMS
    tenants = tenants_with_sms(2, sms_provider)
    tids = [t.id for t in tenants]
    for t in tenants:
        add_due_reminders(t, add_patients(t, 10), 1_500, (Channel.EMAIL, Channel.SMS))
    total = 3_000
    # and a worker running four tasks at a time: both dispatches of each tenant get a
    # process of their own even while send batches keep others busy (with two, a
    # dispatch could wait for a free process and run after its twin, not beside it)
    workers.start("-P", "prefork", "-c", "4")
    # when beat fires twice at once: both dispatches of a tenant come due together and
    # run side by side, each claiming and fanning out sends
    with broker(workers.broker_url) as conn:
        dispatch_due.apply_async(connection=conn)
        dispatch_due.apply_async(connection=conn)

    def done() -> bool:
        return statuses(tids)[MessageStatus.SENT] >= total

    wait_for(done, timeout=300, what="every message sent", every=0.25)  # a hang, not speed
    # then each message reached its provider exactly once
    assert statuses(tids) == {MessageStatus.SENT: total}
    assert Counter(sms_keys(sms_provider).values()) == {1: total // 2}
    assert Counter(mail_keys(smtp_sink).values()) == {1: total // 2}
    assert set(mail_keys(smtp_sink)) == all_keys(tids, Channel.EMAIL)
    assert usage(tids) == {"email": total // 2, "sms": total // 2}
    # and the two dispatches of a tenant did run at the same time
    runs = sorted(_dispatch_intervals(workers.logs[0].read_text()))
    assert len(runs) == 4, workers.log_tail()
    assert any(b[0] < a[1] for a, b in itertools.pairwise(runs)), runs


@pytest.mark.celery
def test_a_stale_reminder_expires_on_the_worker_and_is_never_sent(
    world: World, workers: Workers, smtp_sink: MailSink, sms_provider: SmsProvider
) -> None:
    # given, in both tenants, a reminder whose appointment has passed (the workers were
    # down) by email and by SMS, and a current one of each
    now = utcnow()
    fresh, stale = [], []
    for tenant, admin, patient in (
        (world.a, world.admin_a, world.patient_a),
        (world.b, world.admin_b, world.patient_b),
    ):
        connect_tenant(tenant, admin, sms_provider)
        with tenant_session(tenant.id) as s:
            for channel in (Channel.EMAIL, Channel.SMS):
                for key, expires, out in (
                    ("stale", now - timedelta(hours=1), stale),
                    ("fresh", now + timedelta(hours=1), fresh),
                ):
                    msg = enqueue(
                        s,
                        template_key="care.reminder",
                        channel=channel,
                        patient_id=patient.id,
                        variables=REMINDER,
                        dedupe_key=f"{key}-{channel}",
                        due_at=now - timedelta(hours=2),
                        expires_at=expires,
                        urgent=True,
                    )
                    out.append((tenant.id, msg.id))
    # when beat's dispatch reaches the worker
    workers.start()
    with broker(workers.broker_url) as conn:
        dispatch_due.apply_async(connection=conn)

    def final() -> bool:
        now = statuses([world.a.id, world.b.id])
        return now[MessageStatus.SENT] + now[MessageStatus.EXPIRED] == 8

    wait_for(final, timeout=60, what="all eight messages final", every=0.25)
    # then the stale ones expired and never reached a provider; the current ones were sent
    for tid, mid in stale + fresh:
        with tenant_session(tid) as s:
            msg = s.exec(select(Message).where(Message.id == mid)).one()
        if (tid, mid) in stale:
            assert (msg.status, msg.sent_at, msg.attempts) == (MessageStatus.EXPIRED, None, 0)
        else:
            assert msg.status == MessageStatus.SENT
    stale_keys = {f"prm-{tid}-{mid}" for tid, mid in stale}
    fresh_keys = {f"prm-{tid}-{mid}" for tid, mid in fresh}
    assert not stale_keys & set(mail_keys(smtp_sink))
    assert not stale_keys & set(sms_provider.requests_per_key)
    assert set(mail_keys(smtp_sink)) | set(sms_keys(sms_provider)) == fresh_keys
    assert usage([world.a.id, world.b.id]) == {"email": 2, "sms": 2}


class SlowMailServer:
    """An email adapter whose every send takes ``seconds`` (a slow SMTP relay)."""

    deduplicates = False

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.sent: list[str] = []

    def send(self, out: Outbound) -> str:
        time.sleep(self.seconds)
        self.sent.append(out.idempotency_key)
        return f"<{out.idempotency_key}@prm.localhost>"

    def close(self) -> None:
        pass


def test_a_batch_stops_sending_before_its_lease_could_run_out(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a 2 s lease, a mail server that takes 0.6 s a message, and three due emails
    monkeypatch.setenv("PRM_MESSAGING_LEASE_S", "2")
    slow = SlowMailServer(0.6)
    with tenant_session(world.a.id) as s:
        for i in range(3):
            enqueue(
                s,
                template_key="care.reminder",
                channel=Channel.EMAIL,
                patient_id=world.patient_a.id,
                variables=REMINDER,
                dedupe_key=f"slow-{i}",
                urgent=True,
            )
    with tenant_session(world.a.id) as s:
        ids = claim_due(s, now=utcnow(), limit=10)
    # when one batch delivers them
    result = deliver_batch(tenant_id=world.a.id, message_ids=ids, adapters=lambda _c: slow)
    # then no send started once half the lease was gone: the third is left unsent,
    # still "sending", so no other worker can take it before its lease runs out
    assert result.counts == {"sent": 2, "deferred": 1}
    assert statuses([world.a.id]) == {MessageStatus.SENT: 2, MessageStatus.SENDING: 1}
    assert ids_in([world.a.id], MessageStatus.SENDING).isdisjoint(slow.sent)
    with tenant_session(world.a.id) as s:
        assert claim_due(s, now=utcnow(), limit=10) == []
    # and once the lease has run out, the next dispatch sends it, once
    time.sleep(2)
    with tenant_session(world.a.id) as s:
        again = claim_due(s, now=utcnow(), limit=10)
    assert deliver_batch(
        tenant_id=world.a.id, message_ids=again, adapters=lambda _c: slow
    ).counts == {"sent": 1}
    assert sorted(slow.sent) == sorted(f"prm-{world.a.id}-{i}" for i in ids)
    assert statuses([world.a.id]) == {MessageStatus.SENT: 3}
