"""Dashboards on PostgreSQL (issue 7): KPI roll-up and the tenant dashboard
against the same aggregates written by hand in SQL.

    scripts/pg.sh start && PRM_PG_DB=prm_bench_dash scripts/pg.sh start
    eval "$(PRM_PG_DB=prm_bench_dash scripts/pg.sh env)"
    .venv/bin/python -u benchmarks/dashboard.py --record

DESTROYS the database it is pointed at (it rebuilds the schema), unless
``--reuse`` finds the data of an earlier run of the same size there (then it
only brings the schema to the newest migration).

Data, bulk-loaded with set-based SQL (``INSERT ... SELECT generate_series``) as
the owner, consistent with the models, "now" being the time of generation:
- one big tenant (Asia/Shanghai): ``--patients`` patients (sexes and birth
  dates spread, created over 3 years in id order), 3 locations open every day
  with 8 slots of 80 seats (``location_hours`` and ``slot`` rows, ``booked``
  counted from the bookings), 8 packages, ``--bookings`` bookings in slots
  over the last 2 years and the next 15 days (past: completed, ~5% cancelled,
  ~4% no-show, ~2% expired holds; today by the clock; future: confirmed, some
  cancelled, expired or held), each made at an instant spread evenly over the
  2 years for a slot 0.5-14.5 days later, by a patient
  who existed then, ``confirmed_at`` / ``checked_in_at`` / ``completed_at`` /
  ``cancelled_at`` consistent (completion on the slot's day);
- one order per booking with its line: paid (Stripe, or at the clinic on the
  day) with a succeeded ``payment``; for a cancelled booking refunded in full
  (~2.3%) or in half (~1%) with a succeeded ``refund`` at the cancellation, or
  cancelled unpaid; expired and pending orders for the holds;
- points: an earn per completed booking (1 point per yuan), a redeem of half
  of it for 15% a month later, the expiry of all of it for 10% a year later
  (when that is past), and the ``points_account`` balances;
- 5 challenges over the last year with participants (30% completed), 4
  campaigns with one run each and its sent marketing SMS (``message`` rows
  with the campaign source, ``campaign_recipient`` rows);
- ``package_view`` rows when that table exists;
- 99 small tenants with 500-5,000 bookings each, made the same way (1
  location, 2 slots of 10 seats a day, a patient per 4 bookings, 1 challenge,
  1 campaign).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # runnable as a plain script from any directory

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from alembic.config import Config  # noqa: E402
from sqlmodel import select  # noqa: E402

from alembic import command  # noqa: E402
from benchmarks.common import DOCS, machine, rebuild_schema, record  # noqa: E402
from tenants.db import make_engine, set_engine  # noqa: E402

TZ = "Asia/Shanghai"
BIG = "bench-dash-big"
SMALL = "bench-dash-{:02d}"
ADMIN_EMAIL = "admin@bench-dash.test"
PACKAGES = [  # (code, name, sale price in fen)
    ("P01", "入职体检", 19900),
    ("P02", "基础体检", 39900),
    ("P03", "青年白领体检", 59900),
    ("P04", "女性专项体检", 89900),
    ("P05", "中老年体检", 129900),
    ("P06", "心脑血管体检", 199900),
    ("P07", "肿瘤筛查", 299900),
    ("P08", "尊享全面体检", 599900),
]
SEATED = "('held', 'confirmed', 'checked_in', 'completed', 'no_show')"


@dataclass(frozen=True)
class Shape:
    """What one tenant gets."""

    patients: int
    bookings: int
    locations: int
    slots_per_day: int  # 30-minute slots from 08:00 local
    capacity: int
    challenges: int
    campaigns: int
    reach: float  # share of the patients a campaign or a challenge reaches


def big_shape(patients: int, bookings: int) -> Shape:
    return Shape(patients, bookings, 3, 8, 80, 5, 4, 0.1)


def small_shape(i: int, tenants: int) -> Shape:
    """The i-th small tenant (0-based): 500 .. 5,000 bookings, spread evenly."""
    n = 500 + (4500 * i) // max(tenants - 2, 1)
    return Shape(max(n // 4, 10), n, 1, 2, 10, 1, 1, 0.3)


class Gen:
    """Set-based generation of one tenant's data on one owner connection (temp
    tables ``pt`` / ``st`` / ``pk`` number the tenant's patients, slots and
    packages for the random picks)."""

    def __init__(
        self, conn: sa.Connection, tenant_id: int, shape: Shape, now: datetime, verbose: bool
    ) -> None:
        self.conn, self.t, self.shape, self.now, self.verbose = (
            conn,
            tenant_id,
            shape,
            now,
            verbose,
        )
        self.today = now.astimezone(ZoneInfo(TZ)).date()
        self.p = {"t": tenant_id, "tz": TZ, "now": now, "today": self.today}

    def run(self, sql: str, **params: object) -> sa.CursorResult[object]:
        return self.conn.execute(sa.text(sql), {**self.p, **params})

    def step(self, label: str, fn: object) -> None:
        t0 = time.monotonic()
        assert callable(fn)
        fn()
        self.conn.commit()
        if self.verbose:
            print(f"  {label}: {time.monotonic() - t0:.1f} s", flush=True)

    def all(self) -> None:
        self.run("SELECT setseed(:seed)", seed=(self.t % 1000) / 1000)
        for label, fn in [
            ("patients", self.patients),
            ("locations, hours, packages, slots", self.catalog),
            ("bookings", self.bookings),
            ("slot.booked", self.slot_booked),
            ("orders", self.orders),
            ("order lines, payments, refunds", self.payments),
            ("points", self.points),
            ("challenges", self.challenges),
            ("campaigns", self.campaigns),
            ("package views", self.package_views),
        ]:
            self.step(label, fn)
        for tmp in ("pt", "st", "pk"):
            self.run(f"DROP TABLE IF EXISTS {tmp}")
        self.conn.commit()

    def patients(self) -> None:
        # created over the last 3 years in id order (a booking picks among those
        # created before it)
        self.run(
            "INSERT INTO patient (tenant_id, name, phone, sex, birth_date, status, "
            "created_at, updated_at) "
            "SELECT :t, '患者' || g, '+86' || lpad((:t * 10000000 + g)::text, 11, '0'), "
            "CASE WHEN r1 < 0.49 THEN 'female' WHEN r1 < 0.97 THEN 'male' ELSE 'unknown' END, "
            "CASE WHEN r2 < 0.03 THEN NULL ELSE date '1940-01-01' + (r2 * 25500)::int END, "
            "'active', c, c FROM (SELECT g, random() AS r1, random() AS r2, "
            "CAST(:now AS timestamptz) - interval '1095 days' "
            "+ ((g - 1 + random()) / :n) * interval '1095 days' AS c "
            "FROM generate_series(1, :n) g) x ORDER BY g",
            n=self.shape.patients,
        )
        self.run(
            "CREATE TEMP TABLE pt AS SELECT row_number() OVER (ORDER BY id) AS rn, id, "
            "phone FROM patient WHERE tenant_id = :t"
        )
        self.run("CREATE UNIQUE INDEX ON pt (rn)")

    def catalog(self) -> None:
        s = self.shape
        self.run(
            "INSERT INTO location (tenant_id, name_zh, name_en, address, phone, min_days_ahead, "
            "max_days_ahead, same_day_cutoff, active, created_at) "
            "SELECT :t, '院区' || g, 'Site ' || g, '', '', 1, 30, '', true, "
            "CAST(:now AS timestamptz) - interval '1100 days' "
            "FROM generate_series(1, :n) g ORDER BY g",
            n=s.locations,
        )
        end = f"{8 + s.slots_per_day // 2:02d}:{30 * (s.slots_per_day % 2):02d}"
        self.run(
            'INSERT INTO location_hours (tenant_id, location_id, weekday, start, "end", '
            "slot_minutes, capacity) SELECT :t, l.id, w, '08:00', :end, 30, :cap "
            "FROM location l, generate_series(0, 6) w WHERE l.tenant_id = :t",
            end=end,
            cap=s.capacity,
        )
        for code, name, price in PACKAGES:
            self.run(
                "INSERT INTO health_package (tenant_id, code, name_zh, name_en, summary_zh, "
                "summary_en, description_zh, description_en, instructions_zh, instructions_en, "
                "fasting_required, target_sex, min_age, max_age, list_price_fen, sale_price_fen, "
                "image_url, published, sort_order, created_at, updated_at) "
                "VALUES (:t, :code, :name, :code, '', '', '', '', '', '', true, 'any', 0, 120, "
                ":price, :price, '', true, 0, CAST(:now AS timestamptz) - interval '1100 days', "
                "CAST(:now AS timestamptz) - interval '1100 days')",
                code=code,
                name=name,
                price=price,
            )
        self.run(
            "CREATE TEMP TABLE pk AS SELECT row_number() OVER (ORDER BY id) AS rn, id, name_zh, "
            "sale_price_fen AS price FROM health_package WHERE tenant_id = :t"
        )
        self.run(
            "INSERT INTO slot (tenant_id, location_id, day, starts_at, ends_at, capacity, booked) "
            "SELECT :t, l.id, d, (d + time '08:00' + k * interval '30 minutes') AT TIME ZONE :tz, "
            "(d + time '08:30' + k * interval '30 minutes') AT TIME ZONE :tz, :cap, 0 "
            "FROM location l, (SELECT CAST(x AS date) AS d FROM generate_series("
            "CAST(:first AS date), CAST(:last AS date), interval '1 day') x) days, "
            "generate_series(0, :k - 1) k WHERE l.tenant_id = :t ORDER BY d, l.id, k",
            first=self.today - timedelta(days=730),
            last=self.today + timedelta(days=30),
            k=s.slots_per_day,
            cap=s.capacity,
        )
        self.run(
            "CREATE TEMP TABLE st AS SELECT row_number() OVER (ORDER BY id) AS rn, id, "
            "location_id, day, starts_at FROM slot WHERE tenant_id = :t"
        )
        self.run("CREATE UNIQUE INDEX ON st (rn)")

    def bookings(self) -> None:
        # made at an instant spread evenly over the last 2 years, for a slot 0.5 to
        # 14.5 days later (so the coming days fill up less the further they are)
        self.run(
            "INSERT INTO booking (tenant_id, patient_id, package_id, location_id, slot_id, "
            "status, hold_expires_at, idempotency_key, checkin_code, addon_item_ids, ics_uid, "
            "ics_sequence, walk_in, override_reason, created_at, updated_at, confirmed_at, "
            "checked_in_at, completed_at, cancelled_at) "
            "WITH a AS (SELECT g, CAST(:now AS timestamptz) - random() * interval '729 days' "
            "AS c0, (0.5 + random() * 14) * interval '1 day' AS lead, "
            "floor(random() * :nloc)::int AS li, floor(random() * :k)::int AS si, "
            "1 + floor(random() * 8)::int AS krn, random() AS rs, random() AS rl, "
            "random() AS rc, random() AS rp FROM generate_series(1, :n) g), "
            # slots were numbered by (day, location, slot of the day)
            "b AS (SELECT a.*, ((least(CAST((c0 + lead) AT TIME ZONE :tz AS date), "
            "CAST(:last AS date)) - CAST(:first AS date)) * :nloc + li) * :k + si + 1 AS srn "
            "FROM a), "
            "c AS (SELECT b.*, s.id AS slot_id, s.location_id, s.day, s.starts_at, "
            "least(c0, s.starts_at - interval '1 hour') AS made "
            "FROM b JOIN st s ON s.rn = b.srn), "
            "d AS (SELECT c.*, CASE "
            "WHEN day < :today THEN CASE WHEN rs < 0.05 THEN 'cancelled' "
            "WHEN rs < 0.09 THEN 'no_show' WHEN rs < 0.11 THEN 'expired' ELSE 'completed' END "
            "WHEN day = :today THEN CASE WHEN rs < 0.05 THEN 'cancelled' "
            "WHEN rs < 0.07 THEN 'expired' "
            "WHEN starts_at + interval '2 hours' < :now THEN 'completed' "
            "WHEN starts_at < :now THEN 'checked_in' ELSE 'confirmed' END "
            "ELSE CASE WHEN rs < 0.05 THEN 'cancelled' WHEN rs < 0.07 THEN 'expired' "
            "WHEN rs < 0.075 THEN 'held' ELSE 'confirmed' END END AS status FROM c), "
            "e AS (SELECT d.*, CASE WHEN status = 'held' "
            "THEN CAST(:now AS timestamptz) - rl * interval '10 minutes' ELSE made END AS at "
            "FROM d), "
            # the patient: one created before the booking (patients are created evenly
            # over the 3 years in id order)
            "f AS (SELECT e.*, 1 + floor(rp * greatest(1, floor(:np * extract(epoch FROM "
            "at - (CAST(:now AS timestamptz) - interval '1095 days')) / (1095 * 86400)) - 1)"
            ")::int AS prn FROM e) "
            "SELECT :t, p.id, k.id, f.location_id, f.slot_id, f.status, "
            "CASE WHEN f.status IN ('held', 'expired') THEN f.at + interval '15 minutes' END, "
            "'bench-' || f.g, md5(:t || '-' || f.g), '[]', 'bench-' || :t || '-' || f.g, 0, "
            "false, '', f.at, "
            "greatest(f.at + interval '1 minute', f.cancel, f.done, "
            "CASE WHEN f.status = 'expired' THEN f.at + interval '15 minutes' END), "
            "CASE WHEN f.status IN ('confirmed', 'checked_in', 'completed', 'no_show') "
            "OR (f.status = 'cancelled' AND f.rc < 0.7) THEN f.at + interval '1 minute' END, "
            "CASE WHEN f.status IN ('checked_in', 'completed') "
            "THEN f.starts_at + f.rc * interval '30 minutes' END, f.done, f.cancel "
            "FROM (SELECT f.*, CASE WHEN status = 'completed' "
            "THEN starts_at + interval '1 hour' + rc * interval '1 hour' END AS done, "
            "CASE WHEN status = 'cancelled' THEN at + interval '1 minute' + greatest(interval '0', "
            "least(starts_at, CAST(:now AS timestamptz)) - at - interval '1 minute') * rc "
            "END AS cancel FROM f) f "
            "JOIN pt p ON p.rn = f.prn JOIN pk k ON k.rn = f.krn ORDER BY f.at",
            n=self.shape.bookings,
            np=self.shape.patients,
            nloc=self.shape.locations,
            k=self.shape.slots_per_day,
            first=self.today - timedelta(days=730),
            last=self.today + timedelta(days=30),
        )

    def slot_booked(self) -> None:
        self.run(
            "UPDATE slot s SET booked = x.n FROM (SELECT slot_id, count(*) AS n FROM booking "
            f"WHERE tenant_id = :t AND status IN {SEATED} GROUP BY slot_id) x "
            "WHERE s.id = x.slot_id"
        )

    def orders(self) -> None:
        # one order per booking; r1 picks the payment method, r2 the refund
        self.run(
            "INSERT INTO orders (tenant_id, number, patient_id, booking_id, status, "
            "payment_method, currency, total_fen, paid_fen, refunded_fen, idempotency_key, "
            "expires_at, created_at, updated_at, paid_at) "
            "SELECT :t, to_char(created_at AT TIME ZONE :tz, 'YYYYMMDD') || '-' "
            "|| lpad(id::text, 10, '0'), patient_id, id, ostatus, method, 'CNY', price, "
            "CASE WHEN paid_at IS NULL THEN 0 ELSE price END, "
            "CASE ostatus WHEN 'refunded' THEN price WHEN 'partially_refunded' THEN price / 2 "
            "ELSE 0 END, 'order-' || id, "
            "CASE WHEN method = 'stripe' THEN created_at + interval '15 minutes' END, "
            "created_at, greatest(created_at, paid_at, CASE WHEN ostatus IN ('refunded', "
            "'partially_refunded', 'cancelled') THEN cancelled_at END, "
            "CASE WHEN ostatus = 'expired' THEN created_at + interval '15 minutes' END), paid_at "
            "FROM (SELECT y.*, CASE "
            "WHEN method = 'clinic' THEN checked_in_at "
            "WHEN ostatus IN ('paid', 'refunded', 'partially_refunded') "
            "THEN created_at + interval '1 minute' END AS paid_at "
            "FROM (SELECT x.*, CASE WHEN status IN ('completed', 'checked_in') AND r1 < 0.2 "
            "THEN 'clinic' ELSE 'stripe' END AS method, CASE "
            "WHEN status IN ('completed', 'checked_in', 'confirmed', 'no_show') THEN 'paid' "
            "WHEN status = 'held' THEN 'pending_payment' WHEN status = 'expired' THEN 'expired' "
            "WHEN r2 < 0.45 THEN 'refunded' WHEN r2 < 0.65 THEN 'partially_refunded' "
            "ELSE 'cancelled' END AS ostatus "
            "FROM (SELECT b.*, k.price, random() AS r1, random() AS r2 FROM booking b "
            "JOIN pk k ON k.id = b.package_id WHERE b.tenant_id = :t) x) y) z ORDER BY id"
        )

    def payments(self) -> None:
        self.run(
            "INSERT INTO order_line (tenant_id, order_id, kind, ref_id, name, unit_price_fen, "
            "quantity, amount_fen) SELECT :t, o.id, 'package', k.id, k.name_zh, o.total_fen, 1, "
            "o.total_fen FROM orders o JOIN booking b ON b.id = o.booking_id "
            "JOIN pk k ON k.id = b.package_id WHERE o.tenant_id = :t ORDER BY o.id"
        )
        self.run(
            "INSERT INTO payment (tenant_id, order_id, method, provider_ref, status, amount_fen, "
            "created_at, updated_at) SELECT :t, id, payment_method, "
            "CASE WHEN payment_method = 'clinic' THEN 'clinic:' || id ELSE 'pi_bench_' || id END, "
            "'succeeded', paid_fen, paid_at, paid_at FROM orders "
            "WHERE tenant_id = :t AND paid_at IS NOT NULL ORDER BY paid_at"
        )
        self.run(
            "INSERT INTO refund (tenant_id, order_id, payment_id, provider_ref, amount_fen, "
            "reason, status, idempotency_key, created_at) "
            "SELECT :t, o.id, p.id, 're_bench_' || o.id, o.refunded_fen, 'cancelled', "
            "'succeeded', 'refund-' || o.id, b.cancelled_at FROM orders o "
            "JOIN payment p ON p.order_id = o.id JOIN booking b ON b.id = o.booking_id "
            "WHERE o.tenant_id = :t AND o.refunded_fen > 0 ORDER BY b.cancelled_at"
        )

    def points(self) -> None:
        self.run(
            "WITH e AS (SELECT b.id, b.patient_id, b.completed_at, k.price / 100 AS n, "
            "random() AS r FROM booking b JOIN pk k ON k.id = b.package_id "
            "WHERE b.tenant_id = :t AND b.status = 'completed') "
            "INSERT INTO points_entry (tenant_id, patient_id, kind, points, reason, source_type, "
            "source_id, idempotency_key, created_at) "
            "SELECT :t, patient_id, kind, points, reason, source_type, source_id, key, at FROM ("
            "SELECT patient_id, 'earn' AS kind, n AS points, '体检完成' AS reason, "
            "'booking' AS source_type, id::text AS source_id, 'earn-booking-' || id AS key, "
            "completed_at AS at FROM e "
            "UNION ALL SELECT patient_id, 'redeem', -(n / 2), '兑换', 'reward', id::text, "
            "'redeem-' || id, completed_at + (20 + r * 20) * interval '1 day' FROM e "
            "WHERE r < 0.15 AND completed_at + interval '40 days' < :now "
            "UNION ALL SELECT patient_id, 'expire', -n, '积分过期', 'lot', id::text, "
            "'expire-' || id, completed_at + interval '365 days' FROM e "
            "WHERE r >= 0.15 AND r < 0.25 AND completed_at + interval '365 days' < :now) x "
            "ORDER BY at"
        )
        self.run(
            "INSERT INTO points_account (tenant_id, patient_id, balance, updated_at) "
            "SELECT :t, patient_id, sum(points), max(created_at) FROM points_entry "
            "WHERE tenant_id = :t GROUP BY patient_id ORDER BY patient_id"
        )

    def challenges(self) -> None:
        for i in range(self.shape.challenges):
            starts = self.today - timedelta(days=40 + 70 * i)
            ends = starts + timedelta(days=29 + 30 * (i % 2))
            cid = self.run(
                "INSERT INTO challenge (tenant_id, title_zh, title_en, description_zh, "
                "description_en, starts_on, ends_on, value_kind, unit, comparison, streak_rule, "
                "target_days, reward_points, badge_name, status, created_at) "
                "VALUES (:t, :title, :title_en, '', '', :starts, :ends, 'checkin', '', '>=', "
                "'total', 20, 100, '', :status, CAST(:now AS timestamptz) - interval '400 days') "
                "RETURNING id",
                title=f"健步挑战{i + 1}",
                title_en=f"Walk challenge {i + 1}",
                starts=starts,
                ends=ends,
                status="closed" if ends < self.today else "published",
            ).scalar_one()
            self.run(
                "INSERT INTO challenge_participant (tenant_id, challenge_id, patient_id, nickname, "
                "joined_at, days_counted, current_streak, best_streak, last_counted_on, "
                "completed_at, reward_given) "
                "SELECT :t, :c, id, 'u' || id, j, CASE WHEN r < 0.3 THEN 20 ELSE "
                "floor(r * 19)::int END, 0, CASE WHEN r < 0.3 THEN 20 ELSE floor(r * 10)::int END, "
                "NULL, CASE WHEN r < 0.3 THEN j + interval '25 days' END, r < 0.3 "
                "FROM (SELECT p.id, random() AS r, (CAST(:starts AS date) + time '09:00') "
                "AT TIME ZONE :tz + random() * interval '5 days' AS j FROM patient p "
                "WHERE p.tenant_id = :t AND p.created_at < (CAST(:starts AS date) + time '09:00') "
                "AT TIME ZONE :tz) x WHERE r < :reach ORDER BY j",
                c=cid,
                starts=starts,
                reach=self.shape.reach,
            )

    def campaigns(self) -> None:
        aid = self.run(
            "INSERT INTO audience (tenant_id, name, description, expression, filters, "
            "created_at, updated_at) VALUES (:t, '全部会员', '', '', '[]', "
            "CAST(:now AS timestamptz) - interval '400 days', "
            "CAST(:now AS timestamptz) - interval '400 days') RETURNING id"
        ).scalar_one()
        for i in range(self.shape.campaigns):
            sent = self.now - timedelta(days=10 + 45 * i, hours=3)
            cid = self.run(
                "INSERT INTO campaign (tenant_id, name, audience_id, channels, link, mode, "
                "send_at, recurrence, weekday, month_day, at_time, next_run_at, per_minute, "
                "daily_cap, quiet_start, quiet_end, ab_split, attribution_days, status, "
                "occurrences, created_at, updated_at) VALUES (:t, :name, :a, '[\"sms\"]', '', "
                "'at', :sent, '', 0, 1, '09:00', NULL, 600, 0, '', '', 50, 7, 'done', 1, "
                ":sent - interval '2 days', :sent) RETURNING id",
                name=f"秋季体检促销{i + 1}",
                a=aid,
                sent=sent,
            ).scalar_one()
            rid = self.run(
                "INSERT INTO campaign_run (tenant_id, campaign_id, occurrence, status, "
                "scheduled_for, started_at, finished_at, recipients) "
                "VALUES (:t, :c, 1, 'done', :sent, :sent, :sent + interval '3 hours', 0) "
                "RETURNING id",
                c=cid,
                sent=sent,
            ).scalar_one()
            self.run(
                "INSERT INTO message (tenant_id, patient_id, to_address, channel, category, "
                "urgent, template_key, locale, recipient_tz, variables, dedupe_key, source, "
                "status, due_at, attempts, subject, body, provider_message_id, delivery_status, "
                "error, suppressed_reason, created_at, updated_at, sent_at) "
                "SELECT :t, id, phone, 'sms', 'marketing', false, 'campaign.content.' || :c, "
                "'zh-CN', '', '{}', 'campaign:' || :r || ':' || id || ':' || 'sms', "
                "'campaign:' || :c || ':A:' || :r, 'sent', at, 1, '', '秋季体检优惠', '', "
                "'delivered', '', '', at, at, at FROM (SELECT p.id, p.phone, random() AS r, "
                "CAST(:sent AS timestamptz) + random() * interval '3 hours' AS at "
                "FROM patient p WHERE p.tenant_id = :t AND p.created_at < :sent) x "
                "WHERE r < :reach ORDER BY at",
                c=cid,
                r=rid,
                sent=sent,
                reach=self.shape.reach,
            )
            self.run(
                "INSERT INTO campaign_recipient (tenant_id, campaign_id, run_id, patient_id, "
                "channel, variant, status, message_id, released_at) "
                "SELECT :t, :c, :r, patient_id, 'sms', 'A', 'released', id, created_at "
                "FROM message WHERE tenant_id = :t AND source = 'campaign:' || :c || ':A:' || :r "
                "ORDER BY id",
                c=cid,
                r=rid,
            )
            self.run(
                "UPDATE campaign_run SET recipients = (SELECT count(*) FROM campaign_recipient "
                "WHERE tenant_id = :t AND run_id = :r) WHERE id = :r",
                r=rid,
            )

    def package_views(self) -> None:
        """Views of the packages' detail pages (the funnel's first step): three
        per booking, when the table exists (its columns are read from the catalog)."""
        cols = {
            str(c)
            for c in self.run(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name = 'package_view'"
            ).scalars()
        }
        if not cols:
            return
        want = {"tenant_id", "package_id", "patient_id", "viewed_at"}
        if not want <= cols:
            raise SystemExit(f"package_view has columns {sorted(cols)}; update package_views()")
        self.run(
            "INSERT INTO package_view (tenant_id, package_id, patient_id, viewed_at) "
            "SELECT :t, b.package_id, CASE WHEN v % 2 = 0 THEN b.patient_id END, "
            "b.created_at - (v + random()) * interval '1 hour' FROM booking b, "
            "generate_series(0, 2) v WHERE b.tenant_id = :t ORDER BY 4"
        )


def migrate(owner: sa.Engine) -> None:
    """Bring an existing schema to the newest migration. A revision that was
    filled in after this database was made (the same id) is re-run by stepping
    back to the revision before it when its tables are missing."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    cfg.attributes["skip_logging"] = True
    with owner.connect() as conn:
        has_kpi = conn.execute(sa.text("SELECT to_regclass('public.kpi_daily')")).scalar()
    if has_kpi is None:
        command.stamp(cfg, "0014_message_report_indexes", purge=True)
    command.upgrade(cfg, "head")
    ensure_indexes(owner)


