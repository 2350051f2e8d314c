"""Platform billing on PostgreSQL (issue 8): the operator console and the Stripe
webhook path, each against the irreducible work measured in the same run.

    scripts/pg.sh start && PRM_PG_DB=prm_bench_billing scripts/pg.sh start
    eval "$(PRM_PG_DB=prm_bench_billing scripts/pg.sh env)"
    .venv/bin/python -u benchmarks/billing.py --record

DESTROYS the database it is pointed at (it rebuilds the schema with the
migrations, as the owner). The application's side runs as the app role (no
BYPASSRLS), so row-level security applies as in production.

1. Console: ``prm_saas.billing.console.tenant_rows`` in a platform session as an
   operator, over 100 and then 1,000 tenants, each with a billing account, 2-3
   rows of plan history (the last one open), 6 mirrored invoices and 90 days of
   ``tenant_usage_day`` rows (bulk-loaded with set-based SQL as the owner).
   Baseline: the same rows (checked equal) from one hand-written SQL statement
   on a psycopg connection as the app role. Also the number of SQL statements
   ``tenant_rows`` issues at each size (a ``before_cursor_execute`` listener):
   it must not grow with the number of tenants.
2. Webhook: ``prm_saas.orders.webhooks.handle_stripe_webhook`` on a signed
   ``invoice.paid`` (a new event id each time) for a tenant whose customer,
   subscription and paid invoice exist in a localstripe started for the run
   (made through ``billing.engine`` as tests/billing does). Baseline: the
   irreducible work, the Stripe re-read of the invoice (``gateway
   .retrieve_invoice``) plus one bare INSERT of the ``stripe_event`` row. Also
   the replay of an already applied event (same id again: ``duplicate``).

Every pair runs interleaved (order alternating or shuffled per round) after a
warm-up, so drift on the shared machine hits both sides; medians are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import astuple, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # runnable as a plain script from any directory

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event  # noqa: E402

from benchmarks.common import DOCS, machine, rebuild_schema, record  # noqa: E402
from prm_saas.accounts.authz import Principal, PrincipalKind  # noqa: E402
from tenants.db import get_engine, make_engine, platform_session, set_engine  # noqa: E402
from tenants.types import utcnow  # noqa: E402

COMMAND = (
    'eval "$(PRM_PG_DB=prm_bench_billing scripts/pg.sh env)" && '
    ".venv/bin/python -u benchmarks/billing.py --record"
)
OPERATOR = Principal(kind=PrincipalKind.OPERATOR, id=1, tenant_id=None, name="bench", label="op")
PLANS = [  # (code, name_zh, name_en, monthly fen, messages included, cap)
    ("basic", "基础版", "Basic", 99_900, 2_000, 5_000),
    ("pro", "专业版", "Pro", 299_900, 20_000, 100_000),
    ("enterprise", "企业版", "Enterprise", 899_900, 100_000, None),
]
USAGE_DAYS = 90
INVOICES = 6


# --- data ------------------------------------------------------------------------------------


def insert_plans(owner: sa.Engine) -> list[int]:
    with owner.begin() as conn:
        for i, (code, zh, en, fen, included, cap) in enumerate(PLANS):
            conn.execute(
                sa.text(
                    "INSERT INTO plan (code, name_zh, name_en, monthly_fen, active, sort_order, "
                    "messages_included, message_overage_fen, messages_cap, trial_days, "
                    "stripe_plan_id, created_at) VALUES (:code, :zh, :en, :fen, true, :i, "
                    ":inc, 4, :cap, 14, '', now() - interval '3 years')"
                ),
                {"code": code, "zh": zh, "en": en, "fen": fen, "i": i, "inc": included, "cap": cap},
            )
        return list(conn.execute(sa.text("SELECT id FROM plan ORDER BY sort_order")).scalars())


def load_tenants(owner: sa.Engine, first: int, count: int, plans: list[int]) -> float:
    """Tenants ``first .. first+count-1`` with everything the console reads, in
    set-based SQL as the owner; seconds taken."""
    t0 = time.perf_counter()
    p = {"first": first, "last": first + count - 1, "p1": plans[0], "p2": plans[1], "p3": plans[2]}
    # statuses: 70% active, 15% trial, 10% past due, 5% suspended (billing)
    status = (
        "CASE WHEN g % 20 < 14 THEN 'active' WHEN g % 20 < 17 THEN 'trial' "
        "WHEN g % 20 < 19 THEN 'past_due' ELSE 'suspended' END"
    )
    steps = [
        # created over the last ~3 years (the newest, the trials, in the last 2 weeks)
        "INSERT INTO tenant (slug, name, kind, timezone, default_locale, currency, status, "
        "logo_url, primary_color, created_at, updated_at) "
        f"SELECT 'bench-bill-' || g, '诊所' || g, CASE WHEN g % 3 = 0 THEN 'checkup_center' "
        f"ELSE 'clinic' END, 'Asia/Shanghai', 'zh-CN', 'CNY', {status}, '', '#0f766e', c, c "
        "FROM (SELECT g, CASE WHEN g % 20 BETWEEN 14 AND 16 "
        "THEN now() - (g % 13 + 1) * interval '1 day' "
        "ELSE now() - interval '200 days' - (g * 7919 % 900) * interval '1 day' END AS c "
        "FROM generate_series(CAST(:first AS int), :last) g) x ORDER BY g",
        "CREATE TEMP TABLE bt ON COMMIT DROP AS SELECT t.id, "
        "CAST(substr(t.slug, 12) AS int) AS g, t.status, t.created_at FROM tenant t "
        "WHERE t.slug LIKE 'bench-bill-%' AND CAST(substr(t.slug, 12) AS int) "
        "BETWEEN :first AND :last",
        # plan history: 2 or 3 rows, the last one open (its price = the plan's)
        "INSERT INTO tenant_subscription (subject_tenant_id, plan_id, monthly_fen, started_at, "
        "ended_at, reason, end_reason) "
        "SELECT bt.id, pl.id, pl.monthly_fen, "
        "bt.created_at + (k - 1) * (now() - bt.created_at) / n, "
        "CASE WHEN k < n THEN bt.created_at + k * (now() - bt.created_at) / n END, "
        "CASE WHEN k = 1 THEN 'signup' ELSE 'plan change' END, "
        "CASE WHEN k < n THEN 'plan change' ELSE '' END "
        "FROM bt, LATERAL (SELECT 2 + bt.g % 2 AS n) nn, generate_series(1, nn.n) k, "
        "LATERAL (SELECT id, monthly_fen FROM plan WHERE id = "
        "(ARRAY[:p1, :p2, :p3])[1 + (bt.g + k) % 3]) pl",
        # the billing account: a monthly period begun in the last 30 days
        "INSERT INTO tenant_billing (subject_tenant_id, billing_email, stripe_customer_id, "
        "stripe_subscription_id, stripe_plan_id, trial_ends_at, current_period_start, "
        "current_period_end, past_due_since, suspension, suspension_reason, payment_method_id, "
        "card_brand, card_last4, card_exp, created_at, updated_at) "
        "SELECT bt.id, 'billing@bench-bill-' || bt.g || '.test', 'cus_bench' || bt.g, "
        "'sub_bench' || bt.g, 'plan_bench', bt.created_at + interval '14 days', ps, "
        "CASE WHEN bt.status = 'trial' THEN bt.created_at + interval '14 days' "
        "ELSE ps + interval '1 month' END, "
        "CASE WHEN bt.status IN ('past_due', 'suspended') "
        "THEN now() - (2 + bt.g % 12) * interval '1 day' END, "
        "CASE WHEN bt.status = 'suspended' THEN 'billing' ELSE '' END, "
        "CASE WHEN bt.status = 'suspended' THEN 'grace_ended' ELSE '' END, "
        "CASE WHEN bt.status = 'trial' THEN '' ELSE 'card_bench' || bt.g END, "
        "CASE WHEN bt.status = 'trial' THEN '' ELSE 'Visa' END, "
        "CASE WHEN bt.status = 'trial' THEN '' ELSE lpad((bt.g % 10000)::text, 4, '0') END, "
        "CASE WHEN bt.status = 'trial' THEN '' ELSE '12/2031' END, bt.created_at, now() "
        "FROM (SELECT bt.*, CASE WHEN bt.status = 'trial' THEN bt.created_at "
        "ELSE date_trunc('day', now()) - (bt.g * 31 % 30) * interval '1 day' END AS ps "
        "FROM bt) bt",
        # 6 monthly invoices, the newest at the current period's start; the newest
        # of a tenant past due or suspended is open
        "INSERT INTO billing_invoice (stripe_invoice_id, subject_tenant_id, number, status, "
        "billing_reason, currency, subtotal_fen, total_fen, amount_due_fen, amount_paid_fen, "
        "period_start, period_end, stripe_created, paid_at, lines_json, updated_at) "
        "SELECT 'in_bench_' || bt.g || '_' || k, bt.id, "
        "CASE WHEN k % 2 = 0 THEN 'BENCH-' || bt.g || '-' || k ELSE '' END, "
        "CASE WHEN k = 0 AND bt.status IN ('past_due', 'suspended') THEN 'open' ELSE 'paid' END, "
        "'renewal', 'cny', fen, fen, fen, "
        "CASE WHEN k = 0 AND bt.status IN ('past_due', 'suspended') THEN 0 ELSE fen END, "
        "tb.current_period_start - k * interval '1 month', "
        "tb.current_period_start - (k - 1) * interval '1 month', "
        "tb.current_period_start - k * interval '1 month' + interval '1 minute', "
        "CASE WHEN k = 0 AND bt.status IN ('past_due', 'suspended') THEN NULL "
        "ELSE tb.current_period_start - k * interval '1 month' + interval '2 minutes' END, "
        "'[]', now() "
        "FROM bt JOIN tenant_billing tb ON tb.subject_tenant_id = bt.id, "
        f"generate_series(0, {INVOICES - 1}) k, "
        "LATERAL (SELECT 99900 + (bt.g * 37 + k * 11) % 9 * 100000 AS fen) f "
        "ORDER BY k DESC, bt.id",
        # 90 days of usage, the newest today
        "INSERT INTO tenant_usage_day (subject_tenant_id, day, patients, new_patients, messages, "
        "bookings, updated_at) "
        "SELECT bt.id, CAST(now() AT TIME ZONE 'UTC' AS date) - d, "
        f"200 + bt.g % 5000 - d * (bt.g % 7), bt.g % 7, (bt.g * 13 + d * 17) % 400, "
        "(bt.g + d) % 60, now() "
        f"FROM bt, generate_series(0, {USAGE_DAYS - 1}) d ORDER BY d DESC, bt.id",
    ]
    with owner.begin() as conn:
        for sql in steps:
            conn.execute(sa.text(sql), p)
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(
            sa.text(
                "VACUUM ANALYZE tenant, tenant_subscription, plan, tenant_billing, "
                "billing_invoice, tenant_usage_day"
            )
        )
    return time.perf_counter() - t0


def counts(owner: sa.Engine) -> dict[str, int]:
    tables = ("tenant", "tenant_subscription", "tenant_billing", "billing_invoice")
    with owner.connect() as conn:
        out = {
            t: int(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in tables
        }
        out["tenant_usage_day"] = int(
            conn.execute(sa.text("SELECT count(*) FROM tenant_usage_day")).scalar_one()
        )
    return out


# --- 1. the console ----------------------------------------------------------------------------

# The console's rows by hand: one statement, the same columns in ConsoleRow's order.
CONSOLE_SQL = """
SELECT t.id, t.slug, t.name, t.kind, t.status,
       coalesce(b.suspension, ''), coalesce(b.suspension_reason, ''),
       coalesce(p.code, ''), coalesce(p.name_zh, ''), coalesce(p.name_en, ''),
       coalesce(s.monthly_fen, 0),
       b.trial_ends_at, b.past_due_since, b.current_period_start, b.current_period_end,
       coalesce(b.card_last4, ''),
       coalesce(u.patients, 0), coalesce(m.messages, 0),
       coalesce(p.messages_included, 0), p.messages_cap,
       coalesce(i.number, ''), coalesce(i.status, ''), coalesce(i.total_fen, 0),
       i.stripe_created, t.created_at
