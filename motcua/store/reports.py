"""Figures for the reports page: volume by category, on-time handling by agency, handling time."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from statistics import median
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.store.cases import as_utc
from motcua.store.complaints import OPEN_STATUSES
from motcua.store.models import Complaint


async def volume_by_category(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Complaint.category, func.count(Complaint.id)).group_by(Complaint.category))
    return {category: n for category, n in rows.all()}


async def on_time_by_agency(session: AsyncSession, now: Optional[datetime] = None) -> dict[str, Counter]:
    """Per agency: on_time (resolved by the deadline), late (resolved after it, or still open past
    it) and pending (open, deadline not reached) — the on-time rate is on_time / (on_time + late)."""
    now = now or datetime.now(timezone.utc)
    rows = await session.execute(select(Complaint.agency, Complaint.status, Complaint.deadline_at,
                                        Complaint.resolved_at))
    result: dict[str, Counter] = defaultdict(Counter)
    for agency, status, deadline, resolved_at in rows.all():
        deadline = as_utc(deadline)
        if status in OPEN_STATUSES:
            result[agency]["late" if deadline < now else "pending"] += 1
        elif resolved_at is not None:
            result[agency]["on_time" if as_utc(resolved_at) <= deadline else "late"] += 1
    return dict(result)


def rate(counts: Counter) -> Optional[float]:
    decided = counts["on_time"] + counts["late"]
    return counts["on_time"] / decided if decided else None


async def median_handling_time(session: AsyncSession, since: Optional[datetime] = None,
                               until: Optional[datetime] = None) -> tuple[Optional[timedelta], int]:
    """(median time from filing to resolution, how many) over the complaints resolved in the
    period and still resolved (a reopened one counts when it is resolved again, from its filing)."""
    query = select(Complaint.created_at, Complaint.resolved_at).where(
        Complaint.resolved_at.isnot(None), Complaint.status.notin_(OPEN_STATUSES))
    if since is not None:
        query = query.where(Complaint.resolved_at >= as_utc(since))
    if until is not None:
        query = query.where(Complaint.resolved_at < as_utc(until))
    seconds = [(as_utc(resolved) - as_utc(filed)).total_seconds() for filed, resolved in (await session.execute(query)).all()]
    return (timedelta(seconds=median(seconds)) if seconds else None), len(seconds)
