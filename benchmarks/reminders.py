"""Reminder throughput on PostgreSQL and Redis with one Celery worker (issue 3).

    scripts/pg.sh start && scripts/redis.sh start
    .venv/bin/python benchmarks/reminders.py            # prints the tables
    .venv/bin/python benchmarks/reminders.py --record   # also rewrites docs/benchmarks.md

One run, against the ``prm_bench`` database of scripts/pg.sh (rebuilt by the
Alembic migrations as the owner, loaded with COPY as the owner, used by the
worker as the app role under row-level security):

1. Baseline: Celery's own rate for a no-op task, on the same broker with the
   same worker settings (``-P solo``, acks_late, prefetch 1): a start marker,
   10,000 no-op tasks and an end marker are queued, then the worker drains them.
2. For each channel asked for (default: in-app, then SMS, then email): 100
   tenants x 1,000 due reminders in-app, 100 x 100 by SMS and by email
   (``care.reminder``, transactional, not urgent, quiet hours off so the figure
   does not depend on the time of day); one ``messaging.dispatch_tenant`` per
   tenant, as ``messaging.dispatch_due`` sends them every minute but without
   its 20 s stagger; then the time until the last message is sent (its
   ``sent_at``). Throughput = messages / (last sent_at - the moment the worker
   took a marker task queued just before the dispatches).
   - in-app: the engine alone (claims, consent, rendering, inbox row, status,
     usage counter), no network;
   - sms: the engine plus a local HTTP provider stub that deduplicates on the
     Idempotency-Key header (the figure an SMS tenant sees, minus the carrier);
   - email: the engine plus a local SMTP server (aiosmtpd), one SMTP session
     per batch.
   Afterwards every message must be ``sent``, and the sinks must have each one
   exactly once: duplicates and losses are counted and reported.

Ratio = messages per second / no-op tasks per second (target >= 0.5).

Environment (defaults follow scripts/pg.sh and scripts/redis.sh): PRM_PG_PORT
(55432), PRM_BENCH_DATABASE_URL (app role), PRM_BENCH_OWNER_URL (owner role),
PRM_REDIS_PORT (56379) or PRM_BENCH_REDIS_URL (default database 14 of that
server, flushed at the start of the run).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # runnable as a plain script from any directory

REDIS_URL = os.environ.get(
    "PRM_BENCH_REDIS_URL", f"redis://127.0.0.1:{os.environ.get('PRM_REDIS_PORT', '56379')}/14"
)
# prm_saas.settings reads these at import; the worker inherits them.
os.environ["CELERY_BROKER_URL"] = REDIS_URL
os.environ.setdefault("PRM_SECRET_KEY", "bench-secret-key")

import redis  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from benchmarks.common import DOCS, machine, rebuild_schema, record  # noqa: E402
from benchmarks.tenancy import (  # noqa: E402  (sets DATABASE_URL for tenants.settings)
    APP_URL,
    OWNER_URL,
    insert_tenants,
    owner_bulk_load,
)
from prm_saas.celery_app import app  # noqa: E402

TENANTS = 100
PER_TENANT = 1_000
# SMS and email add a local provider round trip per message; a tenth of the load
# keeps the run to a few minutes and is still 10,000 messages a channel.
PROVIDER_PER_TENANT = 100
PATIENTS_PER_TENANT = 100
NOOP_TASKS = 10_000
CHANNELS = ("inapp", "sms", "email")


# --- tasks the benchmark worker imports (-I benchmarks.reminders) ---------------------


def _redis() -> redis.Redis:
    return redis.Redis.from_url(REDIS_URL)


@app.task(name="bench.mark")
def mark(name: str) -> None:
    """Write the time this task ran under ``bench:<name>``."""
    _redis().set(f"bench:{name}", repr(time.time()))


@app.task(name="bench.noop")
def noop() -> None:
    """Nothing: the cost of a task itself."""


# --- local providers --------------------------------------------------------------------


class SmsStub:
    """An SMS provider on 127.0.0.1: POST /messages, deduplicated on Idempotency-Key."""

    def __init__(self) -> None:
        self.accepted: Counter[str] = Counter()  # key -> times it was accepted as new
        self.repeats = 0
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the adapter reuses its connection
            # Headers and body are two writes: without TCP_NODELAY the body waits
            # for the client's delayed ACK (40 ms a request).
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                self.rfile.read(length)
                key = self.headers.get("Idempotency-Key", "")
                with stub._lock:
                    if key in stub.accepted:
                        stub.repeats += 1
                    else:
                        stub.accepted[key] += 1
                body = json.dumps({"id": f"sms-{key}"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


class MailCounter:
    """aiosmtpd handler: counts the Message-IDs it receives (raw, duplicates included)."""

    MESSAGE_ID = re.compile(rb"^Message-ID:\s*<([^>]+)>", re.MULTILINE | re.IGNORECASE)

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self._lock = threading.Lock()

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        """Count one message."""
        m = self.MESSAGE_ID.search(envelope.content)
        with self._lock:
            self.received[m.group(1).decode() if m else ""] += 1
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[MailCounter, int]]:
    """A running aiosmtpd server on 127.0.0.1 and its port."""
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    counter = MailCounter()
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield counter, port
    finally:
        controller.stop()


# --- the worker -----------------------------------------------------------------------


@contextmanager
def worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """One ``celery worker -P solo`` on the bench database and broker."""
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
                "benchmarks.reminders",
                "-l",
                "WARNING",
                "-n",
                f"bench-{os.getpid()}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_mark(name: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> float:
    """The time the ``name`` marker task ran, waiting for it."""
    client = _redis()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = client.get(f"bench:{name}")
        if value is not None:
            return float(value)
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)
    raise TimeoutError(f"marker {name} did not run within {timeout} s")


# --- load --------------------------------------------------------------------------------

MESSAGE_COLUMNS = (
    "tenant_id",
    "patient_id",
    "to_address",
    "channel",
    "category",
    "urgent",
    "template_key",
    "locale",
    "recipient_tz",
    "variables",
    "dedupe_key",
    "source",
    "status",
    "due_at",
    "expires_at",
    "attempts",
    "subject",
    "body",
    "provider_message_id",
    "delivery_status",
    "error",
    "suppressed_reason",
    "created_at",
    "updated_at",
)


def load(
    owner: sa.Engine, channel: str, tenants: int, per_tenant: int, sms_url: str
) -> tuple[list[int], float]:
    """Tenants with messaging settings and patients, and their due reminders (COPY,
    round-robin across tenants as they would be enqueued). Returns the tenant ids and
    the seconds taken."""
    from prm_saas.accounts.credentials import encrypt_secret

    t0 = time.perf_counter()
    now = datetime.now(UTC)
    tables = ("tenant", "patient", "messaging_settings", "message")
    with owner_bulk_load(owner, *tables) as conn:
        conn.execute(
            sa.text(
                "TRUNCATE tenant, patient, messaging_settings, message, inbox_item, "
                "usage_counter RESTART IDENTITY CASCADE"
            )
        )
        tids = insert_tenants(conn, 1, tenants)
        conn.execute(
            sa.text(
                "INSERT INTO messaging_settings (tenant_id, email_enabled, email_from_name, "
                "sms_enabled, sms_provider_url, sms_api_key_enc, sms_sender, "
                "sms_webhook_secret_enc, quiet_start, quiet_end, daily_cap, marketing_default, "
                "updated_at) VALUES (:t, true, '', true, :url, :key, 'PRM', '', '00:00', "
                "'00:00', 3, true, :now)"
            ),
            [{"t": t, "url": sms_url, "key": encrypt_secret(f"key-{t}"), "now": now} for t in tids],
        )
        raw = conn.connection.driver_connection
        assert raw is not None
        with (
            raw.cursor() as cur,
            cur.copy(
                "COPY patient (tenant_id, name, phone, email, sex, status, locale, "
                "created_at, updated_at) FROM STDIN"
            ) as copy,
        ):
            for t in tids:
                for i in range(PATIENTS_PER_TENANT):
                    copy.write_row(
                        (t, f"患者{i}", f"+86139{i:08d}", f"p{i}@t{t}.test", "unknown", "active",
                         "zh-CN", now, now)
                    )  # fmt: skip
        pids = {
            t: [
                int(r[0])
                for r in conn.execute(
                    sa.text("SELECT id FROM patient WHERE tenant_id = :t ORDER BY id"), {"t": t}
                )
            ]
            for t in tids
        }
        due, expires = now - timedelta(minutes=1), now + timedelta(days=1)
        with (
            raw.cursor() as cur,
            cur.copy(f"COPY message ({', '.join(MESSAGE_COLUMNS)}) FROM STDIN") as copy,
        ):
            for n in range(per_tenant):
                for t in tids:
                    i = n % PATIENTS_PER_TENANT
                    pid = pids[t][i]
                    to = {
                        "inapp": f"patient:{pid}",
                        "sms": f"+86139{i:08d}",
                        "email": f"p{i}@t{t}.test",
                    }[channel]
                    variables = json.dumps(
                        {"patient_name": f"患者{i}", "title": "复诊", "when": "2026-12-01 09:30",
                         "note": "请携带既往检查报告。"},
                        ensure_ascii=False,
                    )  # fmt: skip
                    copy.write_row(
                        (t, pid, to, channel, "transactional", False, "care.reminder", "zh-CN",
                         "", variables, f"bench:{n}", "bench", "scheduled", due, expires, 0,
                         "", "", "", "", "", "", now, now)
                    )  # fmt: skip
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE tenant, patient, messaging_settings, message"))
    return tids, time.perf_counter() - t0


# --- one measured run -----------------------------------------------------------------------


@dataclass
class Run:
    """One channel's figures."""

    channel: str
    messages: int
    seconds: float
    load_seconds: float
    statuses: dict[str, int]
    duplicates: int
    losses: int
    usage: int
    detail: str = ""

    @property
    def rate(self) -> float:
        """Messages per second."""
        return self.messages / self.seconds


