"""Tenancy overhead on PostgreSQL (issue 2): what do the two walls cost?

    scripts/pg.sh start
    .venv/bin/python benchmarks/tenancy.py            # prints the table
    .venv/bin/python benchmarks/tenancy.py --record   # also rewrites docs/benchmarks.md

Measures, in one run, against the ``prm_bench`` database of scripts/pg.sh:

(a) the same tenant-scoped list query (the newest 20 patients of one tenant of
    100 patients, through tenants.db.tenant_session and the ORM) when that tenant
    is alone in the database, and when it is one of 1,000 tenants of 100
    patients each (100,000 rows; its rows scattered among the others' as real
    sign-ups arrive). Target: ratio <= 1.1.
(b) that ORM query, filtered automatically (with_loader_criteria + RLS), against
    the same query hand-written as bare SQL with ``WHERE tenant_id = :t`` in the
    same kind of transaction (tenant_session: BEGIN, set_config, query, COMMIT).
    Target: ratio <= 1.2. For attribution it also times the ORM query with a
    hand-written filter on a plain SQLModel session (no kernel listeners).
(c) for attribution too: the query alone inside one open transaction, through
    each layer from the bare driver up to ORM entities.

Each figure is the median of many timed repetitions after a warmup; variants
of (b) run interleaved, round by round, so drift hits them equally.

The schema is rebuilt by the Alembic migrations as the owner role; queries run
as the app role (no BYPASSRLS), so row-level security applies as in production.
Environment (defaults follow scripts/pg.sh): PRM_PG_PORT (55432),
PRM_BENCH_DATABASE_URL (app role), PRM_BENCH_OWNER_URL (owner role).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # runnable as a plain script from any directory

PORT = os.environ.get("PRM_PG_PORT", "55432")
APP_URL = os.environ.get(
    "PRM_BENCH_DATABASE_URL", f"postgresql+psycopg://prm_app:prm_app@127.0.0.1:{PORT}/prm_bench"
)
OWNER_URL = os.environ.get(
    "PRM_BENCH_OWNER_URL",
    f"postgresql+psycopg://prm_owner:prm_owner@127.0.0.1:{PORT}/prm_bench",
)
# tenants.settings and alembic/env.py read these; set before importing them.
os.environ["DATABASE_URL"] = APP_URL
os.environ["MIGRATION_DATABASE_URL"] = OWNER_URL

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from benchmarks.common import DOCS, machine, rebuild_schema, record  # noqa: E402
from prm_saas.accounts.models import Patient  # noqa: E402
from tenants.db import get_engine, make_engine, set_engine, tenant_session  # noqa: E402

TENANTS = 1_000
PATIENTS_PER_TENANT = 100
PAGE = 20

PATIENT_COLUMNS = (
    "tenant_id",
    "name",
    "phone",
    "sex",
    "status",
    "created_at",
    "updated_at",
)
# The bare-SQL baseline selects exactly what the ORM query selects.
BARE_SQL = sa.text(
    "SELECT tenant_id, name, phone, email, sex, birth_date, id, password_hash, status, "
    "locale, created_at, updated_at, last_login_at FROM patient "
    "WHERE tenant_id = :t ORDER BY created_at DESC LIMIT :n"
)


# --- setup ------------------------------------------------------------------------


@contextmanager
def owner_bulk_load(owner: sa.Engine, *tables: str) -> Iterator[sa.Connection]:
    """A transaction in which the owner may bulk-write ``tables`` across tenants.

    scripts/pg.sh gives the owner BYPASSRLS, but an owner without it is subject
    to the policies (FORCE ROW LEVEL SECURITY), and COPY refuses tables whose
    policies apply. So the owner lifts FORCE for the load and restores it in the
    same transaction: no other session ever sees the table unforced, and the
    app role is never exempt either way.
    """
    with owner.begin() as conn:
        for t in tables:
            conn.execute(sa.text(f'ALTER TABLE "{t}" NO FORCE ROW LEVEL SECURITY'))
        yield conn
        for t in tables:
            conn.execute(sa.text(f'ALTER TABLE "{t}" FORCE ROW LEVEL SECURITY'))


def insert_tenants(conn: sa.Connection, first: int, count: int) -> list[int]:
    """``count`` tenant rows with slugs bench-<first>..; their ids."""
    now = datetime.now(UTC)
    rows = [
        {"slug": f"bench-{n}", "name": f"诊所{n}", "now": now} for n in range(first, first + count)
    ]
    conn.execute(
        sa.text(
            "INSERT INTO tenant (slug, name, kind, timezone, default_locale, currency, status, "
            "logo_url, primary_color, created_at, updated_at) VALUES (:slug, :name, 'clinic', "
            "'Asia/Shanghai', 'zh-CN', 'CNY', 'active', '', '#0f766e', :now, :now)"
        ),
        rows,
    )
    slugs = [r["slug"] for r in rows]
    found = conn.execute(
        sa.text("SELECT id FROM tenant WHERE slug = ANY(:s) ORDER BY id"), {"s": slugs}
    )
    return list(found.scalars())


def copy_patients(conn: sa.Connection, tenant_ids: list[int]) -> int:
    """PATIENTS_PER_TENANT patients for each tenant, written with COPY.

    Rows go in round by round (one patient of every tenant per round), so each
    tenant's rows are spread over the whole heap like real sign-ups, not packed
    into a few pages.
    """
    base = datetime(2026, 1, 1, tzinfo=UTC)
    order = list(tenant_ids)
    random.Random(7).shuffle(order)
    raw = conn.connection.driver_connection
    assert raw is not None
    n = 0
    with (
        raw.cursor() as cur,
        cur.copy(f"COPY patient ({', '.join(PATIENT_COLUMNS)}) FROM STDIN") as copy,
    ):
        for i in range(PATIENTS_PER_TENANT):
            for tid in order:
                at = base + timedelta(minutes=i * 1_000 + n % 997)
                copy.write_row((tid, f"患者{i}", f"+86139{i:08d}", "unknown", "active", at, at))
                n += 1
    return n


def vacuum_analyze(owner: sa.Engine) -> None:
    """Fresh statistics and visibility map, as autovacuum would leave them."""
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE tenant, patient"))


# --- the measured queries ----------------------------------------------------------


def orm_auto(tid: int) -> int:
    """The application's query: no tenant filter written, the kernel adds it."""
    with tenant_session(tid) as s:
        rows = s.exec(select(Patient).order_by(col(Patient.created_at).desc()).limit(PAGE)).all()
    return len(rows)


