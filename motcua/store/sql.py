"""Dialect-aware statements that SQLite and PostgreSQL both support with different syntax."""
from __future__ import annotations

from typing import Iterable, Optional, Sequence

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def _insert(session: AsyncSession, table):
    return (postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert)(table)


def insert_ignore(session: AsyncSession, table):
    """INSERT … ON CONFLICT DO NOTHING."""
    return _insert(session, table).on_conflict_do_nothing()


async def insert_ignore_id(session: AsyncSession, table, values: dict) -> Optional[int]:
    """INSERT … ON CONFLICT DO NOTHING of one row; its id, or None when it conflicted."""
    stmt = insert_ignore(session, table).values(**values)
    if _dialect(session) == "postgresql":
        return (await session.execute(stmt.returning(table.c.id))).scalar()
    result = await session.execute(stmt)  # SQLite (no RETURNING in SQLAlchemy 1.4): the cursor's rowid
    return result.lastrowid if result.rowcount else None


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