@dataclass
class Baseline:
    """Celery's own no-op task rate."""

    tasks: int
    seconds: float

    @property
    def rate(self) -> float:
        """Tasks per second."""
        return self.tasks / self.seconds


def poll_done(owner: sa.Engine, total: int, timeout: float) -> dict[str, int]:
    """Wait until every message is final (or nothing moved for ``timeout`` s)."""
    last, last_change = -1, time.monotonic()
    final = "('sent', 'failed', 'suppressed', 'expired')"
    while True:
        with owner.connect() as conn:
            done = int(
                conn.execute(sa.text(f"SELECT count(*) FROM message WHERE status IN {final}"))
                .scalar_one()
            )  # fmt: skip
        if done >= total:
            break
        if done != last:
            last, last_change = done, time.monotonic()
        elif time.monotonic() - last_change > timeout:
            break
        time.sleep(0.5)
    with owner.connect() as conn:
        return {
            str(s): int(n)
            for s, n in conn.execute(
                sa.text("SELECT status, count(*) FROM message GROUP BY status")
            ).all()
        }


def measure_noop(tasks: int, env: dict[str, str], log: Path) -> Baseline:
    """Queue start marker, ``tasks`` no-ops and an end marker; then let one worker drain them."""
    with app.producer_or_acquire() as producer:
        mark.apply_async(("noop_start",), producer=producer)
        for _ in range(tasks):
            noop.apply_async(producer=producer)
        mark.apply_async(("noop_end",), producer=producer)
    with worker(env, log) as proc:
        start = wait_mark("noop_start", proc, log, 120)
        end = wait_mark("noop_end", proc, log, 600)
    return Baseline(tasks=tasks, seconds=end - start)