def bare_sql(tid: int) -> int:
    """Hand-written SQL with its own WHERE, in the same kind of tenant transaction."""
    with tenant_session(tid) as s:
        rows = s.connection().execute(BARE_SQL, {"t": tid, "n": PAGE}).all()
    return len(rows)


def make_orm_manual(engine: sa.Engine) -> Callable[[int], int]:
    """The ORM query with a hand-written filter on a plain session: the kernel's
    listeners are absent, the transaction setup is the same. Attribution only;
    application code never opens sessions outside tenants.db."""

    def orm_manual(tid: int) -> int:
        with Session(engine) as s, s.begin():
            s.connection().execute(
                sa.text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tid)}
            )
            rows = s.exec(
                select(Patient)
                .where(Patient.tenant_id == tid)
                .order_by(col(Patient.created_at).desc())
                .limit(PAGE)
            ).all()
        return len(rows)

    return orm_manual


def measure_layers(tid: int, reps: int, warmup: int) -> dict[str, Timing]:
    """(c) Where the ORM's extra time goes: the query alone, inside one open tenant
    transaction, through each layer from the driver up to ORM entities."""
    patient = Patient.metadata.tables["patient"]
    columns = [getattr(Patient, c.name) for c in patient.c]
    newest = col(Patient.created_at).desc()
    with tenant_session(tid) as s:
        conn = s.connection()
        driver = conn.connection.driver_connection
        assert driver is not None
        sql = BARE_SQL.text.replace(":t", "%(t)s").replace(":n", "%(n)s")
        params = {"t": tid, "n": PAGE}
        layers: dict[str, Callable[[int], int]] = {
            "psycopg": lambda _t: len(driver.execute(sql, params).fetchall()),
            "sa_text": lambda _t: len(conn.execute(BARE_SQL, params).all()),
            "sa_core": lambda _t: len(
                conn.execute(
                    sa.select(patient)
                    .where(patient.c.tenant_id == tid)
                    .order_by(patient.c.created_at.desc())
                    .limit(PAGE)
                ).all()
            ),
            "orm_columns": lambda _t: len(
                s.execute(sa.select(*columns).order_by(newest).limit(PAGE)).all()
            ),
            "orm_entities": lambda _t: len(
                s.exec(select(Patient).order_by(newest).limit(PAGE)).all()
            ),
        }
        return measure(layers, tid, reps, warmup)


