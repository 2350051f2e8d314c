"""The ONE session factory. Only this module creates database sessions.

Two walls keep tenants apart:

1. ORM wall (every database): a ``do_orm_execute`` listener adds
   ``with_loader_criteria(TenantScoped, tenant_id == current)`` to every ORM
   SELECT, UPDATE and DELETE, and a ``before_flush`` hook stamps ``tenant_id``
   on new rows and refuses rows of another tenant.
2. PostgreSQL row-level security: each transaction runs
   ``set_config('app.tenant_id', <id>, true)`` and policies on every tenant
   table compare against it, so even raw SQL sees only the current tenant.
   With no tenant set, the setting is empty and every policy matches nothing.

The tenant is bound to a session when it is created (from the contextvar in
tenants.context) and kept in ``session.info``; the listeners read it there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, with_loader_criteria
from sqlalchemy.orm import Session as SASession
from sqlalchemy.orm.session import SessionTransaction
from sqlalchemy.sql import util as sql_util
from sqlmodel import Session, SQLModel, col

from tenants.context import current_tenant_id, tenant_context
from tenants.errors import (
    AppendOnlyViolation,
    CrossTenantWrite,
    NoTenantContext,
    TenantReadOnly,
)
from tenants.models import Tenant, TenantScoped, TenantStatus
from tenants.settings import load_kernel_settings

_TENANT_KEY = "tenant_id"
_ALLOW_SWITCH_KEY = "allow_tenant_switch"

_engine: Engine | None = None
_engine_lock = threading.Lock()


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()
    # The local calendar day of a stored UTC instant (dashboards' day buckets);
    # PostgreSQL does this with timezone(); see prm_saas/dashboards/sqltime.py.
    dbapi_conn.create_function("prm_local_date", 2, _sqlite_local_date, deterministic=True)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _sqlite_local_date(stored: str | None, tz: str) -> str | None:
    if stored is None:
        return None
    instant = datetime.fromisoformat(str(stored)).replace(tzinfo=UTC)
    return instant.astimezone(_zone(tz)).date().isoformat()


def _sqlite_on_savepoint(conn: sa.Connection, _name: str | None) -> None:
    # pysqlite (Python < 3.12) only emits BEGIN before INSERT/UPDATE/DELETE. A
    # SAVEPOINT issued before any of those therefore opens the outermost
    # transaction itself, and its RELEASE commits for good: a later rollback of
    # the use case would leave the savepoint's rows behind. Begin the real
    # transaction first so savepoints nest inside it.
    dbapi_conn = conn.connection.dbapi_connection
    if dbapi_conn is not None and not dbapi_conn.in_transaction:
        dbapi_conn.execute("BEGIN")


def make_engine(url: str) -> Engine:
    """Create an engine with the settings this product relies on."""
    if url.startswith("sqlite"):
        eng = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(eng, "connect", _sqlite_on_connect)
        event.listen(eng, "savepoint", _sqlite_on_savepoint)
        return eng
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def get_engine() -> Engine:
    """The process-wide engine for DATABASE_URL, created on first use."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = make_engine(load_kernel_settings().database_url)
    return _engine


def set_engine(engine: Engine | None) -> None:
    """Replace the process-wide engine (tests and benchmarks point it elsewhere)."""
    global _engine
    with _engine_lock:
        if _engine is not None and _engine is not engine:
            _engine.dispose()
        _engine = engine


class TenantSession(Session):
    """A SQLModel session bound to one tenant (or to the platform level)."""

    @property
    def tenant_id(self) -> int | None:
        """The tenant this session reads and writes (None: platform level)."""
        value = self.info.get(_TENANT_KEY)
        return int(value) if value is not None else None


def _apply_pg_tenant(connection: sa.Connection, tenant_id: int | None) -> None:
    if connection.dialect.name != "postgresql":
        return
    connection.execute(
        sa.text("SELECT set_config('app.tenant_id', :tid, true)"),
        {"tid": "" if tenant_id is None else str(tenant_id)},
    )