def ensure_indexes(owner: sa.Engine) -> None:
    """Create the models' indexes this database lacks (one added to a revision
    after the data was generated), so a reused database reads like a new one."""
    from sqlmodel import SQLModel

    import prm_saas.schema  # noqa: F401  (every model's table)

    with owner.connect() as conn:
        have = set(conn.execute(sa.text("SELECT indexname FROM pg_indexes")).scalars())
    for table in SQLModel.metadata.sorted_tables:
        for index in table.indexes:
            if index.name and index.name not in have:
                t0 = time.monotonic()
                with owner.begin() as conn:
                    index.create(conn)
                    conn.execute(sa.text(f"ANALYZE {table.name}"))
                print(f"created index {index.name} in {time.monotonic() - t0:.0f} s", flush=True)


def existing(owner: sa.Engine, args: argparse.Namespace) -> bool:
    """Whether the database holds the data of a run of this size."""
    with owner.connect() as conn:
        if conn.execute(sa.text("SELECT to_regclass('public.tenant')")).scalar() is None:
            return False
        big = conn.execute(sa.text("SELECT id FROM tenant WHERE slug = :s"), {"s": BIG}).scalar()
        if big is None:
            return False
        counts = conn.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM patient WHERE tenant_id = :t), "
                "(SELECT count(*) FROM booking WHERE tenant_id = :t), "
                "(SELECT count(*) FROM tenant WHERE slug LIKE 'bench-dash-%'), "
                "(SELECT count(*) FROM points_account WHERE tenant_id = ("
                "SELECT max(id) FROM tenant WHERE slug LIKE 'bench-dash-%'))"
            ),
            {"t": big},
        ).one()
    return tuple(counts[:3]) == (args.patients, args.bookings, args.tenants) and counts[3] > 0