def explain(tid: int) -> str:
    """The plan of the application's query exactly as the ORM sends it (criteria
    included), run as the app role inside the tenant (RLS included)."""
    engine = get_engine()
    sent: list[tuple[str, object]] = []

    def grab(_c: object, _cur: object, statement: str, params: object, *_: object) -> None:
        if "FROM patient" in statement:
            sent.append((statement, params))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        orm_auto(tid)
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    statement, params = sent[-1]
    with tenant_session(tid) as s:
        plan = s.connection().exec_driver_sql(
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + statement,
            params,  # type: ignore[arg-type]
        )
        return statement.replace("\n", " ") + "\n\n" + "\n".join(r[0] for r in plan)


# --- timing ------------------------------------------------------------------------


@dataclass
class Timing:
    """Medians of one measured variant, in microseconds."""

    name: str
    samples: list[float]

    @property
    def median_us(self) -> float:
        """Median of the samples."""
        return statistics.median(self.samples)

    @property
    def p90_us(self) -> float:
        """90th percentile of the samples."""
        return statistics.quantiles(self.samples, n=10)[-1]


def measure(
    variants: dict[str, Callable[[int], int]], tid: int, reps: int, warmup: int
) -> dict[str, Timing]:
    """Time every variant ``reps`` times, interleaved round by round (order shuffled
    per round), after ``warmup`` untimed rounds."""
    names = list(variants)
    samples: dict[str, list[float]] = {n: [] for n in names}
    rng = random.Random(11)
    for rep in range(warmup + reps):
        rng.shuffle(names)
        for name in names:
            t0 = time.perf_counter_ns()
            got = variants[name](tid)
            elapsed = (time.perf_counter_ns() - t0) / 1_000
            if got != PAGE:
                raise AssertionError(f"{name} returned {got} rows, expected {PAGE}")
            if rep >= warmup:
                samples[name].append(elapsed)
    return {n: Timing(n, samples[n]) for n in variants}


# --- report ------------------------------------------------------------------------


