"""Limits that several gateways must agree on, counted in the store (never in a process's memory)."""
from __future__ import annotations

import time
from typing import Optional

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.store.models import RateCounter
from motcua.store.sql import increment

# Counters older than this many windows are deleted now and then.
KEEP_WINDOWS = 5


async def allow(session: AsyncSession, key: str, limit: int, window_seconds: int = 60,
                now: Optional[float] = None) -> bool:
    """Counts one request for `key`; False once more than `limit` came within the last window.

    A sliding window estimated from two fixed ones: this window's count plus the previous
    window's, weighted by how much of it still lies within the last `window_seconds` — so a burst
    across a window's edge is not let through twice. The count is one atomic upsert, so gateways
    racing on the same key never both slip through."""
    moment = now if now is not None else time.time()
    window = window_of(window_seconds, moment)
    await increment(session, RateCounter.__table__, {"key": key[:200], "window": window}, "count")
    rows = dict((await session.execute(select(RateCounter.window, RateCounter.count).where(
        RateCounter.key == key[:200], RateCounter.window.in_([window - 1, window])))).all())
    count, previous = rows.get(window, 0), rows.get(window - 1, 0)
    if window % KEEP_WINDOWS == 0 and count == 1:  # the first request of every fifth window tidies up
        await session.execute(delete(RateCounter).where(RateCounter.window < window - KEEP_WINDOWS))
    elapsed = (moment % window_seconds) / window_seconds
    return count + previous * (1 - elapsed) <= limit


def window_of(window_seconds: int, now: Optional[float] = None) -> int:
    return int((now if now is not None else time.time()) // window_seconds)


async def recent(session: AsyncSession, key: str, window_seconds: int, now: Optional[float] = None) -> int:
    """How many were counted for `key` in this window and the one before (without counting one
    more): a burst across a window's edge still adds up."""
    window = window_of(window_seconds, now)
    return await session.scalar(select(func.coalesce(func.sum(RateCounter.count), 0)).where(
        RateCounter.key == key[:200], RateCounter.window.in_([window - 1, window]))) or 0


async def add(session: AsyncSession, key: str, window_seconds: int, now: Optional[float] = None) -> None:
    await increment(session, RateCounter.__table__, {"key": key[:200], "window": window_of(window_seconds, now)},
                    "count")


async def reset(session: AsyncSession, key: str, window_seconds: int, now: Optional[float] = None) -> None:
    window = window_of(window_seconds, now)
    await session.execute(delete(RateCounter).where(RateCounter.key == key[:200],
                                                    RateCounter.window.in_([window - 1, window])))