def generate(owner: sa.Engine, args: argparse.Namespace) -> None:
    """Rebuild the schema and load every tenant's data; print how long each part took."""
    from tests.factories import make_admin, make_tenant

    rebuild_schema(owner)
    now = datetime.now(UTC)
    t0 = time.monotonic()
    big = make_tenant(BIG, name="大型体检中心", timezone=TZ)
    make_admin(big, email=ADMIN_EMAIL)
    print(
        f"big tenant: {args.patients:,} patients, {args.bookings:,} bookings and orders",
        flush=True,
    )
    with owner.connect() as conn:
        Gen(conn, big.id, big_shape(args.patients, args.bookings), now, verbose=True).all()
    print(f"big tenant loaded in {time.monotonic() - t0:.0f} s", flush=True)
    t1 = time.monotonic()
    small_bookings = 0
    with owner.connect() as conn:
        for i in range(args.tenants - 1):
            tenant = make_tenant(SMALL.format(i + 1), name=f"小诊所{i + 1}", timezone=TZ)
            make_admin(tenant, email=f"admin{i + 1}@bench-dash.test")
            shape = small_shape(i, args.tenants)
            small_bookings += shape.bookings
            Gen(conn, tenant.id, shape, now, verbose=False).all()
            if (i + 1) % 20 == 0:
                print(f"  {i + 1} small tenants: {time.monotonic() - t1:.0f} s", flush=True)
    print(
        f"{args.tenants - 1} small tenants ({small_bookings:,} bookings) loaded in "
        f"{time.monotonic() - t1:.0f} s",
        flush=True,
    )
    t2 = time.monotonic()
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    print(f"VACUUM ANALYZE: {time.monotonic() - t2:.0f} s", flush=True)
    print(f"generated in {time.monotonic() - t0:.0f} s", flush=True)