def measure_channel(
    owner: sa.Engine, channel: str, tenants: int, per_tenant: int, env: dict[str, str], log: Path
) -> Run:
    """Load, dispatch once, wait for the last send, count at the sinks."""
    from prm_saas.celery_app import enqueue_per_tenant
    from prm_saas.messaging.tasks import dispatch_tenant

    sms = SmsStub()
    total = tenants * per_tenant
    try:
        with smtp_server() as (mail, smtp_port):
            tids, load_seconds = load(owner, channel, tenants, per_tenant, sms.url)
            env = {**env, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port)}
            with worker(env, log) as proc:
                # The worker is up once it ran this marker; only then is the clock started.
                mark.apply_async(("ready",))
                wait_mark("ready", proc, log, 120)
                mark.apply_async((f"{channel}_start",))
                # What messaging.dispatch_due sends, one dispatch per tenant, but all at
                # once: beat's 20 s stagger would bound a small run's rate.
                enqueue_per_tenant(dispatch_tenant, tids)
                start = wait_mark(f"{channel}_start", proc, log, 60)
                statuses = poll_done(owner, total, timeout=60)
            with owner.connect() as conn:
                last_sent = conn.execute(sa.text("SELECT max(sent_at) FROM message")).scalar_one()
                usage = int(
                    conn.execute(sa.text("SELECT coalesce(sum(count), 0) FROM usage_counter"))
                    .scalar_one()
                )  # fmt: skip
                inbox = int(conn.execute(sa.text("SELECT count(*) FROM inbox_item")).scalar_one())
                inbox_distinct = int(
                    conn.execute(sa.text("SELECT count(DISTINCT message_id) FROM inbox_item"))
                    .scalar_one()
                )  # fmt: skip
                ids = conn.execute(sa.text("SELECT tenant_id, id FROM message")).all()
            expected = {f"prm-{t}-{i}" for t, i in ids}
            if channel == "inapp":
                duplicates = inbox - inbox_distinct
                losses = total - inbox_distinct
                detail = f"{inbox:,} inbox rows for {inbox_distinct:,} messages"
            elif channel == "sms":
                got = set(sms.accepted)
                duplicates = sum(n - 1 for n in sms.accepted.values())
                losses = len(expected - got)
                detail = f"provider accepted {len(got):,} keys, refused {sms.repeats} repeated keys"
            else:
                got = {k.removesuffix("@prm.localhost") for k in mail.received}
                duplicates = sum(n - 1 for n in mail.received.values())
                losses = len(expected - got)
                detail = f"SMTP server received {sum(mail.received.values()):,} messages"
    finally:
        sms.close()
    assert last_sent is not None, f"nothing was sent: {statuses}"
    return Run(
        channel=channel,
        messages=total,
        seconds=last_sent.timestamp() - start,
        load_seconds=load_seconds,
        statuses=statuses,
        duplicates=duplicates,
        losses=losses,
        usage=usage,
        detail=detail,
    )