@event.listens_for(TenantSession, "after_begin")
def _after_begin(
    session: SASession, transaction: SessionTransaction, connection: sa.Connection
) -> None:
    if transaction.nested:
        # A SAVEPOINT inside the transaction: the transaction-local setting made
        # at its start is still in force (and a rollback to the savepoint keeps it).
        return
    _apply_pg_tenant(connection, session.info.get(_TENANT_KEY))


_ACTIVE_KEY = "tenant_active_checked"


def _tenant_suspended(session: SASession, tid: int) -> bool:
    """Whether the tenant is suspended. Asked once per transaction: a tenant found
    active stays so for the rest of the transaction (a suspension committed
    meanwhile applies from the next one, as if it had come a moment later)."""
    if session.info.get(_ACTIVE_KEY) == tid:
        return False
    status = session.execute(
        sa.select(col(Tenant.status)).where(col(Tenant.id) == tid)
    ).scalar_one_or_none()
    if status == TenantStatus.SUSPENDED:
        return True
    session.info[_ACTIVE_KEY] = tid
    return False


def _guard_bulk_write(state: ORMExecuteState) -> None:
    """Bulk ORM writes skip before_flush, so they get the same checks here."""
    mapper = state.bind_mapper
    cls = mapper.class_ if mapper is not None else None
    if cls is None:
        return
    if getattr(cls, "append_only", False) and not state.is_insert:
        raise AppendOnlyViolation(f"{cls.__name__} rows are never changed")
    if not issubclass(cls, TenantScoped):
        return
    tid = state.session.info.get(_TENANT_KEY)
    if state.is_insert:
        # insert(Model).values(...) would bypass tenant stamping: use session.add().
        raise NoTenantContext(f"bulk INSERT into {cls.__name__} is not tenant-checked")
    if (
        tid is not None
        and not cls.writable_when_suspended
        and _tenant_suspended(state.session, int(tid))
    ):
        raise TenantReadOnly()


@lru_cache(maxsize=1)
def _tenant_table_names() -> frozenset[str]:
    # Tenant tables are those with a tenant_id column (the same rule the RLS
    # meta-test uses), read once all models are imported.
    return frozenset(t.name for t in SQLModel.metadata.tables.values() if "tenant_id" in t.c)


def _refuse_core_on_tenant_tables(state: ORMExecuteState) -> None:
    """A Core statement (select(Patient.__table__)) carries no ORM entity for the
    loader criteria to scope: refuse it rather than run it unfiltered. text()
    is not inspected; on PostgreSQL RLS still walls it."""
    statement = state.statement
    if not isinstance(statement, sa.sql.ClauseElement) or isinstance(
        statement, sa.sql.elements.TextClause
    ):
        return
    names: set[str] = set()
    for table in sql_util.find_tables(statement, include_joins=True):
        if isinstance(table, sa.Table):
            names.add(table.name)
    hit = names & _tenant_table_names()
    if hit:
        raise NoTenantContext(
            f"Core statement on tenant table(s) {sorted(hit)}: select ORM entities instead"
        )


@event.listens_for(TenantSession, "do_orm_execute")
def _scope_orm_statement(state: ORMExecuteState) -> None:
    if not state.is_orm_statement:
        _refuse_core_on_tenant_tables(state)
        return
    if state.is_insert or state.is_update or state.is_delete:
        _guard_bulk_write(state)
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        # The parent statement was already scoped.
        return
    tid = state.session.info.get(_TENANT_KEY)
    # With no tenant, tenant tables match nothing (as under RLS): -1 is never an id.
    bound = -1 if tid is None else int(tid)
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped,
            lambda cls: cls.tenant_id == bound,
            include_aliases=True,
        )
    )