def summary(owner: sa.Engine) -> str:
    """Row counts of the big tenant and of all tenants."""
    tables = [
        "patient",
        "slot",
        "booking",
        "orders",
        "payment",
        "refund",
        "points_entry",
        "challenge_participant",
        "message",
    ]
    with owner.connect() as conn:
        big = conn.execute(sa.text("SELECT id FROM tenant WHERE slug = :s"), {"s": BIG}).scalar()
        parts = []
        for table in tables:
            n_big, n_all = conn.execute(
                sa.text(f"SELECT count(*) FILTER (WHERE tenant_id = :t), count(*) FROM {table}"),
                {"t": big},
            ).one()
            parts.append(f"{table} {n_big:,} ({n_all:,} in all)")
    return "; ".join(parts)


# --- the hand-written baseline ------------------------------------------------------------------
#
# What the service computes, as bare SQL text on one psycopg connection (the
# owner, tenant_id = %(t)s in every statement): the roll-up rows of the
# finished days (kpi_daily / kpi_cohort), the live aggregates of the days after
# them, the sets that are not sums of days. Python only puts the sums in buckets
# and derives the rates, as the service does.

Value = int | float | None
Sums = dict[str, dict[object, int]]  # metric -> bucket (or location, or None) -> sum

LIVE: dict[tuple[str, ...], str] = {
    ("bookings",): (
        "SELECT (confirmed_at AT TIME ZONE %(tz)s)::date, location_id, count(*) FROM booking "
        "WHERE tenant_id = %(t)s AND confirmed_at >= %(lo)s AND confirmed_at < %(hi)s "
        "GROUP BY 1, 2"
    ),
    ("appointments", "cancelled", "no_show"): (
        "SELECT s.day, s.location_id, count(*), count(*) FILTER (WHERE b.status = 'cancelled'), "
        "count(*) FILTER (WHERE b.status = 'no_show') FROM booking b JOIN slot s "
        "ON s.id = b.slot_id WHERE b.tenant_id = %(t)s AND s.tenant_id = %(t)s "
        "AND s.day >= %(ls)s AND s.day <= %(le)s AND b.confirmed_at IS NOT NULL GROUP BY 1, 2"
    ),
    ("slot_capacity", "slot_booked"): (
        "SELECT day, location_id, sum(capacity), sum(booked) FROM slot WHERE tenant_id = %(t)s "
        "AND day >= %(ls)s AND day <= %(le)s GROUP BY 1, 2"
    ),
    ("orders_created",): (
        "SELECT (o.created_at AT TIME ZONE %(tz)s)::date, coalesce(b.location_id, 0), count(*) "
        "FROM orders o LEFT JOIN booking b ON b.id = o.booking_id WHERE o.tenant_id = %(t)s "
        "AND o.created_at >= %(lo)s AND o.created_at < %(hi)s GROUP BY 1, 2"
    ),
    ("orders_paid", "paid_fen"): (
        "SELECT (o.paid_at AT TIME ZONE %(tz)s)::date, coalesce(b.location_id, 0), count(*), "
        "sum(o.paid_fen) FROM orders o LEFT JOIN booking b ON b.id = o.booking_id "
        "WHERE o.tenant_id = %(t)s AND o.paid_at >= %(lo)s AND o.paid_at < %(hi)s GROUP BY 1, 2"
    ),
    ("refunded_fen",): (
        "SELECT (r.created_at AT TIME ZONE %(tz)s)::date, coalesce(b.location_id, 0), "
        "sum(r.amount_fen) FROM refund r JOIN orders o ON o.id = r.order_id "
        "LEFT JOIN booking b ON b.id = o.booking_id WHERE r.tenant_id = %(t)s "
        "AND r.created_at >= %(lo)s AND r.created_at < %(hi)s "
        "AND r.status IN ('succeeded', 'pending') GROUP BY 1, 2"
    ),
    ("visits", "visits_new"): (
        "SELECT (b.completed_at AT TIME ZONE %(tz)s)::date, b.location_id, count(*), "
        "count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM booking e WHERE e.tenant_id = %(t)s "
        "AND e.patient_id = b.patient_id AND e.status = 'completed' "
        "AND e.completed_at < b.completed_at)) FROM booking b WHERE b.tenant_id = %(t)s "
        "AND b.completed_at >= %(lo)s AND b.completed_at < %(hi)s AND b.status = 'completed' "
        "GROUP BY 1, 2"
    ),
    ("package_views",): (
        "SELECT (viewed_at AT TIME ZONE %(tz)s)::date, 0, count(*) FROM package_view "
        "WHERE tenant_id = %(t)s AND viewed_at >= %(lo)s AND viewed_at < %(hi)s GROUP BY 1"
    ),
    ("points_issued", "points_redeemed", "points_expired", "points_net"): (
        "SELECT (created_at AT TIME ZONE %(tz)s)::date, 0, "
        "coalesce(sum(points) FILTER (WHERE points > 0), 0), "
        "-coalesce(sum(points) FILTER (WHERE kind = 'redeem'), 0), "
        "-coalesce(sum(points) FILTER (WHERE kind = 'expire'), 0), sum(points) "
        "FROM points_entry WHERE tenant_id = %(t)s AND created_at >= %(lo)s "
        "AND created_at < %(hi)s GROUP BY 1"
    ),
}
ROLLED = {  # the roll-up's rows of [s, e], summed by bucket, by location or in all
    "bucket": "greatest(date_trunc(%(g)s, day::timestamp)::date, %(s)s)",
    "location": "location_id",
    "total": "0",
}