FROM tenant t
LEFT JOIN tenant_subscription s ON s.subject_tenant_id = t.id AND s.ended_at IS NULL
LEFT JOIN plan p ON p.id = s.plan_id
LEFT JOIN tenant_billing b ON b.subject_tenant_id = t.id
LEFT JOIN LATERAL (
    SELECT number, status, total_fen, stripe_created FROM billing_invoice bi
    WHERE bi.subject_tenant_id = t.id ORDER BY stripe_created DESC, id DESC LIMIT 1
) i ON true
LEFT JOIN LATERAL (
    SELECT patients FROM tenant_usage_day d
    WHERE d.subject_tenant_id = t.id ORDER BY day DESC LIMIT 1
) u ON true
LEFT JOIN LATERAL (
    SELECT sum(messages)::int AS messages FROM tenant_usage_day d
    WHERE d.subject_tenant_id = t.id
      AND d.day >= CAST(b.current_period_start AT TIME ZONE 'UTC' AS date)
      AND d.day <= %(today)s
) m ON true
ORDER BY t.created_at DESC, t.id DESC
"""


def service_rows() -> list[Any]:
    from prm_saas.billing.console import tenant_rows

    with platform_session() as s:
        return tenant_rows(session=s, actor=OPERATOR)


def bare_rows(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute(CONSOLE_SQL, {"today": utcnow().date()}).fetchall()


def statements_of(fn: Callable[[], object]) -> list[str]:
    """The SQL statements ``fn`` sends through the application's engine."""
    return [st for st, _ in timed_statements(fn)]


