"""The points ledger on PostgreSQL (issue 5).

    scripts/pg.sh start && PRM_PG_DB=prm_bench_points scripts/pg.sh start
    eval "$(PRM_PG_DB=prm_bench_points scripts/pg.sh env)"
    .venv/bin/python benchmarks/points.py [--seconds 10] [--entries 100000]

DESTROYS the database it is pointed at (it rebuilds the schema).

1. Ledger writes/s: 20 threads, each with its own tenant session (RLS on, the
   app role), call ``points.earn`` and ``points.redeem`` (alternating, new key
   each) through the real services on 10 hot accounts for ``--seconds``; every
   write takes its account's row lock. Afterwards every account is checked
   (kept balance == ledger sum == lots).
2. Balance read: one member with 10,000 entries in a tenant with ``--entries``
   entries in all (bulk-loaded with generate_series as the owner): the median of
   ``points.balance`` (the kept balance: one indexed row) and of
   ``points.check_account`` (sums over the ledger and the lots).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from prm_saas.membership import points  # noqa: E402
from tenants.db import make_engine, set_engine, tenant_session  # noqa: E402
from tests.database import migrate  # noqa: E402

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def rebuild(owner_url: str) -> None:
    eng = sa.create_engine(owner_url)
    with eng.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        conn.execute(sa.text("GRANT USAGE ON SCHEMA public TO PUBLIC"))
    eng.dispose()
    migrate(owner_url)


def writes(tenant_id: int, admin: object, pids: list[int], seconds: float) -> tuple[int, float]:
    stop = time.monotonic() + seconds
    done = [0] * 20
    errors: list[str] = []
    barrier = threading.Barrier(20)

    def run(w: int) -> None:
        rnd = random.Random(w)
        barrier.wait()
        i = 0
        while time.monotonic() < stop:
            pid = rnd.choice(pids)
            key = f"w{w}-{i}"
            try:
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
                            actor=admin,
                            patient_id=pid,
                            points=5,  # type: ignore[arg-type]
                            reason="bench",
                            source=None,
                            idempotency_key=key,
                            now=NOW,
                        )
                done[w] += 1
            except Exception as exc:
                errors.append(type(exc).__name__)
            i += 1

    t0 = time.monotonic()
    threads = [threading.Thread(target=run, args=(w,)) for w in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        print("errors:", sorted(set(errors)), len(errors))
    return sum(done), time.monotonic() - t0


def bulk(owner_url: str, tenant_id: int, member: int, others: list[int], total: int) -> None:
    eng = sa.create_engine(owner_url)
    with eng.begin() as conn:
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
            conn.execute(
                sa.text(
                    "INSERT INTO points_lot (tenant_id, patient_id, points, remaining, expires_at, "
                    "available_at, source_type, source_id, created_at) "
                    "VALUES (:t, :p, :n, :n, now() + interval '1 year', now(), 'bulk', '', now())"
                ),
                {"t": tenant_id, "p": pid, "n": n},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO points_account (tenant_id, patient_id, balance, updated_at) "
                    "VALUES (:t, :p, :n, now())"
                ),
                {"t": tenant_id, "p": pid, "n": n},
            )
        conn.execute(sa.text("ANALYZE"))
    eng.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--entries", type=int, default=100_000)
    args = ap.parse_args()
    owner_url = os.environ["MIGRATION_DATABASE_URL"]
    rebuild(owner_url)
    set_engine(make_engine(os.environ["DATABASE_URL"]))
    from tests.factories import make_admin, make_patient, make_tenant

    tenant = make_tenant("bench-points")
    admin = make_admin(tenant, email="admin@bench.test")
    pids = [make_patient(tenant, phone=f"+8613700000{i:03d}").id for i in range(10)]

    n, secs = writes(tenant.id, admin, pids, args.seconds)
    with tenant_session(tenant.id) as s:
        bad = [p for p in pids if not points.check_account(s, patient_id=p).ok]
    print(
        f"writes: {n} in {secs:.1f} s = {n / secs:.0f} ledger writes/s "
        f"(20 workers, 10 hot accounts); accounts not matching the ledger: {len(bad)}"
    )

    member = make_patient(tenant, phone="+8613799999999").id
    others = [make_patient(tenant, phone=f"+8613710000{i:03d}").id for i in range(90)]
    t0 = time.monotonic()
    bulk(owner_url, tenant.id, member, others, args.entries)
    print(f"loaded {args.entries} entries in {time.monotonic() - t0:.0f} s")
    for name, fn in [
        ("balance (kept row)", lambda s: points.balance(s, actor=admin, patient_id=member)),
        ("check_account (ledger sum)", lambda s: points.check_account(s, patient_id=member)),
    ]:
        times = []
        for _ in range(30):
            with tenant_session(tenant.id) as s:
                t0 = time.perf_counter()
                fn(s)
                times.append((time.perf_counter() - t0) * 1000)
        print(f"{name}: median {statistics.median(times):.2f} ms over 30 reads")


if __name__ == "__main__":
    main()