def rate(part: float | None, whole: float | None) -> float | None:
    """Percent with one decimal; None without a whole (as the charts show it)."""
    return round(100.0 * float(part or 0) / float(whole), 1) if whole else None


def bucket_of(d: date, start: date, gran: str) -> date:
    if gran == "week":
        first = d - timedelta(days=d.weekday())
    elif gran == "month":
        first = d.replace(day=1)
    else:
        first = d
    return max(first, start)


def buckets(start: date, end: date, gran: str) -> list[date]:
    out: list[date] = []
    d = start
    while d <= end:
        b = bucket_of(d, start, gran)
        if not out or out[-1] != b:
            out.append(b)
        d += timedelta(days=1)
    return out


def utc_bounds(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    lo = datetime.combine(start, datetime.min.time(), tzinfo=zone)
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return lo.astimezone(UTC), hi.astimezone(UTC)


@dataclass(frozen=True)
class Span:
    """A range of local days and its granularity."""

    start: date
    end: date
    gran: str

    def previous(self) -> Span:
        end = self.start - timedelta(days=1)
        return Span(end - (self.end - self.start), end, self.gran)


class Bare:
    """The dashboard's numbers by hand, for one tenant, one range."""

    def __init__(self, conn: psycopg.Connection[Any], tenant_id: int) -> None:
        self.conn, self.t = conn, tenant_id
        self.tz = TZ
        self.rt: date | None = None
        self.today = datetime.now(UTC).date()
        self.span = Span(self.today, self.today, "day")
        self.compare = False

    def q(self, sql: str, **params: object) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, {"t": self.t, **params}).fetchall()

    def begin(self, start: date, end: date, compare: bool, now: datetime) -> None:
        """The tenant's zone and how far its roll-up reaches (one statement)."""
        tz, rt = self.q(
            "SELECT t.timezone, s.rolled_through FROM tenant t LEFT JOIN kpi_rollup_state s "
            "ON s.tenant_id = t.id WHERE t.id = %(t)s"
        )[0]
        self.tz, self.rt = tz, rt
        self.today = now.astimezone(ZoneInfo(tz)).date()
        self.span = Span(start, end, "day" if (end - start).days + 1 <= 62 else "week")
        self.compare = compare

    def sums(self, span: Span, names: frozenset[str], by: str) -> Sums:
        out: Sums = {n: defaultdict(int) for n in names}
        rt = self.rt
        if rt is not None and span.start <= rt:
            for metric, key, value in self.q(
                f"SELECT metric, {ROLLED[by]}, sum(value) FROM kpi_daily WHERE tenant_id = %(t)s "
                "AND day >= %(s)s AND day <= %(e)s AND metric = ANY(%(m)s) GROUP BY 1, 2",
                s=span.start,
                e=min(span.end, rt),
                m=sorted(names),
                g=span.gran,
            ):
                out[metric][key if by != "total" else 0] += int(value)
        live_from = span.start if rt is None else max(span.start, rt + timedelta(days=1))
        if live_from <= span.end:
            lo, hi = utc_bounds(live_from, span.end, self.tz)
            for group, sql in LIVE.items():
                if not names.intersection(group):
                    continue
                for day, loc, *values in self.q(
                    sql, tz=self.tz, lo=lo, hi=hi, ls=live_from, le=span.end
                ):
                    key = {
                        "bucket": bucket_of(day, span.start, span.gran),
                        "location": loc,
                        "total": 0,
                    }[by]
                    for name, value in zip(group, values, strict=True):
                        if name in out:
                            out[name][key] += int(value or 0)
        return out

    def series(
        self,
        names: frozenset[str],
        fns: list[Callable[[Sums, object], Value]],
    ) -> tuple[list[list[Value]], list[list[Value]]]:
        current = self.span
        keys = buckets(current.start, current.end, current.gran)
        sums = self.sums(current, names, "bucket")
        series = [[fn(sums, k) for k in keys] for fn in fns]
        previous: list[list[Value]] = []
        if self.compare:
            before = current.previous()
            prev_sums = self.sums(before, names, "bucket")
            prev_keys = buckets(before.start, before.end, before.gran)
            previous = [
                ([fn(prev_sums, k) for k in prev_keys] + [None] * len(keys))[: len(keys)]
                for fn in fns
            ]
        return series, previous

    # one method per chart: (series values, previous-period values)

    def bookings(self) -> tuple[list[list[Value]], list[list[Value]]]:
        return self.series(frozenset({"bookings"}), [lambda s, k: s["bookings"][k]])

    def revenue(self) -> tuple[list[list[Value]], list[list[Value]]]:
        return self.series(
            frozenset({"paid_fen", "refunded_fen"}),
            [
                lambda s, k: s["paid_fen"][k],
                lambda s, k: s["refunded_fen"][k],
                lambda s, k: s["paid_fen"][k] - s["refunded_fen"][k],
            ],
        )

    def funnel(self) -> tuple[list[list[Value]], list[list[Value]]]:
        steps = ["package_views", "orders_created", "orders_paid", "visits"]

        def totals(span: Span) -> list[Value]:
            sums = self.sums(span, frozenset(steps), "total")
            return [sums[m][0] for m in steps]

        previous = [totals(self.span.previous())] if self.compare else []
        return [totals(self.span)], previous

    def rates(self) -> tuple[list[list[Value]], list[list[Value]]]:
        return self.series(
            frozenset({"appointments", "cancelled", "no_show"}),
            [
                lambda s, k: rate(s["no_show"][k], s["appointments"][k] - s["cancelled"][k]),
                lambda s, k: rate(s["cancelled"][k], s["appointments"][k]),
            ],
        )

    def locations(self) -> list[tuple[Any, ...]]:
        return self.q(
            "SELECT id, name_zh, name_en FROM location WHERE tenant_id = %(t)s ORDER BY id"
        )

    def utilisation(self) -> tuple[list[list[Value]], list[list[Value]]]:
        names = frozenset({"slot_capacity", "slot_booked"})
        ids = [i for i, _zh, _en in self.locations()]

        def values(span: Span) -> list[Value]:
            per = self.sums(span, names, "location")
            return [rate(per["slot_booked"][i], per["slot_capacity"][i]) for i in ids]

        previous = [values(self.span.previous())] if self.compare else []
        return [values(self.span)], previous

    def patients(self) -> tuple[list[list[Value]], list[list[Value]]]:
        return self.series(
            frozenset({"visits", "visits_new"}),
            [lambda s, k: s["visits_new"][k], lambda s, k: s["visits"][k] - s["visits_new"][k]],
        )

    def points(self) -> tuple[list[list[Value]], list[list[Value]]]:
        out = self.series(
            frozenset({"points_issued", "points_redeemed", "points_expired"}),
            [
                lambda s, k: s["points_issued"][k],
                lambda s, k: s["points_redeemed"][k],
                lambda s, k: s["points_expired"][k],
            ],
        )
        # the liability at the end of the range: every net change up to it
        self.sums(Span(date(2000, 1, 1), self.span.end, "day"), frozenset({"points_net"}), "total")
        return out

    def cohorts(self) -> tuple[list[list[Value]], list[list[Value]]]:
        cells = self.q(
            "SELECT cohort_month, activity_month, patients FROM kpi_cohort WHERE tenant_id = %(t)s "
            "AND cohort_month >= %(first)s AND cohort_month <= %(end)s ORDER BY 1, 2",
            # the cohorts of the twelve months up to the range's end at least
            first=min(self.span.start, self.span.end - timedelta(days=334)).replace(day=1),
            end=self.span.end,
        )
        grid: dict[date, dict[int, int]] = defaultdict(dict)
        for cohort, activity, n in cells:
            grid[cohort][(activity.year - cohort.year) * 12 + activity.month - cohort.month] = n
        rolled = self.rt or self.today
        # finished months only: the last day of the roll-up's month, or of the month before
        last = (
            rolled
            if (rolled + timedelta(days=1)).day == 1
            else rolled.replace(day=1) - timedelta(days=1)
        )
        cohorts = [c for c in sorted(grid)[-13:] if c <= last]

        def span(c: date) -> int:
            return (last.year - c.year) * 12 + last.month - c.month + 1

        width = max((span(c) for c in cohorts), default=0)
        return [
            [
                rate(grid[c].get(k, 0), grid[c].get(0, 0)) if k < span(c) else None
                for k in range(width)
            ]
            for c in cohorts
        ], []

    def challenges(self) -> tuple[list[list[Value]], list[list[Value]]]:
        rows = self.q(
            "SELECT count(p.id), count(p.completed_at) FROM challenge c "
            "LEFT JOIN challenge_participant p ON p.challenge_id = c.id AND p.tenant_id = %(t)s "
            "WHERE c.tenant_id = %(t)s AND c.status <> 'draft' AND c.starts_on <= %(e)s "
            "AND c.ends_on >= %(s)s GROUP BY c.id ORDER BY c.starts_on DESC, c.id DESC LIMIT 10",
            s=self.span.start,
            e=self.span.end,
        )
        return [[int(j) for j, _c in rows], [int(c) for _j, c in rows]], []

    def campaigns(self) -> tuple[list[list[Value]], list[list[Value]]]:
        lo, hi = utc_bounds(self.span.start, self.span.end, self.tz)
        campaigns = self.q(
            "SELECT id, attribution_days FROM campaign WHERE tenant_id = %(t)s "
            "AND status <> 'draft' AND created_at < %(hi)s AND updated_at >= %(lo)s "
            "ORDER BY created_at DESC, id DESC LIMIT 8",
            lo=lo,
            hi=hi,
        )
        # The roll-up keeps each campaign's numbers (kpi_campaign), as the
        # service reads them (the roll-up timing above includes computing them).
        kept = {
            cid: (sent, conv)
            for cid, sent, conv in self.q(
                "SELECT campaign_id, sent, converted FROM kpi_campaign WHERE tenant_id = %(t)s"
            )
        }
        sent: list[Value] = [kept[cid][0] for cid, _days in campaigns]
        converted: list[Value] = [kept[cid][1] for cid, _days in campaigns]
        return [sent, converted], []

    def demographics(self) -> tuple[list[list[Value]], list[list[Value]]]:
        end = self.span.end

        def ago(years: int) -> date:
            try:
                return end.replace(year=end.year - years)
            except ValueError:
                return end.replace(year=end.year - years, day=28)

        bands = [(None, 18), (18, 30), (30, 40), (40, 50), (50, 60), (60, None)]
        params: dict[str, object] = {"hi": utc_bounds(end, end, self.tz)[1]}
        whens = []
        for i, (a, b) in enumerate(bands):
            cond = []
            if a is not None:
                params[f"a{i}"] = ago(a)
                cond.append(f"birth_date <= %(a{i})s")
            if b is not None:
                params[f"b{i}"] = ago(b)
                cond.append(f"birth_date > %(b{i})s")
            whens.append(f"WHEN {' AND '.join(cond)} THEN {i}")
        rows = self.q(
            f"SELECT CASE {' '.join(whens)} ELSE 6 END, sex, count(*) FROM patient "
            "WHERE tenant_id = %(t)s AND created_at < %(hi)s GROUP BY 1, 2",
            **params,
        )
        by: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for band, sex, n in rows:
            by[sex][band] += n
        return [[by[sex][k] for k in range(7)] for sex in ("female", "male", "unknown")], []

    def chart(self, key: str) -> tuple[list[list[Value]], list[list[Value]]]:
        fn: Callable[[], tuple[list[list[Value]], list[list[Value]]]] = getattr(self, key)
        return fn()