def timed_statements(fn: Callable[[], object]) -> list[tuple[str, float]]:
    """Each SQL statement ``fn`` sends through the application's engine (a
    ``before_cursor_execute`` listener) with the milliseconds its ``cursor.execute``
    took (the server's work and the transfer of the rows; psycopg receives the whole
    result there, building Python rows from it comes after)."""
    seen: list[tuple[str, float]] = []
    started: list[float] = []

    def before(_c: object, _cur: object, statement: str, *_: object) -> None:
        seen.append((" ".join(statement.split())[:60], 0.0))
        started.append(time.perf_counter())

    def after(*_: object) -> None:
        st, _ms = seen[-1]
        seen[-1] = (st, (time.perf_counter() - started.pop()) * 1000)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    return seen


def interleaved(
    variants: dict[str, Callable[[], object]], reads: int, warmup: int
) -> dict[str, list[float]]:
    """Milliseconds of ``reads`` runs of each variant, the order rotated every round,
    after ``warmup`` untimed rounds."""
    names = list(variants)
    out: dict[str, list[float]] = {n: [] for n in names}
    for rnd in range(warmup + reads):
        k = rnd % len(names)
        for name in names[k:] + names[:k]:
            t0 = time.perf_counter()
            variants[name]()
            if rnd >= warmup:
                out[name].append((time.perf_counter() - t0) * 1000)
    return out


