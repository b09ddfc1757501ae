"""Limits that several gateways must agree on, counted in the store (never in a process's memory)."""
from __future__ import annotations

import time
from typing import Optional

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.store.models import RateCounter
from motcua.store.sql import increment

# Counters older than this many windows are deleted now and then.
KEEP_WINDOWS = 5


async def allow(session: AsyncSession, key: str, limit: int, window_seconds: int = 60,
                now: Optional[float] = None) -> bool:
    """Counts one request for `key` in the current window; False once more than `limit` came in it.
    The count is one atomic upsert, so gateways racing on the same key never both slip through."""
    window = int((now if now is not None else time.time()) // window_seconds)
    await increment(session, RateCounter.__table__, {"key": key[:200], "window": window}, "count")
    count = await session.scalar(select(RateCounter.count).where(RateCounter.key == key[:200],
                                                                 RateCounter.window == window))
    if window % KEEP_WINDOWS == 0 and count == 1:  # the first request of every fifth window tidies up
        await session.execute(delete(RateCounter).where(RateCounter.window < window - KEEP_WINDOWS))
    return count <= limit