@event.listens_for(TenantSession, "before_flush")
def _guard_writes(session: SASession, _ctx: Any, _instances: Any) -> None:
    tid = session.info.get(_TENANT_KEY)
    touched: list[TenantScoped] = []
    for obj in session.new:
        if isinstance(obj, TenantScoped):
            if tid is None:
                raise NoTenantContext(f"{type(obj).__name__} written with no tenant")
            if obj.tenant_id is None:
                obj.tenant_id = tid
            elif obj.tenant_id != tid:
                raise CrossTenantWrite(
                    f"{type(obj).__name__} of tenant {obj.tenant_id} written in tenant {tid}"
                )
            touched.append(obj)
    for obj in list(session.dirty) + list(session.deleted):
        if getattr(type(obj), "append_only", False) and (
            obj in session.deleted or session.is_modified(obj)
        ):
            raise AppendOnlyViolation(f"{type(obj).__name__} rows are never changed")
        if isinstance(obj, TenantScoped):
            hist = sa.inspect(obj).attrs.tenant_id.history
            if hist.deleted or obj.tenant_id != tid:
                raise CrossTenantWrite(f"{type(obj).__name__} moved across tenants")
            if session.is_modified(obj) or obj in session.deleted:
                touched.append(obj)
    if (
        tid is not None
        and any(not type(o).writable_when_suspended for o in touched)
        and _tenant_suspended(session, int(tid))
    ):
        raise TenantReadOnly()


def _bulk_target(session: TenantSession, model: type[TenantScoped]) -> tuple[int, sa.Table]:
    tid = session.info.get(_TENANT_KEY)
    if tid is None:
        raise NoTenantContext(f"bulk INSERT into {model.__name__} with no tenant")
    if not model.writable_when_suspended and _tenant_suspended(session, int(tid)):
        raise TenantReadOnly()
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, sa.Table)
    return int(tid), table


def insert_rows(
    session: TenantSession,
    model: type[TenantScoped],
    rows: list[dict[str, Any]],
    *,
    returning: tuple[Any, ...] = (),
    on_conflict_do_nothing: tuple[str, ...] = (),
) -> list[Any]:
    """Insert many rows of a tenant table in the session's tenant, in its
    transaction, without an ORM object each (set-based use cases: a tag rule
    over every patient, a campaign's snapshot, a campaign's outbox messages).

    The rows are stamped with the session's tenant here (a ``tenant_id`` they
    carry is overwritten), the suspended tenant is refused as a flush refuses it,
    and on PostgreSQL the RLS policy's WITH CHECK still guards every row.
    ``returning`` columns come back as rows (named like the columns), in the
    order of ``rows``.

    ``on_conflict_do_nothing`` names the columns of a unique constraint (e.g.
    ``("tenant_id", "dedupe_key")``): a row that would break it (inserted by a
    concurrent transaction, say) is skipped instead of failing the statement
    (``ON CONFLICT ... DO NOTHING``, PostgreSQL and SQLite). Then ``returning``
    gives only the rows inserted, in no particular order: return a column that
    tells them apart.
    """
    if not rows:
        return []
    tid, table = _bulk_target(session, model)
    stmt: Any = table.insert()
    if on_conflict_do_nothing:
        stmt = _insert_ignoring(session, table, on_conflict_do_nothing)
    params = [{**row, "tenant_id": tid} for row in rows]
    if returning:
        result = session.connection().execute(
            stmt.returning(*returning, sort_by_parameter_order=not on_conflict_do_nothing),
            params,
        )
        return list(result.all())
    session.connection().execute(stmt, params)
    return []


def _insert_ignoring(session: TenantSession, table: sa.Table, columns: tuple[str, ...]) -> Any:
    """``INSERT ... ON CONFLICT (columns) DO NOTHING`` in the session's dialect."""
    dialect = session.connection().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing(index_elements=list(columns))
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing(index_elements=list(columns))
    raise NotImplementedError(f"ON CONFLICT DO NOTHING on {dialect}")


