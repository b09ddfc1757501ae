"""Dialect-aware statements that SQLite and PostgreSQL both support with different syntax.

Statements on the gateway's hot path are built once and executed with their parameters:
SQLAlchemy caches a statement's compiled form under a key it computes from the statement object,
once per object, so a statement built anew for every call pays the building and the key every
time (~0.3 ms of CPU a statement, `bench/gateway_cpu.py`)."""
from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence, Union

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

# What the store's queries run on: an ORM session, or a plain connection in a transaction (the
# gateway's hot path, Database.begin: no unit of work to set up for Core statements).
Executor = Union[AsyncSession, AsyncConnection]


def _dialect_of(session: Executor) -> Optional[Dialect]:
    if isinstance(session, AsyncConnection):
        return session.dialect
    return session.bind.dialect if session.bind is not None else None


def _dialect(session: Executor) -> str:
    dialect = _dialect_of(session)
    return dialect.name if dialect is not None else "sqlite"


def _insert(session: AsyncSession, table):
    return (postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert)(table)


def insert_ignore(session: AsyncSession, table):
    """INSERT … ON CONFLICT DO NOTHING."""
    return _insert(session, table).on_conflict_do_nothing()


# (dialect, table, columns, returning id) → its INSERT … ON CONFLICT DO NOTHING, built once. Text
# with typed parameters: SQLAlchemy 1.4 cannot cache the dialects' on_conflict_do_nothing() form
# ("[no key]" in its log), so that one was compiled anew on every call. Being text, it applies no
# Python-side column default: callers give every column they want set.
_IGNORING: dict[tuple[str, str, tuple[str, ...], bool], Any] = {}


def _ignoring(session: Executor, table, columns: tuple[str, ...], returning_id: bool):
    dialect = _dialect(session)
    key = (dialect, table.name, columns, returning_id and dialect == "postgresql")
    stmt = _IGNORING.get(key)
    if stmt is None:
        dialect_object = _dialect_of(session)
        quote = dialect_object.identifier_preparer.quote if dialect_object is not None else (lambda n: f'"{n}"')
        sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
               f"VALUES ({', '.join(':' + c for c in columns)}) ON CONFLICT DO NOTHING")
        stmt = text(sql + (" RETURNING id" if key[3] else "")).bindparams(
            *(bindparam(c, type_=table.c[c].type) for c in columns))
        if key[3]:
            stmt = stmt.columns(table.c.id)
        _IGNORING[key] = stmt
    return stmt


async def insert_ignore_row(session: Executor, table, values: dict) -> int:
    """INSERT … ON CONFLICT DO NOTHING of one row, the statement built once: 1 if inserted, 0 if not."""
    return (await session.execute(_ignoring(session, table, tuple(values), False), values)).rowcount


async def insert_ignore_id(session: Executor, table, values: dict) -> Optional[int]:
    """INSERT … ON CONFLICT DO NOTHING of one row; its id, or None when it conflicted."""
    result = await session.execute(_ignoring(session, table, tuple(values), True), values)
    if _dialect(session) == "postgresql":
        return result.scalar()
    return result.lastrowid if result.rowcount else None  # SQLite (no RETURNING in SQLAlchemy 1.4): the rowid


async def upsert(session: AsyncSession, table, rows: Sequence[dict], key: Iterable[str]) -> None:
    """INSERT … ON CONFLICT (key) DO UPDATE every other column given."""
    if not rows:
        return
    key = list(key)
    stmt = _insert(session, table)
    updates = {c: stmt.excluded[c] for c in rows[0] if c not in key}
    await session.execute(stmt.on_conflict_do_update(index_elements=key, set_=updates), list(rows))


async def increment(session: AsyncSession, table, key: dict, column: str) -> None:
    """INSERT the key with column = 1, or add 1 to it: one atomic statement on both databases."""
    stmt = _insert(session, table).values(**key, **{column: 1})
    await session.execute(stmt.on_conflict_do_update(index_elements=list(key), set_={column: table.c[column] + 1}))


async def next_in_year(session: AsyncSession, counter, year: int) -> int:
    """The next number of a yearly counter table (year, last). The row is updated first, which
    locks it until the caller's transaction commits, so concurrent transactions (SQLite or
    PostgreSQL) never get the same number."""
    table = counter.__table__
    await session.execute(insert_ignore(session, table).values(year=year, last=0))
    await session.execute(update(table).where(table.c.year == year).values(last=table.c.last + 1))
    return int(await session.scalar(select(table.c.last).where(table.c.year == year)))
