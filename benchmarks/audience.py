"""Audience expressions on PostgreSQL (issue 6), against the same query by hand.

    scripts/pg.sh start && PRM_PG_DB=prm_bench_audience scripts/pg.sh start
    eval "$(PRM_PG_DB=prm_bench_audience scripts/pg.sh env)"
    .venv/bin/python benchmarks/audience.py --patients 500000 --record

DESTROYS the database it is pointed at (it rebuilds the schema).

Data, bulk-loaded with generate_series as the owner: a tenant with
``--patients`` patients and 50 tags, each patient holding each tag with a
probability that grows with the tag's rank (0.8% .. 40%, about 10 tags a
patient); a second tenant with a tenth as many patients, tagged the same way
with tags of the same names, so tenant walls have rows to keep out.

Measured, median of ``--reads`` timed repetitions after a warmup, the two
variants alternating so drift hits both:
- product: what an audience count runs, through a tenant session (the app role,
  RLS on): parse the expression, read the tenant's tag ids, ``compile_sql``,
  ``SELECT count(*) FROM patient WHERE <clause>``;
- baseline: the same count written by hand as bare SQL on an owner connection
  (no RLS), tag ids known in advance: one EXISTS per clause on patient_tag,
  ``tenant_id = :t`` everywhere.
Both must give the same count.

Then a tag rule over all patients (``age_band`` 40-59 and ``sex`` female, about
a tenth of them), timed three ways, each against the same change written by hand
as bare SQL on an owner connection (a CTE that inserts the missing tags, deletes
the stale ones and writes one history row per change) for a twin rule on its own
tag: the first run (every match is new), a steady run (nothing changed: what the
nightly safety net usually does), and a run after 1% of the patients' birth
dates moved (a mixed add / remove). Both sides must hold the same patients.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # runnable as a plain script from any directory

import sqlalchemy as sa  # noqa: E402
from sqlmodel import func, select  # noqa: E402

from benchmarks.common import DOCS, machine, rebuild_schema, record  # noqa: E402
from prm_saas.accounts.models import Patient  # noqa: E402
from prm_saas.audiences.expr import compile_sql, parse  # noqa: E402
from prm_saas.tags.models import Tag, TagKind, TagRule  # noqa: E402
from prm_saas.tags.services import evaluate_rule  # noqa: E402
from tenants.db import make_engine, set_engine, tenant_session  # noqa: E402

TAGS = 50
# The tags of the expression, by rank (a tag of rank r is held by r / 125 of the patients).
NAMED = {40: "高血压", 10: "VIP", 20: "银卡会员", 5: "流失"}
EXPRESSION = "高血压 AND (VIP OR 银卡会员) AND NOT 流失"

BASELINE = sa.text(
    "SELECT count(*) FROM patient p WHERE p.tenant_id = :t "
    "AND EXISTS (SELECT 1 FROM patient_tag pt WHERE pt.tenant_id = :t "
    "AND pt.patient_id = p.id AND pt.tag_id = :htn) "
    "AND EXISTS (SELECT 1 FROM patient_tag pt WHERE pt.tenant_id = :t "
    "AND pt.patient_id = p.id AND pt.tag_id IN (:vip, :silver)) "
    "AND NOT EXISTS (SELECT 1 FROM patient_tag pt WHERE pt.tenant_id = :t "
    "AND pt.patient_id = p.id AND pt.tag_id = :churn)"
)


def load(owner: sa.Engine, tenant_id: int, patients: int, phone_prefix: str) -> None:
    """``patients`` patients and TAGS tags in the tenant, tagged by a hash of
    (patient, tag): the same data every run."""
    args = {"t": tenant_id, "n": patients, "k": TAGS, "pre": phone_prefix}
    with owner.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO patient (tenant_id, name, phone, sex, status, created_at, updated_at) "
                "SELECT :t, '患者' || g, :pre || lpad(g::text, 8, '0'), 'unknown', 'active', "
                "now(), now() FROM generate_series(1, :n) g"
            ),
            args,
        )
        conn.execute(
            sa.text(
                "INSERT INTO tag (tenant_id, name, color, description, kind, created_at) "
                "SELECT :t, 'tag' || lpad(g::text, 2, '0'), '#64748b', '', 'manual', now() "
                "FROM generate_series(1, :k) g ORDER BY g"
            ),
            args,
        )
        for rank, name in NAMED.items():
            conn.execute(
                sa.text("UPDATE tag SET name = :name WHERE tenant_id = :t AND name = :old"),
                {"t": tenant_id, "name": name, "old": f"tag{rank:02d}"},
            )
        # the rank of a tag is its position in id order
        conn.execute(
            sa.text(
                "INSERT INTO patient_tag (tenant_id, patient_id, tag_id, source, added_at) "
                "SELECT :t, p.id, t.id, 'manual', now() FROM patient p "
                "CROSS JOIN (SELECT id, row_number() OVER (ORDER BY id) AS rank FROM tag "
                "WHERE tenant_id = :t) t "
                "WHERE p.tenant_id = :t "
                # a hash of the pair, not random(): the planner would call random()
                # once per tag
                "AND abs(hashtext(p.id || ':' || t.id)) % 1000 < t.rank * 8"
            ),
            args,
        )


RULE = [
    {"key": "age_band", "params": {"min_age": 40, "max_age": 59}},
    {"key": "sex", "params": {"sex": "female"}},
]
RULE_BASELINE = sa.text(
    "WITH m AS (SELECT id FROM patient WHERE tenant_id = :t AND sex = 'female' "
    "AND birth_date IS NOT NULL AND birth_date <= :oldest_young AND birth_date > :born_after), "
    "ins AS (INSERT INTO patient_tag (tenant_id, patient_id, tag_id, source, rule_id, added_at) "
    "SELECT :t, m.id, :tag, 'rule', :rule, now() FROM m WHERE NOT EXISTS (SELECT 1 FROM "
    "patient_tag pt WHERE pt.tenant_id = :t AND pt.tag_id = :tag AND pt.patient_id = m.id) "
    "RETURNING patient_id), "
    "del AS (DELETE FROM patient_tag pt WHERE pt.tenant_id = :t AND pt.tag_id = :tag "
    "AND pt.patient_id NOT IN (SELECT id FROM m) RETURNING patient_id) "
    "INSERT INTO tag_event (tenant_id, patient_id, tag_id, action, rule_id, at, reason) "
    "SELECT :t, patient_id, :tag, 'added', :rule, now(), '' FROM ins UNION ALL "
    "SELECT :t, patient_id, :tag, 'removed', :rule, now(), '' FROM del"
)


def rule_tags(tenant_id: int) -> dict[str, tuple[int, int]]:
    """Two auto tags with the same rule: (tag id, rule id) for product and baseline."""
    out: dict[str, tuple[int, int]] = {}
    with tenant_session(tenant_id) as s:
        for variant in ("product", "baseline"):
            tag = Tag(name=f"rule-{variant}", kind=TagKind.AUTO)
            s.add(tag)
            s.flush()
            assert tag.id is not None
            rule = TagRule(tag_id=tag.id, conditions=json.dumps(RULE), active=True)
            s.add(rule)
            s.flush()
            assert rule.id is not None
            out[variant] = (tag.id, rule.id)
    return out


def rule_runs(owner: sa.Engine, tenant_id: int, patients: int) -> list[str]:
    """Time the rule's first, steady and churned runs against the bare-SQL twin."""
    with owner.begin() as conn:
        # birth dates over 1940-2008 and alternate sexes, the same every run
        conn.execute(
            sa.text(
                "UPDATE patient SET birth_date = date '1940-01-01' + "
                "(abs(hashtext(id::text)) % 25000), "
                "sex = CASE WHEN id % 2 = 0 THEN 'female' ELSE 'male' END WHERE tenant_id = :t"
            ),
            {"t": tenant_id},
        )
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE patient"))
    ids = rule_tags(tenant_id)
    now = datetime.now(UTC)
    with tenant_session(tenant_id) as s:
        from prm_saas.tags.conditions import context

        today = context(s, now).today
    bounds = {
        "oldest_young": today.replace(year=today.year - 40),
        "born_after": today.replace(year=today.year - 60),
    }

    def product() -> None:
        with tenant_session(tenant_id) as s:
            evaluate_rule(session=s, rule_id=ids["product"][1], now=now)

    def baseline() -> None:
        tag, rule = ids["baseline"]
        with owner.begin() as conn:
            conn.execute(RULE_BASELINE, {"t": tenant_id, "tag": tag, "rule": rule, **bounds})
            conn.execute(
                sa.text(
                    "UPDATE tag_rule SET matched = (SELECT count(*) FROM patient_tag "
                    "WHERE tenant_id = :t AND tag_id = :tag), evaluated_at = now() "
                    "WHERE id = :rule"
                ),
                {"t": tenant_id, "tag": tag, "rule": rule},
            )

    def holders(variant: str) -> set[int]:
        with owner.connect() as conn:
            return set(
                conn.execute(
                    sa.text("SELECT patient_id FROM patient_tag WHERE tag_id = :tag"),
                    {"tag": ids[variant][0]},
                ).scalars()
            )

    def churn(seed: int) -> None:
        with owner.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE patient SET birth_date = birth_date + 3650 * (CASE WHEN "
                    "birth_date < date '1975-01-01' THEN 1 ELSE -1 END) "
                    "WHERE tenant_id = :t AND abs(hashtext(id || ':' || :seed)) % 100 = 0"
                ),
                {"t": tenant_id, "seed": seed},
            )

    rows: list[tuple[str, float, float, int]] = []
    first = {"product": timed(product)[0], "baseline": timed(baseline)[0]}
    matched = len(holders("product"))
    if holders("product") != holders("baseline"):
        raise SystemExit("the rule and its hand-written twin disagree after the first run")
    rows.append(("first run (every match added)", first["product"], first["baseline"], matched))
    steady: dict[str, list[float]] = {"product": [], "baseline": []}
    for _ in range(3):
        steady["product"] += timed(product)
        steady["baseline"] += timed(baseline)
    rows.append(
        (
            "steady run (nothing changed)",
            statistics.median(steady["product"]),
            statistics.median(steady["baseline"]),
            0,
        )
    )
    churned: dict[str, list[float]] = {"product": [], "baseline": []}
    changes = 0
    for seed in range(3):
        before = holders("product")
        churn(seed)
        churned["product"] += timed(product)
        churned["baseline"] += timed(baseline)
        after = holders("product")
        changes += len(before ^ after)
        if after != holders("baseline"):
            raise SystemExit("the rule and its hand-written twin disagree after a churn")
    rows.append(
        (
            "after 1% of birth dates moved",
            statistics.median(churned["product"]),
            statistics.median(churned["baseline"]),
            changes // 3,
        )
    )
    out = [
        "",
        f"Tag rule `age 40-59 AND female` over all {patients:,} patients "
        f"({matched:,} match), `evaluate_rule` through a tenant session against the same "
        "change as one bare-SQL statement (first run once, the others medians of 3):",
        "",
        "| rule run | product | hand-written SQL | ratio | tags changed |",
        "|---|---|---|---|---|",
    ]
    out += [f"| {name} | {p:.0f} ms | {b:.0f} ms | {p / b:.2f} | {n:,} |" for name, p, b, n in rows]
    return out