# --- report -----------------------------------------------------------------------------


@dataclass
class Results:
    """Everything one run measured."""

    when: str
    machine: str
    postgres: str
    redis: str
    command: str
    tenants: int
    baseline: Baseline
    runs: list[Run] = field(default_factory=list)
    load_average: float = 0.0

    def markdown(self) -> str:
        """The results as recorded in docs/benchmarks.md."""
        b = self.baseline
        lines = [
            f"Run {self.when} on {self.machine}; {self.postgres}; Redis {self.redis}; "
            f"1-minute load average at the end: {self.load_average:.2f}.",
            "",
            f"Command: `{self.command}`",
            "",
            f"One worker (`-P solo`), {self.tenants} tenants. Baseline: {b.tasks:,} no-op "
            f"tasks through the same broker and worker settings in {b.seconds:.2f} s = "
            f"**{b.rate:,.0f} tasks/s**.",
            "",
            "| channel | messages | seconds | messages/s | ratio to no-op tasks/s | "
            "target | duplicates | losses | statuses | at the sink |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
        ]
        for r in self.runs:
            ratio = r.rate / b.rate
            verdict = "meets" if ratio >= 0.5 else "MISSES"
            statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(r.statuses.items()))
            lines.append(
                f"| {r.channel} | {r.messages:,} | {r.seconds:.1f} | {r.rate:,.0f} "
                f"| {ratio:.2f} | >= 0.5 ({verdict}) | {r.duplicates} | {r.losses} "
                f"| {statuses}; usage counted {r.usage:,} | {r.detail} |"
            )
        return "\n".join(lines)