@dataclass
class ConsoleSize:
    tenants: int
    statements: list[tuple[str, float]]  # of one call, with its cursor.execute ms
    service_ms: float
    bare_ms: float  # the app role (RLS on), like the service
    owner_ms: float  # the owner (BYPASSRLS): attribution of the wall's cost
    db_ms: float  # median over the timed calls of the sum of the service's executes
    equal: bool
    plan_note: str  # the hand-written statement's plan as the app role, in short


def plan_note(conn: psycopg.Connection[Any]) -> str:
    """Row estimates under the policy, execution and JIT time of the hand-written
    statement's plan as ``conn``'s role (EXPLAIN ANALYZE, once)."""
    plan = [
        str(r[0])
        for r in conn.execute("EXPLAIN (ANALYZE) " + CONSOLE_SQL, {"today": utcnow().date()})
    ]
    billing = next((ln for ln in plan if "on tenant_billing b" in ln), "")
    estimate = billing.split("rows=")[1].split()[0] if "rows=" in billing else "?"
    actual = billing.split("rows=")[2].split()[0] if billing.count("rows=") > 1 else "?"
    execution = next((ln.split(":")[1].strip() for ln in plan if "Execution Time" in ln), "?")
    jit = next(
        (ln.split("Total")[1].strip() for ln in plan if "Total" in ln and "Timing" in ln), ""
    )
    return f"tenant_billing estimated {estimate} rows, found {actual}; execution {execution}" + (
        f", of which JIT compilation {jit}" if jit else ", no JIT"
    )


