"""Dialect-aware statements that SQLite and PostgreSQL both support with different syntax."""
from __future__ import annotations

from typing import Iterable, Sequence

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def _insert(session: AsyncSession, table):
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def insert_ignore(session: AsyncSession, table):
    """INSERT … ON CONFLICT DO NOTHING."""
    return _insert(session, table).on_conflict_do_nothing()


async def upsert(session: AsyncSession, table, rows: Sequence[dict], key: Iterable[str]) -> None:
    """INSERT … ON CONFLICT (key) DO UPDATE every other column given."""
    if not rows:
        return
    key = list(key)
    stmt = _insert(session, table)
    updates = {c: stmt.excluded[c] for c in rows[0] if c not in key}
    await session.execute(stmt.on_conflict_do_update(index_elements=key, set_=updates), list(rows))