def timed(fn: Callable[[], object]) -> list[float]:
    t0 = time.perf_counter()
    fn()
    return [(time.perf_counter() - t0) * 1000]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=500_000)
    parser.add_argument("--reads", type=int, default=15, help="timed repetitions per variant")
    parser.add_argument("--record", action="store_true", help=f"write results to {DOCS}")
    args = parser.parse_args()
    owner = sa.create_engine(os.environ["MIGRATION_DATABASE_URL"])
    with owner.connect() as conn:
        postgres = conn.execute(sa.text("SHOW server_version")).scalar_one()
    print(f"{machine()}; PostgreSQL {postgres}")
    rebuild_schema(owner)
    set_engine(make_engine(os.environ["DATABASE_URL"]))
    from tests.factories import make_tenant

    tid = make_tenant("bench-audience").id
    other = make_tenant("bench-audience-b").id
    t0 = time.monotonic()
    load(owner, tid, args.patients, "+86139")
    load(owner, other, max(args.patients // 10, 1), "+86138")
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE patient, tag, patient_tag"))
        tagged = conn.execute(
            sa.text("SELECT count(*) FROM patient_tag WHERE tenant_id = :t"), {"t": tid}
        ).scalar_one()
        ids = dict(
            conn.execute(sa.text("SELECT name, id FROM tag WHERE tenant_id = :t"), {"t": tid}).all()
        )
    load_s = time.monotonic() - t0
    print(
        f"loaded {args.patients:,} patients with {tagged:,} tags "
        f"({tagged / args.patients:.1f} each) in {load_s:.0f} s"
    )
    bare = {
        "t": tid,
        "htn": ids["高血压"],
        "vip": ids["VIP"],
        "silver": ids["银卡会员"],
        "churn": ids["流失"],
    }

    def product() -> int:
        with tenant_session(tid) as s:
            tree = parse(EXPRESSION)
            tag_ids = {name: i for name, i in s.exec(select(Tag.name, Tag.id)).all() if i}
            clause = compile_sql(tree, tag_ids)
            query = select(func.count()).select_from(Patient).where(clause)
            return int(s.exec(query).one())

    def baseline() -> int:
        with owner.connect() as conn:
            return int(conn.execute(BASELINE, bare).scalar_one())

    counts = {"product": product(), "baseline": baseline()}  # warmup, and the answer
    print(f"matching: {counts}")
    times: dict[str, list[float]] = {"product": [], "baseline": []}
    for i in range(args.reads):
        order = ("product", "baseline") if i % 2 == 0 else ("baseline", "product")
        for variant in order:
            times[variant] += timed(product if variant == "product" else baseline)
    med = {v: statistics.median(ts) for v, ts in times.items()}
    ratio = med["product"] / med["baseline"]
    lines = [
        f"Recorded {datetime.now(UTC):%Y-%m-%d} on {machine()}, PostgreSQL {postgres}, "
        f"load average {os.getloadavg()[0]:.1f} at the end; {args.patients:,} patients "
        f"with {tagged:,} tags from {TAGS} ({tagged / args.patients:.1f} each), and a second "
        f"tenant a tenth that size with tags of the same names; {args.reads} alternating "
        f"repetitions per variant, medians. Expression `{EXPRESSION}`: "
        f"{counts['product']:,} patients (baseline: {counts['baseline']:,}).",
        "",
        "| measure | product | hand-written SQL | ratio product / hand-written (time) |",
        "|---|---|---|---|",
        f"| audience count, three clauses, {args.patients:,} patients "
        f"| {med['product']:.0f} ms | {med['baseline']:.0f} ms | {ratio:.2f} |",
    ]
    lines += rule_runs(owner, tid, args.patients)
    print("\n".join(lines))
    if args.record:
        record("audience", "\n".join(lines))
        print(f"\nrecorded in {DOCS.relative_to(ROOT)}")
    if counts["product"] != counts["baseline"]:
        raise SystemExit("the product and the hand-written query disagree")


if __name__ == "__main__":
    main()