def measure_console(
    conninfo: str, owner_conninfo: str, tenants: int, reads: int, warmup: int
) -> ConsoleSize:
    with (
        psycopg.connect(conninfo, autocommit=True) as conn,
        psycopg.connect(owner_conninfo, autocommit=True) as owner_conn,
    ):
        got = [astuple(r) for r in service_rows()]
        want = [tuple(r) for r in bare_rows(conn)]
        equal = got == want == [tuple(r) for r in bare_rows(owner_conn)]
        note, owner_note = plan_note(conn), plan_note(owner_conn)
        if not equal:
            diff = next((g, w) for g, w in zip(got, want, strict=False) if g != w) if got else ()
            print(f"  MISMATCH at {tenants}: {len(got)} / {len(want)} rows; first {diff!r:.600}")
        if len(got) != tenants:
            raise SystemExit(f"tenant_rows returned {len(got)} rows, expected {tenants}")
        db: list[float] = []
        stmts: list[tuple[str, float]] = []

        def service() -> None:
            nonlocal stmts
            stmts = timed_statements(service_rows)
            db.append(sum(ms for _, ms in stmts))

        ms = interleaved(
            {
                "service": service,
                "bare": lambda: bare_rows(conn),
                "owner": lambda: bare_rows(owner_conn),
            },
            reads,
            warmup,
        )
    size = ConsoleSize(
        tenants,
        stmts,
        statistics.median(ms["service"]),
        statistics.median(ms["bare"]),
        statistics.median(ms["owner"]),
        statistics.median(db[warmup:]),
        equal,
        f"as the app role: {note}; as the owner: {owner_note}",
    )
    print(
        f"  {tenants:5} tenants: tenant_rows {size.service_ms:7.1f} ms "
        f"(executes {size.db_ms:6.1f} ms), hand-written {size.bare_ms:6.1f} ms "
        f"(as owner {size.owner_ms:6.1f} ms), ratio {size.service_ms / size.bare_ms:5.2f}, "
        f"{len(stmts)} statements, equal={equal}",
        flush=True,
    )
    return size


# --- 2. the webhook ------------------------------------------------------------------------------


@dataclass
class StripeSide:
    tenant_id: int
    customer: str
    invoice_id: str
    invoice_json: dict[str, Any]


