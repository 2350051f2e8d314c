"""enqueue_many: the outbox rows of many patients of one template and channel in a
constant number of statements (a campaign's chunk), the same rows as ``enqueue``
writes one by one, once per dedupe key (keys already used, repeated in one call,
or taken by a concurrent transaction), never for a patient without an address on
the channel or of another tenant."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col, func, select

from prm_saas.accounts.models import Patient
from prm_saas.messaging import outbox
from prm_saas.messaging.models import Channel, Message
from prm_saas.messaging.outbox import EnqueueItem, enqueue, enqueue_many
from tenants.db import get_engine, tenant_session
from tenants.resolution import TenantInfo
from tests.concurrency import race
from tests.factories import World, make_patient

REMINDER = {"title": "复诊", "when": "12月1日 09:30", "note": "请空腹。"}
DUE = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
# Columns that differ between two otherwise equal messages, or are stamped at insert.
_OWN = {"id", "dedupe_key", "created_at", "updated_at"}


def _patient(tenant: TenantInfo, **kw: Any) -> int:
    with tenant_session(tenant.id) as s:
        p = Patient(name=kw.pop("name", "王小明"), **kw)
        s.add(p)
        s.flush()
        return int(p.id or 0)


def _messages(tenant: TenantInfo) -> list[Message]:
    with tenant_session(tenant.id) as s:
        return list(s.exec(select(Message).order_by(col(Message.id))).all())


def _by_key(tenant: TenantInfo) -> dict[str, Message]:
    return {m.dedupe_key: m for m in _messages(tenant)}


def _fields(m: Message) -> dict[str, Any]:
    return {
        c.name: getattr(m, c.name)
        for c in Message.__table__.columns  # type: ignore[attr-defined]
        if c.name not in _OWN
    }


def _many(
    tenant: TenantInfo,
    items: list[tuple[int, str, dict[str, Any], str]],
    *,
    channel: Channel = Channel.EMAIL,
    template_key: str = "care.reminder",
) -> dict[str, int]:
    with tenant_session(tenant.id) as s:
        return enqueue_many(s, template_key=template_key, channel=channel, items=items, due_at=DUE)


@pytest.mark.parametrize("channel", [Channel.EMAIL, Channel.SMS, Channel.INAPP])
def test_same_rows_as_enqueue_field_by_field(world: World, channel: Channel) -> None:
    """A patient with their own language and zone, and one with neither (the
    clinic's language, the clinic's zone): every column equal but the key."""
    own = _patient(
        world.a,
        name="Ann",
        phone="+8613700000001",
        email="ann@a.test",
        locale="en",
        timezone="Europe/Berlin",
    )
    plain = _patient(world.a, name="李四", phone="+8613700000002", email="li@a.test")
    for pid in (own, plain):
        with tenant_session(world.a.id) as s:
            one = enqueue(
                s,
                template_key="care.reminder",
                channel=channel,
                patient_id=pid,
                variables=REMINDER,
                dedupe_key=f"one:{pid}",
                due_at=DUE,
                source="booking:7",
            )
            assert one.id is not None
    ids = _many(
        world.a,
        [
            (own, f"many:{own}", REMINDER, "booking:7"),
            (plain, f"many:{plain}", REMINDER, "booking:7"),
        ],
        channel=channel,
    )
    rows = _by_key(world.a)
    assert set(ids) == {f"many:{own}", f"many:{plain}"}
    for pid in (own, plain):
        single, bulk = rows[f"one:{pid}"], rows[f"many:{pid}"]
        assert bulk.id == ids[f"many:{pid}"]
        assert _fields(bulk) == _fields(single)
        assert bulk.tenant_id == world.a.id
    assert rows[f"many:{own}"].locale == "en"
    assert rows[f"many:{own}"].recipient_tz == "Europe/Berlin"
    assert rows[f"many:{plain}"].locale == "zh-CN"  # the clinic's language
    assert rows[f"many:{plain}"].recipient_tz == ""
    assert '"patient_name": "李四"' in rows[f"many:{plain}"].variables
    expected = {
        Channel.EMAIL: "ann@a.test",
        Channel.SMS: "+8613700000001",
        Channel.INAPP: f"patient:{own}",
    }[channel]
    assert rows[f"many:{own}"].to_address == expected


def test_each_key_is_recorded_once(world: World) -> None:
    """A key already used returns its message (not rewritten), a key repeated in
    one call is recorded once, and calling again records nothing new."""
    p1, p2, p3 = (_patient(world.a, email=f"k{i}@a.test") for i in range(3))
    with tenant_session(world.a.id) as s:
        old = enqueue(
            s,
            template_key="care.reminder",
            channel=Channel.EMAIL,
            patient_id=p1,
            variables={"title": "旧的"},
            dedupe_key="k1",
        )
        old_id = int(old.id or 0)
    items = [
        (p1, "k1", REMINDER, "new"),
        (p2, "k2", REMINDER, "new"),
        (p3, "k2", REMINDER, "other"),  # the same key again: the first item wins
        (p3, "k3", REMINDER, "new"),
    ]
    first = _many(world.a, items)
    assert first["k1"] == old_id
    assert set(first) == {"k1", "k2", "k3"}
    rows = _by_key(world.a)
    assert len(rows) == 3
    assert rows["k1"].source == ""  # untouched
    assert "旧的" in rows["k1"].variables
    assert rows["k2"].patient_id == p2
    assert rows["k2"].source == "new"
    assert _many(world.a, items) == first
    assert len(_messages(world.a)) == 3


def test_long_keys_are_cut_like_enqueue_cuts_them(world: World) -> None:
    p = _patient(world.a, email="long@a.test")
    key = "x" * 250
    ids = _many(world.a, [(p, key, REMINDER, "")])
    with tenant_session(world.a.id) as s:
        again = enqueue(
            s,
            template_key="care.reminder",
            channel=Channel.EMAIL,
            patient_id=p,
            variables=REMINDER,
            dedupe_key=key,
        )
    assert again.id == ids[key]
    assert [m.dedupe_key for m in _messages(world.a)] == [key[:200]]


def test_patients_without_an_address_are_skipped_and_left_out(world: World) -> None:
    """No email on the email channel, or no such patient: no message and no id,
    the others are recorded (enqueue raises NoAddress for each of them)."""
    has = _patient(world.a, email="has@a.test", phone="+8613700000011")
    none = _patient(world.a, phone="+8613700000012")  # no email
    ids = _many(
        world.a,
        [(has, "a", REMINDER, ""), (none, "b", REMINDER, ""), (999_999, "c", REMINDER, "")],
    )
    assert set(ids) == {"a"}
    assert [m.patient_id for m in _messages(world.a)] == [has]
    # On SMS the same patient has an address.
    assert set(_many(world.a, [(none, "b-sms", REMINDER, "")], channel=Channel.SMS)) == {"b-sms"}


def test_another_tenants_patients_never_get_a_message(world: World) -> None:
    """Patient ids of tenant B in tenant A's call are missing patients: no row in
    either tenant. Keys are per tenant: B's key does not hide A's message."""
    pb = world.patient_b.id
    pa = world.patient_a.id
    with tenant_session(world.b.id) as s:
        b_msg = enqueue(
            s,
            template_key="care.reminder",
            channel=Channel.EMAIL,
            patient_id=pb,
            variables=REMINDER,
            dedupe_key="shared",
        )
    b_before = [_fields(m) for m in _messages(world.b)]
    ids = _many(world.a, [(pb, "theirs", REMINDER, ""), (pa, "shared", REMINDER, "")])
    assert set(ids) == {"shared"}
    assert ids["shared"] != b_msg.id
    a_rows = _messages(world.a)
    assert [(m.patient_id, m.to_address, m.tenant_id) for m in a_rows] == [
        (pa, "p@a.test", world.a.id)
    ]
    assert [_fields(m) for m in _messages(world.b)] == b_before
    for channel in (Channel.INAPP, Channel.SMS):
        assert _many(world.a, [(pb, f"theirs-{channel}", REMINDER, "")], channel=channel) == {}
    assert len(_messages(world.a)) == 1


def test_unknown_variables_are_refused_with_nothing_written(world: World) -> None:
    p1, p2 = (_patient(world.a, email=f"v{i}@a.test") for i in range(2))
    with pytest.raises(ValueError, match="unknown variables"):
        _many(world.a, [(p1, "v1", REMINDER, ""), (p2, "v2", {"hack": "x"}, "")])
    assert _messages(world.a) == []


def test_items_may_be_named(world: World) -> None:
    p = _patient(world.a, email="named@a.test")
    ids = _many(world.a, [EnqueueItem(patient_id=p, dedupe_key="n", variables=REMINDER)])
    assert _by_key(world.a)["n"].id == ids["n"]


@contextmanager
def _statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_a: Any) -> None:
        seen.append(statement)

    engine = get_engine()
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_statements_do_not_grow_with_the_patients(world: World) -> None:
    """Recipients, existing keys, one INSERT: 5 patients and 60 cost the same."""
    few = [_patient(world.a, email=f"f{i}@a.test") for i in range(5)]
    many = [_patient(world.a, email=f"m{i}@a.test") for i in range(60)]
    counts = []
    for name, pids in (("few", few), ("many", many)):
        with tenant_session(world.a.id) as s:
            s.exec(select(func.count()).select_from(Message)).one()  # open the transaction
            with _statements() as seen:
                ids = enqueue_many(
                    s,
                    template_key="care.reminder",
                    channel=Channel.EMAIL,
                    items=[(p, f"{name}:{p}", REMINDER, "") for p in pids],
                )
            assert len(ids) == len(pids)
            counts.append(len(seen))
    assert counts[0] == counts[1]
    # keys, recipients, INSERT, the clinic's language, the tenant's status (once a transaction)
    assert counts[1] <= 5
    assert len(_messages(world.a)) == 65


def test_a_key_taken_meanwhile_is_read_back_not_an_error(world: World) -> None:
    """The INSERT skips a key another transaction recorded after the keys were read
    (ON CONFLICT DO NOTHING) and returns that row's id: here the row is written
    between the two in the same transaction, on SQLite as on PostgreSQL."""
    p = make_patient(world.a, email="race@a.test")
    with tenant_session(world.a.id) as s:
        first = enqueue(
            s,
            template_key="care.reminder",
            channel=Channel.EMAIL,
            patient_id=p.id,
            variables=REMINDER,
            dedupe_key="taken",
        )
        to = outbox._Recipient(address="race@a.test", locale="zh-CN", timezone="", name="x")
        rows = outbox._rows(
            template_key="care.reminder",
            channel=Channel.EMAIL,
            messages=[
                outbox._New("taken", p.id, to, REMINDER, ""),
                outbox._New("fresh", p.id, to, REMINDER, ""),
            ],
            due_at=None,
            expires_at=None,
            urgent=False,
            now=DUE,
        )
        ids = outbox._insert_new(s, rows)
        assert ids["taken"] == first.id
        assert set(ids) == {"taken", "fresh"}
    assert sorted(_by_key(world.a)) == ["fresh", "taken"]


@pytest.mark.postgres_only
def test_concurrent_calls_with_overlapping_keys_record_one_row_per_key(world: World) -> None:
    """Two transactions read the keys before either commits; the second INSERT waits
    for the first, skips its keys and reads their ids back: one row per key, and
    both callers get the same ids for the shared keys."""
    pids = [_patient(world.a, email=f"r{i}@a.test") for i in range(40)]
    halves = [pids[:30], pids[10:]]  # 20 keys in common
    got: list[dict[str, int]] = [{}, {}]
    read = threading.Barrier(2)

    def call(i: int) -> None:
        with tenant_session(world.a.id) as s:
            s.exec(select(func.count()).select_from(Message)).one()
            read.wait()  # both transactions are open before either writes
            got[i] = enqueue_many(
                s,
                template_key="care.reminder",
                channel=Channel.EMAIL,
                items=[(p, f"race:{p}", REMINDER, f"caller{i}") for p in halves[i]],
            )
            time.sleep(0.3)  # hold the rows uncommitted while the other one inserts

    assert race(2, call) == {"ok": 2}
    rows = _messages(world.a)
    assert len(rows) == 40
    assert len({m.dedupe_key for m in rows}) == 40
    by_key = {m.dedupe_key: int(m.id or 0) for m in rows}
    for i in (0, 1):
        assert got[i] == {f"race:{p}": by_key[f"race:{p}"] for p in halves[i]}
    shared = [f"race:{p}" for p in pids[10:30]]
    assert [got[0][k] for k in shared] == [got[1][k] for k in shared]


def test_a_campaign_release_cancels_a_recipient_whose_address_was_removed(world: World) -> None:
    """The release records a chunk with enqueue_many: a recipient whose email was
    removed after the snapshot is cancelled with no message (as with NoAddress
    before); the others are released with one message each, claimed for sending."""
    from prm_saas.campaigns import services as cs
    from prm_saas.campaigns.release import release_due
    from tests.campaigns import helpers as h

    pids = h.patients(world.a, 4)
    h.patients(world.b, 2)
    cid = h.campaign(
        world.a,
        world.admin_a,
        h.audience(world.a, world.admin_a, pids),
        channels=["email", "inapp"],
    )
    with tenant_session(world.a.id) as s:  # "send now": the snapshot is taken here
        cs.start_campaign(session=s, actor=world.admin_a, campaign_id=cid)
    assert len(h.recipients(world.a, cid)) == 8
    with tenant_session(world.a.id) as s:
        gone = s.exec(select(Patient).where(Patient.id == pids[0])).one()
        gone.email = None
        s.add(gone)
    with tenant_session(world.a.id) as s:
        result = release_due(s, now=h.NOW, send=False)
    assert (result.taken, result.released) == (8, 7)
    rows = {(r.patient_id, r.channel): r for r in h.recipients(world.a, cid)}
    assert rows[(pids[0], "email")].status == "cancelled"
    assert rows[(pids[0], "email")].message_id is None
    assert rows[(pids[0], "inapp")].status == "released"
    msgs = h.messages(world.a, cid)
    assert len(msgs) == 7
    assert sorted(m.id or 0 for m in msgs) == sorted(result.message_ids)
    assert {r.message_id for r in rows.values() if r.status == "released"} == {m.id for m in msgs}
    assert (pids[0], "email") not in {(m.patient_id, m.channel) for m in msgs}
    assert {m.tenant_id for m in msgs} == {world.a.id}
    assert _messages(world.b) == []
