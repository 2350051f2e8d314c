"""Booking under contention on PostgreSQL (issue 4): 500 concurrent attempts for 100 seats.

    scripts/pg.sh start
    .venv/bin/python benchmarks/booking.py            # prints the table
    .venv/bin/python benchmarks/booking.py --record   # also rewrites docs/benchmarks.md

In one run, against the ``prm_bench`` database of scripts/pg.sh:

- product: ``--attempts`` threads (500), each with its own tenant session (its own
  pooled connection, RLS on, the app role), call ``prm_saas.booking.services.reserve``
  for different patients on ONE slot of ``--seats`` (100) seats: every check of the
  use case (patient, slot, day, window, package at the location, eligibility, one
  booking per day), then the booking row and the conditional seat UPDATE.
- baseline: the same number of threads, same concurrency, on an owner connection
  (no RLS, no ORM): bare SQL ``UPDATE slot SET booked = booked + 1 WHERE id = :id
  AND booked < capacity`` and, when it took a seat, one ``INSERT INTO booking``, in
  one transaction each: the least any correct booking system does.

Both pools hold ``--connections`` connections (threads beyond that wait for one,
as requests wait for a worker). All threads start at one barrier; the time is
from the barrier to the last attempt's end. The booked count must be exactly
the seat count in every round (the slot counter and the rows are both checked).
Rounds alternate product and baseline (``--rounds`` each) and the medians are
reported; target: product bookings/s >= 0.5 x baseline bookings/s.

Environment (defaults follow scripts/pg.sh): PRM_PG_PORT (55432),
PRM_BENCH_DATABASE_URL (app role), PRM_BENCH_OWNER_URL (owner role).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
os.environ["DATABASE_URL"] = APP_URL
os.environ["MIGRATION_DATABASE_URL"] = OWNER_URL

import sqlalchemy as sa  # noqa: E402

from benchmarks.common import DOCS, machine, rebuild_schema, record  # noqa: E402
from prm_saas.accounts.auth import staff_principal  # noqa: E402
from prm_saas.accounts.models import Patient, Sex, StaffMember, StaffRole  # noqa: E402
from prm_saas.booking import schedule, services  # noqa: E402
from prm_saas.mall.models import HealthPackage, PackageLocation  # noqa: E402
from tenants.db import platform_session, set_engine, tenant_session  # noqa: E402
from tenants.errors import DomainError  # noqa: E402
from tenants.models import Tenant, TenantKind, TenantStatus  # noqa: E402

ATTEMPTS = 500
SEATS = 100
# PostgreSQL's default max_connections is 100 and other programs share the
# cluster: one pool is open at a time (the idle one is closed between races).
CONNECTIONS = 40
ROUNDS = 3
TARGET = 0.5


@dataclass(frozen=True)
class World:
    """The bench tenant: one location, one package, one slot, the patients."""

    tenant_id: int
    tenant_slug: str
    location_id: int
    package_id: int
    slot_id: int
    patient_ids: list[int]


def build_world(seats: int, attempts: int) -> World:
    """Two tenants (the other one only so the bench tenant is not alone); the bench
    tenant gets a location open every day, a published package, ``attempts`` patients."""
    ids = []
    with platform_session() as s:
        for slug in ("bench-a", "bench-b"):
            t = Tenant(slug=slug, name=slug, kind=TenantKind.CHECKUP_CENTER,
                       status=TenantStatus.ACTIVE)  # type: ignore[arg-type]  # fmt: skip
            s.add(t)
            s.flush()
            ids.append(int(t.id or 0))
    tid = ids[0]
    with tenant_session(tid) as s:
        admin = StaffMember(email="admin@bench.test", name="admin", role=StaffRole.TENANT_ADMIN)
        s.add(admin)
        s.flush()
        actor = staff_principal(admin)
        loc = schedule.create_location(session=s, actor=actor, name_zh="总院", max_days_ahead=30)
        for wd in range(7):
            schedule.add_hours(
                session=s,
                actor=actor,
                location_id=loc.id or 0,
                weekday=wd,
                start="08:00",
                end="08:30",
                slot_minutes=30,
                capacity=seats,
            )
        pkg = HealthPackage(code="B1", name_zh="基础套餐", sale_price_fen=30000, published=True)
        s.add(pkg)
        s.flush()
        s.add(PackageLocation(package_id=pkg.id or 0, location_id=loc.id or 0))
        patients = [
            Patient(name=f"患者{i}", phone=f"+86135{i:08d}", sex=Sex.UNKNOWN)
            for i in range(attempts)
        ]
        s.add_all(patients)
        s.flush()
        day = schedule.local_today(datetime.now(UTC), schedule.tenant_zone(s)) + timedelta(days=2)
        [view] = schedule.available_slots(session=s, location_id=loc.id or 0, day=day)
        return World(
            tenant_id=tid,
            tenant_slug="bench-a",
            location_id=int(loc.id or 0),
            package_id=int(pkg.id or 0),
            slot_id=view.id,
            patient_ids=[int(p.id or 0) for p in patients],
        )


def reset(owner: sa.Engine, world: World) -> None:
    """An empty slot again (as the owner, below the tenant wall)."""
    with owner.begin() as conn:
        conn.execute(sa.text("DELETE FROM booking WHERE slot_id = :s"), {"s": world.slot_id})
        conn.execute(sa.text("UPDATE slot SET booked = 0 WHERE id = :s"), {"s": world.slot_id})
    with owner.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(
            sa.text("VACUUM ANALYZE booking, slot")
        )


def warm(engine: sa.Engine, n: int) -> None:
    """Open ``n`` pooled connections now (not in the timed race) and return them."""
    conns = [engine.connect() for _ in range(n)]
    for c in conns:
        c.close()


def _outcome(fn: Callable[[int], bool], i: int) -> str:
    try:
        return "booked" if fn(i) else "full"
    except DomainError as exc:
        return exc.key
    except Exception as exc:  # reported in the outcomes
        return f"{type(exc).__name__}: {str(exc)[:80]}"


def _threads(
    indices: list[int], fn: Callable[[int], bool], gate: Callable[[], object]
) -> tuple[float, Counter[str]]:
    """Run fn(i) for each index in its own thread, all released after ``gate()``
    returns; (monotonic time the last one ended, outcomes)."""
    barrier = threading.Barrier(len(indices) + 1)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        result = _outcome(fn, i)
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in indices]
    for th in threads:
        th.start()
    gate()
    barrier.wait()
    for th in threads:
        th.join()
    return time.monotonic(), outcomes


def race(attempts: int, fn: Callable[[int], bool]) -> tuple[float, Counter[str]]:
    """Run fn(0..attempts-1) in as many threads, from one barrier; wall time and outcomes."""
    start: list[float] = []
    end, outcomes = _threads(list(range(attempts)), fn, lambda: start.append(time.monotonic()))
    return end - start[0], outcomes


def _child(
    k: int,
    processes: int,
    attempts: int,
    url: str,
    pool: int,
    make_fn: Callable[[sa.Engine], Callable[[int], bool]],
    gate: Any,
    results: Any,
) -> None:
    engine = sa.create_engine(url, pool_size=pool, max_overflow=0, pool_timeout=120)
    fn = make_fn(engine)
    warm(engine, pool)
    end, outcomes = _threads(list(range(k, attempts, processes)), fn, gate.wait)
    results.put((end, dict(outcomes)))
    engine.dispose()


def race_processes(
    processes: int,
    attempts: int,
    url: str,
    connections: int,
    make_fn: Callable[[sa.Engine], Callable[[int], bool]],
) -> tuple[float, Counter[str]]:
    """The same race spread over forked processes (threads in each, the connections
    split between them); wall time from the common start to the last attempt's end."""
    ctx = multiprocessing.get_context("fork")
    gate = ctx.Barrier(processes + 1)
    results = ctx.Queue()
    pool = max(1, connections // processes)
    children = [
        ctx.Process(target=_child, args=(k, processes, attempts, url, pool, make_fn, gate, results))
        for k in range(processes)
    ]
    for c in children:
        c.start()
    gate.wait()
    start = time.monotonic()
    ends: list[float] = []
    outcomes: Counter[str] = Counter()
    for _ in children:
        end, out = results.get()
        ends.append(end)
        outcomes.update(out)
    for c in children:
        c.join()
    return max(ends) - start, outcomes


def product_attempt(world: World, round_no: int) -> Callable[[int], bool]:
    """One patient books the slot through the product's use case."""

    def attempt(i: int) -> bool:
        now = datetime.now(UTC)
        with tenant_session(world.tenant_id) as s:
            services.reserve(
                session=s,
                patient_id=world.patient_ids[i],
                package_id=world.package_id,
                location_id=world.location_id,
                slot_id=world.slot_id,
                addon_item_ids=[],
                idempotency_key=f"bench-{round_no}-{i}",
                hold_until=now + timedelta(minutes=15),
                now=now,
            )
        return True

    return attempt


BASE_INSERT = sa.text(
    "INSERT INTO booking (tenant_id, patient_id, package_id, location_id, slot_id, status, "
    "hold_expires_at, idempotency_key, checkin_code, addon_item_ids, ics_uid, ics_sequence, "
    "walk_in, override_reason, created_at, updated_at) VALUES (:t, :p, :pkg, :loc, :slot, "
    "'held', :hold, :key, :code, '[]', :uid, 0, false, '', :now, :now)"
)
BASE_UPDATE = sa.text("UPDATE slot SET booked = booked + 1 WHERE id = :id AND booked < capacity")


def baseline_attempt(owner: sa.Engine, world: World, round_no: int) -> Callable[[int], bool]:
    """The same seat taken with bare SQL on an owner connection."""

    def attempt(i: int) -> bool:
        now = datetime.now(UTC)
        with owner.begin() as conn:
            took = conn.execute(BASE_UPDATE, {"id": world.slot_id}).rowcount == 1
            if took:
                conn.execute(
                    BASE_INSERT,
                    {
                        "t": world.tenant_id,
                        "p": world.patient_ids[i],
                        "pkg": world.package_id,
                        "loc": world.location_id,
                        "slot": world.slot_id,
                        "hold": now + timedelta(minutes=15),
                        "key": f"base-{round_no}-{i}",
                        "code": uuid.uuid4().hex[:24],
                        "uid": f"booking-{uuid.uuid4()}@{world.tenant_slug}.prm",
                        "now": now,
                    },
                )
        return took

    return attempt


def counted(owner: sa.Engine, world: World) -> tuple[int, int]:
    """(slot.booked, booking rows) of the bench slot."""
    with owner.connect() as conn:
        booked = conn.execute(
            sa.text("SELECT booked FROM slot WHERE id = :s"), {"s": world.slot_id}
        ).scalar_one()
        rows = conn.execute(
            sa.text("SELECT count(*) FROM booking WHERE slot_id = :s"), {"s": world.slot_id}
        ).scalar_one()
    return int(booked), int(rows)


@dataclass
class Round:
    """One timed race."""

    variant: str
    seconds: float
    booked: int
    rows: int
    outcomes: Counter[str]

    @property
    def rate(self) -> float:
        """Bookings made per second of the race."""
        return self.booked / self.seconds


@dataclass
class Results:
    """One run of the benchmark."""

    when: str
    machine: str
    postgres: str
    command: str
    attempts: int
    seats: int
    connections: int
    processes: int
    rounds: list[Round] = field(default_factory=list)
    load_average: float = 0.0

    def of(self, variant: str) -> list[Round]:
        """The rounds of one variant."""
        return [r for r in self.rounds if r.variant == variant]

    def median_rate(self, variant: str) -> float:
        """Median bookings/s of a variant."""
        return statistics.median(r.rate for r in self.of(variant))

    def exact(self) -> bool:
        """Whether every round booked exactly the seats (counter and rows)."""
        return all(r.booked == self.seats and r.rows == self.seats for r in self.rounds)

    def markdown(self) -> str:
        """The results as recorded in docs/benchmarks.md."""
        ratio = self.median_rate("product") / self.median_rate("baseline")
        verdict = "meets" if ratio >= TARGET else "MISSES"
        lines = [
            f"Run {self.when} on {self.machine}; {self.postgres}; 1-minute load average at "
            f"the end: {self.load_average:.2f}.",
            "",
            f"Command: `{self.command}`",
            "",
            f"{self.attempts} threads race for {self.seats} seats of one slot, each with its "
            f"own session, in {self.processes} process(es); {self.connections} pooled "
            "connections in all; "
            f"{len(self.of('product'))} rounds of each variant, alternating.",
            "",
            "| round | variant | seconds | booked (slot counter) | booking rows | "
            "bookings/s | outcomes |",
            "|---:|---|---:|---:|---:|---:|---|",
        ]
        for n, r in enumerate(self.rounds, 1):
            outcomes = ", ".join(f"{k} {v}" for k, v in sorted(r.outcomes.items()))
            lines.append(
                f"| {n} | {r.variant} | {r.seconds:.3f} | {r.booked} | {r.rows} "
                f"| {r.rate:,.0f} | {outcomes} |"
            )
        lines += [
            "",
            "| result | value | target |",
            "|---|---:|---|",
            f"| booked in every round | {'exactly ' + str(self.seats) if self.exact() else 'WRONG'}"
            f" | exactly {self.seats} |",
            f"| product bookings/s (median) | {self.median_rate('product'):,.0f} | |",
            f"| bare-SQL baseline bookings/s (median) | {self.median_rate('baseline'):,.0f} | |",
            f"| ratio product / baseline | {ratio:.2f} | >= {TARGET} ({verdict}) |",
        ]
        return "\n".join(lines)


def main() -> None:
    """Rebuild the database, then race product and baseline in alternating rounds."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attempts", type=int, default=ATTEMPTS)
    parser.add_argument("--seats", type=int, default=SEATS)
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="spread the threads over this many forked processes (both variants alike)",
    )
    parser.add_argument("--record", action="store_true", help=f"write results to {DOCS}")
    args = parser.parse_args()
    if args.seats > args.attempts:
        parser.error("--seats must not exceed --attempts")

    owner_setup = sa.create_engine(OWNER_URL, poolclass=sa.pool.NullPool)
    with owner_setup.connect() as conn:
        postgres = "PostgreSQL " + str(conn.execute(sa.text("SHOW server_version")).scalar())
    print(f"{machine()}; {postgres}; {APP_URL}")
    rebuild_schema(owner_setup)
    app = sa.create_engine(
        APP_URL, pool_size=args.connections, max_overflow=0, pool_timeout=120, pool_pre_ping=True
    )
    set_engine(app)
    owner = sa.create_engine(
        OWNER_URL, pool_size=args.connections, max_overflow=0, pool_timeout=120
    )
    world = build_world(args.seats, args.attempts)
    command_line = ".venv/bin/python benchmarks/booking.py" + "".join(
        f" {a}" for a in sys.argv[1:] if a != "--record"
    )
    results = Results(
        when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine(),
        postgres=postgres,
        command=command_line.strip(),
        attempts=args.attempts,
        seats=args.seats,
        connections=args.connections,
        processes=max(1, args.processes),
    )
    engines = {"product": app, "baseline": owner}

    def attempt_fn(variant: str, n: int) -> Callable[[int], bool]:
        if variant == "product":
            return product_attempt(world, n)
        return baseline_attempt(owner, world, n)

    def ready(variant: str) -> None:
        for name, engine in engines.items():
            if name != variant:
                engine.dispose()
        reset(owner_setup, world)
        warm(engines[variant], args.connections)

    # Warm each variant's code paths and statement caches once (not timed).
    for variant in ("product", "baseline"):
        ready(variant)
        race(min(args.attempts, args.connections * 2), attempt_fn(variant, -1))

    def timed(variant: str, n: int) -> tuple[float, Counter[str]]:
        ready(variant)
        if args.processes <= 1:
            return race(args.attempts, attempt_fn(variant, n))
        for engine in engines.values():
            engine.dispose()  # the children open their own connections

        def make_fn(engine: sa.Engine) -> Callable[[int], bool]:
            if variant == "product":
                set_engine(engine)
                return product_attempt(world, n)
            return baseline_attempt(engine, world, n)

        url = APP_URL if variant == "product" else OWNER_URL
        return race_processes(args.processes, args.attempts, url, args.connections, make_fn)

    for n in range(args.rounds):
        for variant in ("product", "baseline") if n % 2 == 0 else ("baseline", "product"):
            seconds, outcomes = timed(variant, n)
            booked, rows = counted(owner_setup, world)
            r = Round(variant, seconds, booked, rows, outcomes)
            results.rounds.append(r)
            print(
                f"round {n + 1} {variant:8}: {seconds:.3f} s, booked {booked} (rows {rows}), "
                f"{r.rate:,.0f} bookings/s; {dict(outcomes)}"
            )
    results.load_average = os.getloadavg()[0]
    print()
    print(results.markdown())
    if args.record:
        record("booking", results.markdown())
        print(f"\nrecorded in {DOCS.relative_to(ROOT)}")
    app.dispose()
    owner.dispose()
    owner_setup.dispose()
    if not results.exact():
        sys.exit("booked count was not exactly the seat count")


if __name__ == "__main__":
    main()