def stripe_tenant(owner: sa.Engine, plan_id: int) -> StripeSide:
    """A tenant signed up on ``plan_id`` with its Stripe customer, subscription and a
    card, whose trial has ended and first invoice is paid (tests/billing's way)."""
    from sqlmodel import col, select

    from prm_saas.billing import engine
    from prm_saas.billing.models import BillingInvoice
    from tests.orders.helpers import card_token, stripe_get

    with owner.begin() as conn:
        tid = int(
            conn.execute(
                sa.text(
                    "INSERT INTO tenant (slug, name, kind, timezone, default_locale, currency, "
                    "status, logo_url, primary_color, created_at, updated_at) VALUES "
                    "('bench-stripe', '条纹诊所', 'clinic', 'Asia/Shanghai', 'zh-CN', 'CNY', "
                    "'trial', '', '#0f766e', now(), now()) RETURNING id"
                )
            ).scalar_one()
        )
    now = utcnow()
    with platform_session() as s:
        engine.open_account(
            s, tenant_id=tid, plan_id=plan_id, billing_email="billing@bench-stripe.test", now=now
        )
    if not engine.ensure_stripe_account(tid, now=now):
        raise SystemExit("localstripe: no Stripe account for the tenant")
    engine.save_card(tenant_id=tid, card_token=card_token(), actor=OPERATOR, now=now)
    with platform_session() as s:
        tb = engine.account(s, tid)
        assert tb is not None
        assert tb.trial_ends_at is not None
        customer, after_trial = tb.stripe_customer_id, tb.trial_ends_at + timedelta(minutes=1)
    if not engine.close_period(tid, now=after_trial):
        raise SystemExit("the trial's period did not close")
    with platform_session() as s:
        inv = s.exec(
            select(BillingInvoice)
            .where(BillingInvoice.subject_tenant_id == tid)
            .order_by(col(BillingInvoice.id).desc())
        ).first()
        assert inv is not None
        if inv.status != "paid":
            raise SystemExit(f"the first invoice is {inv.status}, not paid")
        invoice_id = inv.stripe_invoice_id
    return StripeSide(tid, customer, invoice_id, stripe_get(f"/v1/invoices/{invoice_id}"))


@dataclass
class WebhookResults:
    events: int
    webhook: list[float]
    replay: list[float]
    baseline: list[float]
    invoice_read: list[float]
    insert: list[float]
    customer_read: list[float]
    statements_new: list[str]
    statements_replay: list[str]


def measure_webhook(side: StripeSide, conninfo: str, events: int, warmup: int) -> WebhookResults:
    from prm_saas.billing import gateway
    from prm_saas.orders.webhooks import handle_stripe_webhook
    from tests.orders.helpers import event as envelope
    from tests.orders.helpers import sign

    applied: list[tuple[bytes, str]] = []  # events already handled, for the replays
    pending: dict[str, tuple[bytes, str]] = {}

    def prepare() -> None:
        body = json.dumps(envelope("invoice.paid", side.invoice_json)).encode()
        pending["next"] = (body, sign(body))
        old = applied[-1][0] if applied else body
        pending["replay"] = (old, sign(old))
        pending["insert_id"] = (f"evt_bare_{secrets.token_hex(8)}".encode(), "")

    def webhook() -> None:
        body, sig = pending["next"]
        r = handle_stripe_webhook(payload=body, signature=sig, now=utcnow())
        if r.outcome != "invoice_paid":
            raise SystemExit(f"webhook outcome {r.outcome}, expected invoice_paid")
        applied.append((body, sig))

    def replay() -> None:
        body, sig = pending["replay"]
        r = handle_stripe_webhook(payload=body, signature=sig, now=utcnow())
        if r.outcome != "duplicate":
            raise SystemExit(f"replay outcome {r.outcome}, expected duplicate")

    with psycopg.connect(conninfo, autocommit=True) as conn:
        insert_sql = (
            "INSERT INTO stripe_event (event_id, type, created, subject_tenant_id, payload, "
            "received_at) VALUES (%s, 'invoice.paid', %s, %s, %s, now())"
        )
        parts: dict[str, float] = {}

        def baseline() -> None:
            t0 = time.perf_counter()
            inv = gateway.retrieve_invoice(side.invoice_id)
            t1 = time.perf_counter()
            if inv is None or inv.status != "paid":
                raise SystemExit("the invoice is gone from localstripe")
            conn.execute(
                insert_sql,
                (
                    pending["insert_id"][0].decode(),
                    int(time.time()),
                    side.tenant_id,
                    pending["next"][0].decode(),
                ),
            )
            parts["read"], parts["insert"] = (t1 - t0) * 1000, (time.perf_counter() - t1) * 1000

        def customer_read() -> None:
            if gateway.customer_tenant_id(side.customer) != side.tenant_id:
                raise SystemExit("the customer's metadata names another tenant")

        variants: dict[str, Callable[[], None]] = {
            "webhook": webhook,
            "replay": replay,
            "baseline": baseline,
            "customer_read": customer_read,
        }
        samples: dict[str, list[float]] = {n: [] for n in [*variants, "read", "insert"]}
        rng = random.Random(8)
        names = list(variants)
        for rnd in range(warmup + events):
            prepare()
            rng.shuffle(names)
            if names.index("replay") < names.index("webhook") and not applied:
                names.remove("replay")
                names.append("replay")
            for name in names:
                t0 = time.perf_counter()
                variants[name]()
                elapsed = (time.perf_counter() - t0) * 1000
                if rnd >= warmup:
                    samples[name].append(elapsed)
                    if name == "baseline":
                        samples["read"].append(parts["read"])
                        samples["insert"].append(parts["insert"])
            if (rnd + 1) % 50 == 0:
                print(f"  {rnd + 1}/{warmup + events} rounds", flush=True)
        prepare()
        statements_new = statements_of(webhook)
        prepare()
        statements_replay = statements_of(replay)
    return WebhookResults(
        events,
        samples["webhook"],
        samples["replay"],
        samples["baseline"],
        samples["read"],
        samples["insert"],
        samples["customer_read"],
        statements_new,
        statements_replay,
    )