CHART_KEYS = [
    "bookings",
    "revenue",
    "funnel",
    "rates",
    "utilisation",
    "patients",
    "cohorts",
    "points",
    "challenges",
    "campaigns",
    "demographics",
]


# --- measuring ------------------------------------------------------------------------------


def median_ms(fn: Callable[[], object], reads: int) -> float:
    times = []
    for _ in range(reads):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def paired(
    product: Callable[[], object], bare: Callable[[], object], reads: int
) -> tuple[float, float]:
    """Medians of ``reads`` alternating runs of each after one warm-up each."""
    product()
    bare()
    p: list[float] = []
    b: list[float] = []
    for i in range(reads):
        for variant in ("p", "b") if i % 2 == 0 else ("b", "p"):
            t0 = time.perf_counter()
            (product if variant == "p" else bare)()
            (p if variant == "p" else b).append((time.perf_counter() - t0) * 1000)
    return statistics.median(p), statistics.median(b)


def values_of(chart: Any) -> tuple[list[list[Value]], list[list[Value]]]:
    return [list(s.values) for s in chart.series], [list(s.values) for s in chart.previous]


@dataclass(frozen=True)
class Setting:
    label: str
    days: int
    compare: bool


CONFIGS = [
    Setting("30 days", 30, False),
    Setting("30 days + compare", 30, True),
    Setting("366 days", 366, False),
    Setting("366 days + compare", 366, True),
]