@dataclass
class Results:
    """Everything one run measured."""

    when: str
    machine: str
    postgres: str
    reps: int
    warmup: int
    cycles: int
    load_seconds: float
    load_average: float
    cache_growth: int
    one: Timing
    many: Timing
    b: dict[str, Timing]
    c: dict[str, Timing]
    plan_one: str
    plan_many: str

    @property
    def ratio_a(self) -> float:
        """1,000 tenants vs 1 tenant."""
        return self.many.median_us / self.one.median_us

    @property
    def ratio_b(self) -> float:
        """Automatic ORM filter + RLS vs hand-written bare SQL."""
        return self.b["orm_auto"].median_us / self.b["bare_sql"].median_us

    @property
    def ratio_kernel(self) -> float:
        """Automatic ORM filter vs hand-written ORM filter (the listeners' own cost)."""
        return self.b["orm_auto"].median_us / self.b["orm_manual"].median_us

    def markdown(self) -> str:
        """The results table as recorded in docs/benchmarks.md."""

        def verdict(ratio: float, target: float) -> str:
            return "meets target" if ratio <= target else "MISSES target"

        b = self.b
        lines = [
            f"Run {self.when} on {self.machine}; {self.postgres}; "
            f"1-minute load average at the end: {self.load_average:.2f}.",
            "",
            f"Each figure: median (p90) of {self.reps} timed repetitions after warmup; "
            "one repetition is a whole tenant transaction (pool checkout, BEGIN, set_config, "
            "query, fetch 20 rows, COMMIT) over TCP on 127.0.0.1. (a) alternates the "
            f"two databases {self.cycles} times and pools the samples; the variants of (b) "
            "run interleaved in shuffled order. Loading "
            f"{TENANTS:,} tenants x {PATIENTS_PER_TENANT} patients (COPY) took "
            f"{self.load_seconds:.1f} s. SQLAlchemy compiled-cache entries added during the "
            f"timed (b) runs: {self.cache_growth} (0: the loader criteria are cached).",
            "",
            "| measurement | median µs | p90 µs |",
            "|---|---:|---:|",
            f"| (a) ORM list query, 1 tenant in the database | {self.one.median_us:.0f} "
            f"| {self.one.p90_us:.0f} |",
            f"| (a) same query, same tenant, {TENANTS:,} tenants (100,000 patients) "
            f"| {self.many.median_us:.0f} | {self.many.p90_us:.0f} |",
            f"| (b) ORM, automatic filter (with_loader_criteria + RLS) "
            f"| {b['orm_auto'].median_us:.0f} | {b['orm_auto'].p90_us:.0f} |",
            f"| (b) bare SQL, hand-written WHERE tenant_id = :t (+ RLS) "
            f"| {b['bare_sql'].median_us:.0f} | {b['bare_sql'].p90_us:.0f} |",
            f"| (b') ORM, hand-written filter, plain session (attribution) "
            f"| {b['orm_manual'].median_us:.0f} | {b['orm_manual'].p90_us:.0f} |",
            "",
            "| ratio | value | target | |",
            "|---|---:|---:|---|",
            f"| (a) 1,000 tenants / 1 tenant | {self.ratio_a:.3f} | <= 1.1 "
            f"| {verdict(self.ratio_a, 1.1)} |",
            f"| (b) ORM automatic / bare SQL | {self.ratio_b:.3f} | <= 1.2 "
            f"| {verdict(self.ratio_b, 1.2)} |",
            f"| (b') ORM automatic / ORM hand-filtered | {self.ratio_kernel:.3f} | | "
            "the kernel's own share |",
            "",
            "(c) The query alone inside one open tenant transaction, layer by layer "
            "(same SQL, same 20 rows; ORM rows filtered automatically):",
            "",
            "| layer | median µs | p90 µs |",
            "|---|---:|---:|",
            *(
                f"| {LAYER_NAMES[k]} | {t.median_us:.0f} | {t.p90_us:.0f} |"
                for k, t in self.c.items()
            ),
            "",
            "The ORM's statement and its plan inside the tenant (1 tenant, then 1,000 tenants):",
            "",
            "```",
            self.plan_one,
            "```",
            "",
            "```",
            self.plan_many,
            "```",
        ]
        return "\n".join(lines)


LAYER_NAMES = {
    "psycopg": "psycopg, no SQLAlchemy",
    "sa_text": "SQLAlchemy Core, text()",
    "sa_core": "SQLAlchemy Core, select(table) (types processed)",
    "orm_columns": "ORM, select(columns) through the session",
    "orm_entities": "ORM, select(Patient) entities through the session",
}


# --- main --------------------------------------------------------------------------


def load_alone(owner: sa.Engine, target: int | None) -> int:
    """The target tenant alone in the database, with its 100 patients; its id."""
    with owner_bulk_load(owner, "tenant", "patient") as conn:
        conn.execute(sa.text("TRUNCATE patient"))
        if target is None:
            [target] = insert_tenants(conn, 0, 1)
        conn.execute(sa.text("DELETE FROM tenant WHERE id <> :t"), {"t": target})
        copy_patients(conn, [target])
    vacuum_analyze(owner)
    return target


