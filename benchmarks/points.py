"""The points ledger on PostgreSQL (issue 5), against bare SQL in the same run.

    scripts/pg.sh start && PRM_PG_DB=prm_bench_points scripts/pg.sh start
    eval "$(PRM_PG_DB=prm_bench_points scripts/pg.sh env)"
    .venv/bin/python benchmarks/points.py --entries 1000000 --record

DESTROYS the database it is pointed at (it rebuilds the schema).

1. Ledger writes/s: 20 threads on 10 hot accounts for ``--seconds``, earning and
   redeeming alternately, a new key each, one transaction per write, in
   alternating rounds of two variants on separate accounts:
   - product: ``points.earn`` / ``points.redeem`` through a tenant session (the
     app role, RLS on): tenant check, account lock, key look-up, lots, entry,
     balance;
   - baseline: the same writes as bare SQL on one connection each (lock the
     account row, insert the entry, insert or draw down a lot, update the
     balance): 4 statements, no checks.
   Afterwards every product account is checked (kept balance == ledger sum == lots).
2. Balance read: one member with 10,000 entries in a tenant with ``--entries``
   entries in all (bulk-loaded with generate_series as the owner): the median of
   ``points.balance`` (the kept row) and of ``points.check_account`` (sums over
   the ledger and the lots), each against the bare SELECT it runs.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # runnable as a plain script from any directory

import sqlalchemy as sa  # noqa: E402

from benchmarks.common import DOCS, machine, rebuild_schema, record  # noqa: E402
from prm_saas.membership import points  # noqa: E402
from tenants.db import make_engine, set_engine, tenant_session  # noqa: E402
from tenants.errors import DomainError  # noqa: E402

NOW = datetime(2026, 6, 1, tzinfo=UTC)
WORKERS = 20
ROUNDS = 3

BARE_LOCK = sa.text(
    "SELECT balance FROM points_account WHERE tenant_id = :t AND patient_id = :p FOR UPDATE"
)
BARE_ENTRY = sa.text(
    "INSERT INTO points_entry (tenant_id, patient_id, kind, points, reason, source_type, "
    "source_id, idempotency_key, created_at) "
    "VALUES (:t, :p, :kind, :n, 'bench', '', '', :key, :now)"
)
BARE_LOT = sa.text(
    "INSERT INTO points_lot (tenant_id, patient_id, points, remaining, expires_at, "
    "available_at, source_type, source_id, created_at) "
    "VALUES (:t, :p, :n, :n, :now + interval '1 year', :now, '', '', :now)"
)
BARE_DRAW = sa.text(
    "UPDATE points_lot SET remaining = remaining - :n WHERE id = ("
    "SELECT id FROM points_lot WHERE tenant_id = :t AND patient_id = :p AND remaining >= :n "
    "ORDER BY expires_at LIMIT 1)"
)
BARE_BALANCE = sa.text(
    "UPDATE points_account SET balance = balance + :n WHERE tenant_id = :t AND patient_id = :p"
)
BARE_READ = sa.text("SELECT balance FROM points_account WHERE tenant_id = :t AND patient_id = :p")
BARE_CHECK = sa.text(
    "SELECT (SELECT balance FROM points_account WHERE tenant_id = :t AND patient_id = :p), "
    "(SELECT coalesce(sum(points), 0) FROM points_entry WHERE tenant_id = :t AND patient_id = :p), "
    "(SELECT coalesce(sum(remaining), 0) FROM points_lot WHERE tenant_id = :t AND patient_id = :p)"
)


@dataclass(frozen=True)
class Round:
    """One timed round of one variant."""

    variant: str
    writes: int
    seconds: float
    refused: int

    @property
    def rate(self) -> float:
        """Writes per second."""
        return self.writes / self.seconds


def product_write(tenant_id: int, admin: object) -> Callable[[int, int, str], None]:
    def write(i: int, pid: int, key: str) -> None:
        with tenant_session(tenant_id) as s:
            if i % 2 == 0:
                points.earn(
                    s,
                    patient_id=pid,
                    points=10,
                    reason="bench",
                    source=None,
                    idempotency_key=key,
                    now=NOW,
                )
            else:
                points.redeem(
                    s,
                    actor=admin,  # type: ignore[arg-type]
                    patient_id=pid,
                    points=5,
                    reason="bench",
                    source=None,
                    idempotency_key=key,
                    now=NOW,
                )

    return write


def baseline_write(owner: sa.Engine, tenant_id: int) -> Callable[[int, int, str], None]:
    def write(i: int, pid: int, key: str) -> None:
        args = {"t": tenant_id, "p": pid, "key": key, "now": NOW}
        with owner.begin() as conn:
            bal = conn.execute(BARE_LOCK, args).scalar_one()
            if i % 2 == 0:
                conn.execute(BARE_ENTRY, {**args, "kind": "earn", "n": 10})
                conn.execute(BARE_LOT, {**args, "n": 10})
                conn.execute(BARE_BALANCE, {**args, "n": 10})
            else:
                if bal < 5 or conn.execute(BARE_DRAW, {**args, "n": 5}).rowcount != 1:
                    raise DomainError("points.insufficient")
                conn.execute(BARE_ENTRY, {**args, "kind": "redeem", "n": -5})
                conn.execute(BARE_BALANCE, {**args, "n": -5})

    return write


def race(
    variant: str,
    write: Callable[[int, int, str], None],
    pids: list[int],
    seconds: float,
    round_no: int,
) -> Round:
    """WORKERS threads write on ``pids`` for ``seconds``; refused redemptions
    (an account that has not earned yet) are counted, anything else is raised."""
    stop_at: list[float] = []
    done = [0] * WORKERS
    refused = [0] * WORKERS
    errors: list[BaseException] = []
    barrier = threading.Barrier(WORKERS, action=lambda: stop_at.append(time.monotonic() + seconds))

    def run(w: int) -> None:
        rnd = random.Random(w)
        barrier.wait()
        i = 0
        while time.monotonic() < stop_at[0]:
            try:
                write(i, rnd.choice(pids), f"{variant}-r{round_no}-w{w}-{i}")
                done[w] += 1
            except DomainError:
                refused[w] += 1
            except BaseException as exc:
                errors.append(exc)
                return
            i += 1

    threads = [threading.Thread(target=run, args=(w,)) for w in range(WORKERS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]
    return Round(variant, sum(done), seconds, sum(refused))


def bulk(owner: sa.Engine, tenant_id: int, member: int, others: list[int], total: int) -> None:
    """``total`` entries in the tenant, 10,000 of them the member's (one lot each)."""
    with owner.begin() as conn:
        for pid, n in [(member, 10_000)] + [(p, (total - 10_000) // len(others)) for p in others]:
            conn.execute(
                sa.text(
                    "INSERT INTO points_entry (tenant_id, patient_id, kind, points, reason, "
                    "source_type, source_id, idempotency_key, created_at) "
                    "SELECT :t, :p, 'earn', 1, 'bulk', 'bulk', g::text, "
                    "'bulk-' || :p || '-' || g, now() FROM generate_series(1, :n) g"
                ),
                {"t": tenant_id, "p": pid, "n": n},
            )
            conn.execute(BARE_LOT, {"t": tenant_id, "p": pid, "n": n, "now": NOW})
            conn.execute(
                sa.text(
                    "INSERT INTO points_account (tenant_id, patient_id, balance, updated_at) "
                    "VALUES (:t, :p, :n, now())"
                ),
                {"t": tenant_id, "p": pid, "n": n},
            )
        conn.execute(sa.text("ANALYZE"))


def median_ms(fn: Callable[[], object], reads: int = 30) -> float:
    times = []
    for _ in range(reads):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5, help="length of each write round")
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--record", action="store_true", help=f"write results to {DOCS}")
    args = parser.parse_args()
    owner = sa.create_engine(os.environ["MIGRATION_DATABASE_URL"], pool_size=WORKERS + 2)
    with owner.connect() as conn:
        postgres = conn.execute(sa.text("SHOW server_version")).scalar_one()
    print(f"{machine()}; PostgreSQL {postgres}")
    rebuild_schema(owner)
    set_engine(make_engine(os.environ["DATABASE_URL"]))
    from tests.factories import make_admin, make_patient, make_tenant

    tenant = make_tenant("bench-points")
    tid = tenant.id
    admin = make_admin(tenant, email="admin@bench.test")
    hot = {
        v: [make_patient(tenant, phone=f"+86137{j}0000{i:03d}").id for i in range(10)]
        for j, v in enumerate(("product", "baseline"))
    }
    with owner.begin() as conn:  # the product creates its accounts on first use
        for pid in hot["baseline"]:
            conn.execute(
                sa.text(
                    "INSERT INTO points_account (tenant_id, patient_id, balance, updated_at) "
                    "VALUES (:t, :p, 0, now())"
                ),
                {"t": tid, "p": pid},
            )
    writers = {"product": product_write(tid, admin), "baseline": baseline_write(owner, tid)}
    rounds: list[Round] = []
    for r in range(ROUNDS):
        for variant in ("product", "baseline") if r % 2 == 0 else ("baseline", "product"):
            rnd = race(variant, writers[variant], hot[variant], args.seconds, r)
            rounds.append(rnd)
            print(f"round {r + 1} {variant}: {rnd.rate:.0f} writes/s ({rnd.refused} refused)")
    with tenant_session(tid) as s:
        bad = [p for p in hot["product"] if not points.check_account(s, patient_id=p).ok]
    rates = {v: statistics.median(x.rate for x in rounds if x.variant == v) for v in writers}

    member = make_patient(tenant, phone="+8613799999999").id
    others = [make_patient(tenant, phone=f"+8613790000{i:03d}").id for i in range(90)]
    t0 = time.monotonic()
    bulk(owner, tid, member, others, args.entries)
    print(f"loaded {args.entries:,} entries in {time.monotonic() - t0:.0f} s")
    bare = {"t": tid, "p": member}
    with tenant_session(tid) as s, owner.connect() as conn:
        reads = {
            "balance": (
                median_ms(lambda: points.balance(s, actor=admin, patient_id=member)),  # type: ignore[arg-type]
                median_ms(lambda: conn.execute(BARE_READ, bare).scalar_one()),
            ),
            "check_account": (
                median_ms(lambda: points.check_account(s, patient_id=member)),
                median_ms(lambda: conn.execute(BARE_CHECK, bare).one()),
            ),
        }
    lines = [
        f"Recorded {datetime.now(UTC):%Y-%m-%d} on {machine()}, PostgreSQL {postgres}, "
        f"load average {os.getloadavg()[0]:.1f} at the end; {ROUNDS} alternating rounds of "
        f"{args.seconds:g} s per variant, medians. Product accounts not matching their "
        f"ledger afterwards: {len(bad)}.",
        "",
        "| measure | product | bare SQL baseline | ratio product / baseline |",
        "|---|---|---|---|",
        f"| ledger writes/s, {WORKERS} workers on 10 hot accounts | {rates['product']:.0f}/s "
        f"| {rates['baseline']:.0f}/s | {rates['product'] / rates['baseline']:.2f} |",
        f"| `points.balance`, member with 10,000 entries in a tenant with {args.entries:,} "
        f"| {reads['balance'][0]:.2f} ms | {reads['balance'][1]:.2f} ms "
        f"| {reads['balance'][1] / reads['balance'][0]:.2f} |",
        f"| `points.check_account` (ledger and lots sums) of that member "
        f"| {reads['check_account'][0]:.2f} ms | {reads['check_account'][1]:.2f} ms "
        f"| {reads['check_account'][1] / reads['check_account'][0]:.2f} |",
    ]
    print("\n".join(lines))
    if args.record:
        record("points", "\n".join(lines))
        print(f"\nrecorded in {DOCS.relative_to(ROOT)}")
    if bad:
        raise SystemExit(f"{len(bad)} accounts do not match their ledger")


if __name__ == "__main__":
    main()