def measure(
    tid: int, admin: Any, conninfo: str, now: datetime, reads: int
) -> tuple[dict[tuple[str, str], tuple[float, float]], list[str]]:
    """(chart or "whole", config) -> (service ms, bare ms); and any mismatch found."""
    from prm_saas.dashboards.tenant import tenant_chart, tenant_dashboard
    from tenants.db import tenant_session

    today = now.astimezone(ZoneInfo(TZ)).date()
    out: dict[tuple[str, str], tuple[float, float]] = {}
    mismatches: list[str] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        bare = Bare(conn, tid)
        for cfg in CONFIGS:
            start = today - timedelta(days=cfg.days - 1)
            kw: dict[str, Any] = {"start": start, "end": today, "compare": cfg.compare}

            def service_chart(key: str, kw: dict[str, Any] = kw) -> Any:
                with tenant_session(tid) as s:
                    return tenant_chart(session=s, actor=admin, key=key, now=now, **kw)

            def bare_chart(key: str, kw: dict[str, Any] = kw) -> Any:
                bare.begin(kw["start"], kw["end"], kw["compare"], now)
                return bare.chart(key)

            for key in CHART_KEYS:
                got, want = values_of(service_chart(key)), bare_chart(key)
                if got != want:
                    mismatches.append(f"{key} {cfg.label}: service {got!r:.300} bare {want!r:.300}")
                out[(key, cfg.label)] = paired(
                    lambda key=key: service_chart(key),  # type: ignore[misc]
                    lambda key=key: bare_chart(key),  # type: ignore[misc]
                    reads,
                )
                sv, bv = out[(key, cfg.label)]
                print(f"  {cfg.label:20} {key:13} {sv:8.1f} ms  bare {bv:8.1f} ms", flush=True)

            def service_whole(kw: dict[str, Any] = kw) -> Any:
                with tenant_session(tid) as s:
                    return tenant_dashboard(session=s, actor=admin, now=now, **kw)

            def bare_whole(kw: dict[str, Any] = kw) -> Any:
                bare.begin(kw["start"], kw["end"], kw["compare"], now)
                charts = [bare.chart(k) for k in CHART_KEYS]
                bare.locations()
                return charts

            whole = service_whole()
            if [values_of(c) for c in whole.charts] != bare_whole():
                mismatches.append(f"whole dashboard {cfg.label}")
            out[("whole", cfg.label)] = paired(service_whole, bare_whole, reads)
            sv, bv = out[("whole", cfg.label)]
            print(f"  {cfg.label:20} {'WHOLE':13} {sv:8.1f} ms  bare {bv:8.1f} ms", flush=True)
    return out, mismatches