def load_crowd(owner: sa.Engine, target: int) -> float:
    """999 more tenants; every tenant's rows, the target's included (the same
    100 rows), loaded interleaved across the heap. Seconds taken."""
    t0 = time.perf_counter()
    with owner_bulk_load(owner, "tenant", "patient") as conn:
        others = insert_tenants(conn, 1, TENANTS - 1)
        conn.execute(sa.text("TRUNCATE patient"))
        loaded = copy_patients(conn, [target, *others])
    vacuum_analyze(owner)
    assert loaded == TENANTS * PATIENTS_PER_TENANT
    return time.perf_counter() - t0


def compiled_cache_size(engine: sa.Engine) -> int:
    """Entries in SQLAlchemy's statement cache (grows if a statement never hits it)."""
    cache = getattr(engine, "_compiled_cache", None)
    return len(cache) if cache is not None else -1


def main() -> None:
    """Build the database, alternate the two loads for (a), measure (b), report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3_000, help="timed repetitions per variant")
    parser.add_argument("--warmup", type=int, default=300, help="untimed rounds first")
    parser.add_argument(
        "--cycles", type=int, default=10, help="(a): alternate 1-tenant / 1,000-tenant loads"
    )
    parser.add_argument("--record", action="store_true", help=f"write results to {DOCS}")
    args = parser.parse_args()

    owner = make_engine(OWNER_URL)
    app = make_engine(APP_URL)
    set_engine(app)
    with owner.connect() as conn:
        postgres = "PostgreSQL " + str(conn.execute(sa.text("SHOW server_version")).scalar())
    print(f"{machine()}; {postgres}; prm_bench at {APP_URL.split('@')[1]}")
    rebuild_schema(owner)

    # (a): the same tenant alone, then among 1,000, alternating so that drift
    # on a shared machine hits both sides; each cycle's samples are pooled.
    per_cycle = max(1, args.reps // args.cycles)
    one_samples: list[float] = []
    many_samples: list[float] = []
    target: int | None = None
    load_seconds = 0.0
    plan_one = plan_many = ""
    for cycle in range(args.cycles):
        target = load_alone(owner, target)
        plan_one = explain(target)
        one = measure({"orm_auto": orm_auto}, target, per_cycle, args.warmup)["orm_auto"]
        one_samples += one.samples
        load_seconds = load_crowd(owner, target)
        plan_many = explain(target)
        many = measure({"orm_auto": orm_auto}, target, per_cycle, args.warmup)["orm_auto"]
        many_samples += many.samples
        print(
            f"(a) cycle {cycle + 1}/{args.cycles}: 1 tenant {one.median_us:6.0f} µs, "
            f"{TENANTS} tenants {many.median_us:6.0f} µs"
        )
    assert target is not None

    # (b), on the 1,000-tenant database left by the last cycle.
    variants = {"orm_auto": orm_auto, "bare_sql": bare_sql, "orm_manual": make_orm_manual(app)}
    measure(variants, target, 0, args.warmup)
    cache_before = compiled_cache_size(app)
    b = measure(variants, target, args.reps, 0)
    cache_growth = compiled_cache_size(app) - cache_before
    c = measure_layers(target, args.reps, args.warmup)
    results = Results(
        when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine(),
        postgres=postgres,
        reps=args.reps,
        warmup=args.warmup,
        cycles=args.cycles,
        load_seconds=load_seconds,
        load_average=os.getloadavg()[0],
        cache_growth=cache_growth,
        one=Timing("orm_auto", one_samples),
        many=Timing("orm_auto", many_samples),
        b=b,
        c=c,
        plan_one=plan_one,
        plan_many=plan_many,
    )
    print()
    print(results.markdown())
    if args.record:
        record("tenancy", results.markdown())
        print(f"\nrecorded in {DOCS.relative_to(ROOT)}")
    set_engine(None)
    owner.dispose()


if __name__ == "__main__":
    main()