def insert_from_select(
    session: TenantSession,
    model: type[TenantScoped],
    columns: list[str],
    query: sa.Select[*tuple[Any, ...]],
    *,
    returning: tuple[Any, ...] = (),
) -> list[Any]:
    """``INSERT INTO <model> (tenant_id, *columns) SELECT <tenant>, <query>`` in the
    session's tenant and transaction (see ``insert_rows``). ``query`` runs as Core,
    outside the ORM's tenant criteria: it must filter on the tenant itself (RLS
    still walls it on PostgreSQL)."""
    tid, table = _bulk_target(session, model)
    source = query.with_only_columns(sa.literal(tid), *query.selected_columns)
    stmt = table.insert().from_select(["tenant_id", *columns], source)
    if returning:
        return list(session.connection().execute(stmt.returning(*returning)).all())
    session.connection().execute(stmt)
    return []


@contextmanager
def hash_joins(session: TenantSession) -> Iterator[None]:
    """No nested-loop joins for the statements inside (PostgreSQL; nothing on SQLite).

    For set-based statements over a whole tenant (a tag rule over every patient):
    right after such a run writes tens of thousands of rows, the table's statistics
    still say a handful, and the planner picks a nested loop that compares every
    patient with every holder (minutes instead of a second, benchmarks/audience.py).
    Hash and merge joins are right at any size here. Set for this transaction only
    and back to the default afterwards.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.execute(sa.text("SET LOCAL enable_nestloop = off"))
    try:
        yield
    finally:
        if postgres:
            session.execute(sa.text("SET LOCAL enable_nestloop TO DEFAULT"))


_ON_COMMIT_KEY = "on_commit"


def on_commit(session: SASession, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's transaction has committed (not on rollback),
    e.g. to drop a cache only when the change it caches is really there."""
    session.info.setdefault(_ON_COMMIT_KEY, []).append(callback)


@event.listens_for(TenantSession, "after_commit")
def _run_on_commit(session: SASession) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT was released; the real commit is still to come
    for callback in session.info.pop(_ON_COMMIT_KEY, []):
        callback()


@event.listens_for(TenantSession, "after_rollback")
def _drop_on_commit(session: SASession) -> None:
    session.info.pop(_ON_COMMIT_KEY, None)


@event.listens_for(TenantSession, "after_transaction_end")
def _forget_active(session: SASession, transaction: SessionTransaction) -> None:
    # Only the outermost transaction's end: a flush runs in a subtransaction (not
    # nested, but with a parent) whose end must not make the next flush ask again.
    if transaction.parent is None:
        session.info.pop(_ACTIVE_KEY, None)


def bind_tenant(session: TenantSession, tenant_id: int) -> None:
    """Move a platform session into a tenant mid-transaction.

    Only sessions opened with ``allow_tenant_switch=True`` (tenant provisioning,
    which creates a tenant and its first admin in one transaction) may do this.
    """
    if not session.info.get(_ALLOW_SWITCH_KEY):
        raise CrossTenantWrite("this session may not switch tenants")
    session.flush()
    session.info[_TENANT_KEY] = tenant_id
    _apply_pg_tenant(session.connection(), tenant_id)


@contextmanager
def _open_session(tid: int | None, *, allow_tenant_switch: bool) -> Iterator[TenantSession]:
    with tenant_context(tid):
        session = TenantSession(
            get_engine(),
            info={_TENANT_KEY: tid, _ALLOW_SWITCH_KEY: allow_tenant_switch},
            expire_on_commit=False,
        )
        try:
            with session.begin():
                yield session
        finally:
            session.close()


@contextmanager
def tenant_session(tenant_id: int | None = None) -> Iterator[TenantSession]:
    """Open a session and one transaction for a use case; commit on success.

    The tenant is ``tenant_id`` if given (it then also becomes the context's
    current tenant for the block), else the context's current tenant. With
    neither, the session is at platform level: tenant tables read as empty and
    cannot be written.
    """
    tid = tenant_id if tenant_id is not None else current_tenant_id()
    with _open_session(tid, allow_tenant_switch=False) as session:
        yield session


@contextmanager
def platform_session(*, allow_tenant_switch: bool = False) -> Iterator[TenantSession]:
    """A session at platform level (tenants, operators, platform audit)."""
    with _open_session(None, allow_tenant_switch=allow_tenant_switch) as session:
        yield session