def raw_context(tid: int, conninfo: str, now: datetime, reads: int) -> dict[str, float]:
    """Each daily aggregate straight over the base tables for 366 days (bare SQL, no
    roll-up): what every dashboard load would cost without it."""
    today = now.astimezone(ZoneInfo(TZ)).date()
    start = today - timedelta(days=365)
    lo, hi = utc_bounds(start, today, TZ)
    out: dict[str, float] = {}
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for group, sql in LIVE.items():
            args = {"t": tid, "tz": TZ, "lo": lo, "hi": hi, "ls": start, "le": today}
            conn.execute(sql, args).fetchall()
            out[", ".join(group)] = median_ms(
                lambda sql=sql, args=args: conn.execute(sql, args).fetchall(),  # type: ignore[misc]
                max(1, reads // 2),
            )
            print(f"  raw 366 days {group[0]:15} {out[', '.join(group)]:8.1f} ms", flush=True)
    return out


def rollup_runs(tid: int, now: datetime, reads: int) -> tuple[float, float, int]:
    """The big tenant's first (full) roll-up, then the median steady run."""
    from prm_saas.dashboards.rollup import roll_up
    from tenants.db import tenant_session

    t0 = time.perf_counter()
    with tenant_session(tid) as s:
        result = roll_up(s, now=now, full=True)
    full = (time.perf_counter() - t0) * 1000
    print(f"  full roll-up: {full:.0f} ms, {result.rows:,} rows, {result.cohort_cells} cells")

    def steady() -> None:
        with tenant_session(tid) as s:
            roll_up(s, now=now)

    steady_ms = median_ms(steady, max(3, reads // 2))
    print(f"  steady roll-up (trailing {14} days): {steady_ms:.0f} ms", flush=True)
    return full, steady_ms, result.rows


def platform_prepare(owner: sa.Engine, big: int, now: datetime) -> float | None:
    """Every small tenant's first roll-up and the platform usage rows of the last
    400 days of every tenant, as the hourly task leaves them; seconds taken."""
    try:
        from prm_saas.platform.usage import refresh_usage
    except ImportError:
        return None
    from prm_saas.dashboards.rollup import roll_up
    from tenants.db import tenant_session

    with owner.connect() as conn:
        tids = list(
            conn.execute(
                sa.text("SELECT id FROM tenant WHERE slug LIKE 'bench-dash-%' ORDER BY id")
            ).scalars()
        )
    today = now.date()
    days = [today - timedelta(days=i) for i in range(400, -1, -1)]
    t0 = time.monotonic()
    for tid in tids:
        if tid != big:
            with tenant_session(tid) as s:
                roll_up(s, now=now, full=True)
        refresh_usage(tid, days, now)
    return time.monotonic() - t0


def platform_timing(now: datetime, reads: int) -> float | None:
    """The platform dashboard over every tenant, if it exists yet."""
    try:
        from prm_saas.platform.kpis import platform_dashboard
    except ImportError:
        return None
    from prm_saas.accounts.authz import Principal, PrincipalKind
    from tenants.db import platform_session

    operator = Principal(kind=PrincipalKind.OPERATOR, id=1, tenant_id=None, name="op", label="op")

    def run() -> None:
        with platform_session() as s:
            platform_dashboard(session=s, actor=operator, now=now)

    run()
    return median_ms(run, reads)


def workarounds(tid: int, now: datetime) -> list[str]:
    """Patch what keeps the committed service from running on PostgreSQL, in this
    process only, and say what was patched (the report carries it)."""
    from prm_saas.dashboards import metrics
    from prm_saas.dashboards.rollup import tenant_zone, window
    from tenants.db import tenant_session

    def probe() -> bool:
        try:
            with tenant_session(tid) as s:
                day = now.astimezone(ZoneInfo(tenant_zone(s))).date()
                metrics.compute(s, window(tenant_zone(s), day, day), frozenset({"orders_paid"}))
            return True
        except sa.exc.ProgrammingError as exc:
            print(f"  the service fails on PostgreSQL: {str(exc).splitlines()[0]}", flush=True)
            return False

    if probe():
        return []
    # coalesce(booking.location_id, :param) in SELECT and GROUP BY are two
    # different bind parameters to PostgreSQL, so the GROUP BY does not cover it
    metrics._order_location = lambda: sa.func.coalesce(
        metrics.col(metrics.Booking.location_id), sa.literal_column("0")
    )
    if not probe():
        raise SystemExit("the service still fails on PostgreSQL")
    return [
        "`prm_saas.dashboards.metrics._order_location` patched in the benchmark's process: "
        "`coalesce(booking.location_id, 0)` with the 0 as a bind parameter appears in "
        "SELECT and GROUP BY as two parameters, which PostgreSQL refuses (GroupingError); "
        "measured with the 0 as a literal"
    ]


def admin_of(owner: sa.Engine, tid: int) -> Any:
    from prm_saas.accounts.auth import staff_principal
    from prm_saas.accounts.models import StaffMember
    from tenants.db import tenant_session

    with tenant_session(tid) as s:
        member = s.exec(select(StaffMember).where(StaffMember.email == ADMIN_EMAIL)).one()
        return staff_principal(member)


def report(
    args: argparse.Namespace,
    postgres: str,
    counts: str,
    rollup: tuple[float, float, int],
    results: dict[tuple[str, str], tuple[float, float]],
    raw: dict[str, float],
    platform_ms: float | None,
    mismatches: list[str],
) -> list[str]:
    full, steady, rows = rollup
    lines = [
        f"Recorded {datetime.now(UTC):%Y-%m-%d} on {machine()}, PostgreSQL {postgres}, "
        f"load average {os.getloadavg()[0]:.1f} at the end. Data: {counts}. "
        f"Medians of {args.reads} alternating repetitions after a warm-up; service = "
        "`tenant_chart` / `tenant_dashboard` through a tenant session (the app role, RLS "
        "on) as a tenant admin; hand-written = the same numbers as bare SQL on one psycopg "
        "connection. Mismatches between the two: "
        f"{len(mismatches) if mismatches else 'none'}.",
        "",
        f"Roll-up of the big tenant: first (full) run {full / 1000:.1f} s writing {rows:,} "
        f"daily rows; steady run (the trailing 14 days) {steady:.0f} ms.",
        "",
        "| chart | " + " | ".join(c.label for c in CONFIGS) + " |",
        "|---|" + "---|" * len(CONFIGS),
    ]
    for key in [*CHART_KEYS, "whole"]:
        cells = []
        for cfg in CONFIGS:
            sv, bv = results[(key, cfg.label)]
            cells.append(f"{sv:.0f} / {bv:.0f} ms ({sv / bv:.2f})")
        name = "**whole dashboard**" if key == "whole" else f"`{key}`"
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Cells: service / hand-written SQL (ratio). Without the roll-up, each daily "
        "aggregate over 366 days straight from the base tables (bare SQL): "
        + ", ".join(f"{k} {v:.0f} ms" for k, v in raw.items())
        + f"; {sum(raw.values()):.0f} ms in all.",
    ]
    if platform_ms is not None:
        lines += [
            "",
            f"Platform dashboard (`platform_dashboard`, last 30 days, an operator, median "
            f"of {args.reads}) over {args.tenants} tenants with 400 days of usage rows each: "
            f"{platform_ms:.0f} ms.",
        ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=200_000)
    parser.add_argument("--bookings", type=int, default=1_000_000)
    parser.add_argument("--tenants", type=int, default=100, help="the big one and the small ones")
    parser.add_argument("--reuse", action="store_true", help="keep the data of an earlier run")
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument("--reads", type=int, default=5, help="timed repetitions per measure")
    parser.add_argument("--record", action="store_true", help=f"write results to {DOCS}")
    args = parser.parse_args()
    owner = sa.create_engine(os.environ["MIGRATION_DATABASE_URL"])
    with owner.connect() as conn:
        postgres = conn.execute(sa.text("SHOW server_version")).scalar_one()
    print(f"{machine()}; PostgreSQL {postgres}", flush=True)
    set_engine(make_engine(os.environ["DATABASE_URL"]))
    if args.reuse and existing(owner, args):
        print("reusing the data already there", flush=True)
        migrate(owner)
    else:
        generate(owner, args)
    print(summary(owner), flush=True)
    if args.generate_only:
        return
    with owner.connect() as conn:
        tid = conn.execute(
            sa.text("SELECT id FROM tenant WHERE slug = :s"), {"s": BIG}
        ).scalar_one()
    admin = admin_of(owner, tid)
    conninfo = os.environ["MIGRATION_DATABASE_URL"].replace(
        "postgresql+psycopg://", "postgresql://"
    )
    now = datetime.now(UTC)
    patched = workarounds(tid, now)
    print("roll-up:", flush=True)
    rollup = rollup_runs(tid, now, args.reads)
    print("raw aggregates without the roll-up:", flush=True)
    raw = raw_context(tid, conninfo, now, args.reads)
    print("charts (service / hand-written):", flush=True)
    results, mismatches = measure(tid, admin, conninfo, now, args.reads)
    prep = platform_prepare(owner, tid, now)
    if prep is not None:
        print(f"roll-up and usage of every tenant for the platform: {prep:.0f} s", flush=True)
    platform_ms = platform_timing(now, args.reads)
    lines = report(args, postgres, summary(owner), rollup, results, raw, platform_ms, mismatches)
    lines += [f"\nPatched for the run: {p}." for p in patched]
    lines += [
        "",
        f"Command: `.venv/bin/python -u benchmarks/dashboard.py --reuse --reads {args.reads}`",
    ]
    print("\n".join(lines))
    for m in mismatches:
        print("MISMATCH", m)
    if args.record:
        record("dashboard", "\n".join(lines))
        print(f"\nrecorded in {DOCS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