# --- report --------------------------------------------------------------------------------------


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def report(
    args: argparse.Namespace,
    postgres: str,
    sizes: list[ConsoleSize],
    data: dict[str, int],
    load_s: float,
    wh: WebhookResults,
) -> list[str]:
    big = sizes[-1]
    lines = [
        f"Recorded {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}, PostgreSQL "
        f"{postgres}, load average {os.getloadavg()[0]:.1f} at the end. The application as "
        "the app role (RLS on), the baselines on a psycopg connection as the same role "
        "(and, for attribution, as the owner).",
        "",
        f"**Operator console.** Data at {big.tenants:,} tenants (loaded in {load_s:.1f} s): "
        + ", ".join(f"{k} {v:,}" for k, v in data.items())
        + f". Medians of {args.reads} reads of each variant after {args.warmup} warm-up "
        "rounds, the order rotated every round. `tenant_rows` through a platform session as "
        "an operator; hand-written = one SQL statement (LEFT JOINs, a LATERAL LIMIT 1 per "
        "tenant for the last invoice and the last usage day, a LATERAL sum for the period's "
        "messages) returning the same rows, checked equal: "
        + ", ".join(f"{s.tenants:,} tenants {'yes' if s.equal else 'NO'}" for s in sizes)
        + ".",
        "",
        "| tenants | `tenant_rows` | of which in `cursor.execute` | hand-written SQL, app role "
        "(RLS) | **ratio** | hand-written SQL as the owner (no RLS) | SQL statements issued |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {s.tenants:,} | {s.service_ms:.1f} ms | {s.db_ms:.1f} ms | {s.bare_ms:.1f} ms "
            f"| **{s.service_ms / s.bare_ms:.2f}** | {s.owner_ms:.1f} ms "
            f"| {len(s.statements)} |"
            for s in sizes
        ),
        "",
        "Statements counted with a `before_cursor_execute` listener on the engine (the "
        "platform session's `set_config` included), with each one's `cursor.execute` time "
        f"at {big.tenants:,} tenants: "
        + "; ".join(f"`{st}…` {ms:.1f} ms" for st, ms in big.statements)
        + ".",
        "",
        f"The hand-written statement's plan at {big.tenants:,} tenants (EXPLAIN ANALYZE, "
        f"once): {big.plan_note}.",
        "",
        f"**Stripe webhook**, {wh.events} signed `invoice.paid` events (a new id each) for one "
        "tenant with its customer, subscription and paid invoice in localstripe, after "
        f"{args.warmup} warm-up rounds; the variants of a round run in shuffled order.",
        "",
        "| measurement | median |",
        "|---|---:|",
        f"| `handle_stripe_webhook`, new event (`invoice_paid`) | {med(wh.webhook):.1f} ms |",
        f"| baseline: `gateway.retrieve_invoice` + one bare INSERT into `stripe_event` "
        f"| {med(wh.baseline):.1f} ms |",
        f"| of which the Stripe re-read | {med(wh.invoice_read):.1f} ms |",
        f"| of which the INSERT | {med(wh.insert):.2f} ms |",
        f"| **ratio webhook / baseline** | **{med(wh.webhook) / med(wh.baseline):.2f}** |",
        f"| replay of an applied event (`duplicate`) | {med(wh.replay):.1f} ms "
        f"({med(wh.replay) / med(wh.baseline):.2f} x baseline) |",
        f"| for attribution: `gateway.customer_tenant_id` (the second Stripe read) "
        f"| {med(wh.customer_read):.1f} ms |",
        "",
        f"A new event costs 2 Stripe reads (the invoice, then its customer's metadata) and "
        f"{len(wh.statements_new)} SQL statements in "
        f"{sum('set_config' in st for st in wh.statements_new)} transactions; a replay "
        f"no Stripe read and {len(wh.statements_replay)} statements in "
        f"{sum('set_config' in st for st in wh.statements_replay)} transactions (counted "
        "like the console's; the baseline: 1 Stripe read, 1 statement).",
        "",
        f"Command: `{COMMAND} --reads {args.reads} --events {args.events} --warmup {args.warmup}`",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=100, help="tenants, first size")
    parser.add_argument("--tenants", type=int, default=1_000, help="tenants, second size")
    parser.add_argument("--reads", type=int, default=40, help="timed console reads per variant")
    parser.add_argument("--events", type=int, default=300, help="timed webhook rounds")
    parser.add_argument("--warmup", type=int, default=5, help="untimed rounds first")
    parser.add_argument("--record", action="store_true", help=f"write results to {DOCS}")
    args = parser.parse_args()
    app_url, owner_url = os.environ["DATABASE_URL"], os.environ["MIGRATION_DATABASE_URL"]
    if not app_url.startswith("postgresql"):
        raise SystemExit('PostgreSQL only: eval "$(PRM_PG_DB=... scripts/pg.sh env)" first')
    conninfo = app_url.replace("postgresql+psycopg://", "postgresql://")
    owner_conninfo = owner_url.replace("postgresql+psycopg://", "postgresql://")
    owner = sa.create_engine(owner_url)
    with owner.connect() as conn:
        postgres = str(conn.execute(sa.text("SHOW server_version")).scalar_one())
    print(f"{machine()}; PostgreSQL {postgres}; {app_url.rsplit('@', 1)[1]}", flush=True)
    set_engine(make_engine(app_url))
    rebuild_schema(owner)
    plans = insert_plans(owner)

    print("console:", flush=True)
    sizes = []
    load_s = load_tenants(owner, 1, args.small, plans)
    sizes.append(measure_console(conninfo, owner_conninfo, args.small, args.reads, args.warmup))
    load_s += load_tenants(owner, args.small + 1, args.tenants - args.small, plans)
    data = counts(owner)
    sizes.append(measure_console(conninfo, owner_conninfo, args.tenants, args.reads, args.warmup))

    print("webhook (localstripe):", flush=True)
    from tests.localstripe import run_localstripe

    with run_localstripe() as base:
        print(f"  localstripe at {base}", flush=True)
        side = stripe_tenant(owner, plans[1])
        wh = measure_webhook(side, conninfo, args.events, args.warmup)

    lines = report(args, postgres, sizes, data, load_s, wh)
    print("\n".join(lines))
    if args.record:
        record("billing", "\n".join(lines))
        print(f"\nrecorded in {DOCS.relative_to(ROOT)}")
    set_engine(None)
    owner.dispose()


if __name__ == "__main__":
    main()