def main() -> None:
    """Rebuild the database, measure the baseline, then each channel; report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=TENANTS)
    parser.add_argument(
        "--per-tenant", type=int, default=PER_TENANT, help="reminders per tenant, in-app"
    )
    parser.add_argument(
        "--provider-per-tenant",
        type=int,
        default=PROVIDER_PER_TENANT,
        help="reminders per tenant, SMS and email",
    )
    parser.add_argument("--noop", type=int, default=NOOP_TASKS, help="no-op tasks (baseline)")
    parser.add_argument(
        "--channels", default=",".join(CHANNELS), help=f"comma-separated, of {CHANNELS}"
    )
    parser.add_argument("--record", action="store_true", help=f"write results to {DOCS}")
    args = parser.parse_args()
    channels = [c for c in args.channels.split(",") if c]
    if set(channels) - set(CHANNELS):
        parser.error(f"channels are {CHANNELS}")

    owner = sa.create_engine(OWNER_URL)
    with owner.connect() as conn:
        postgres = "PostgreSQL " + str(conn.execute(sa.text("SHOW server_version")).scalar())
    client = _redis()
    redis_version = str(client.info("server")["redis_version"])
    client.flushdb()
    print(f"{machine()}; {postgres}; Redis {redis_version} at {REDIS_URL}; {APP_URL}")
    rebuild_schema(owner)
    tmp = Path(tempfile.mkdtemp(prefix="prm-bench-"))
    env = {"DATABASE_URL": APP_URL, "CELERY_BROKER_URL": REDIS_URL, "PRM_VAR_DIR": str(tmp)}

    baseline = measure_noop(args.noop, env, tmp / "worker-noop.log")
    print(f"baseline: {args.noop:,} no-op tasks in {baseline.seconds:.2f} s "
          f"= {baseline.rate:,.0f}/s")  # fmt: skip
    command = ".venv/bin/python benchmarks/reminders.py" + "".join(
        f" {a}" for a in sys.argv[1:] if a != "--record"
    )
    results = Results(
        when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine(),
        postgres=postgres,
        redis=redis_version,
        command=command.strip(),
        tenants=args.tenants,
        baseline=baseline,
    )
    for channel in channels:
        per_tenant = args.per_tenant if channel == "inapp" else args.provider_per_tenant
        run = measure_channel(
            owner, channel, args.tenants, per_tenant, env, tmp / f"worker-{channel}.log"
        )
        print(
            f"{channel}: {run.messages:,} in {run.seconds:.1f} s = {run.rate:,.0f}/s, "
            f"ratio {run.rate / baseline.rate:.2f}; duplicates {run.duplicates}, "
            f"losses {run.losses}; {run.statuses}; {run.detail}"
        )
        results.runs.append(run)
    results.load_average = os.getloadavg()[0]
    print()
    print(results.markdown())
    if args.record:
        record("reminders", results.markdown())
        print(f"\nrecorded in {DOCS.relative_to(ROOT)}")
    client.flushdb()
    owner.dispose()


if __name__ == "__main__":
    main()
