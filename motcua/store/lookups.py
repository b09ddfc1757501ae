"""Dossier lookup audit and the throttle derived from it (no separate lock state to drift)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.store.cases import as_utc
from motcua.store.models import DossierLookup

MAX_FAILURES = 5
WINDOW = timedelta(hours=1)
LOCK = timedelta(hours=1)


async def record_lookup(session: AsyncSession, sender_id: str, code: str, outcome: str,
                        now: Optional[datetime] = None) -> None:
    session.add(DossierLookup(sender_id=sender_id, code=code[:64], outcome=outcome,
                              created_at=now or datetime.now(timezone.utc)))
    await session.flush()


async def locked_until(session: AsyncSession, sender_id: str, now: Optional[datetime] = None) -> Optional[datetime]:
    """When MAX_FAILURES failed verifications fall within WINDOW, lookups stop for LOCK after the last."""
    now = now or datetime.now(timezone.utc)
    failures = [as_utc(t) for t in (await session.scalars(
        select(DossierLookup.created_at)
        .where(DossierLookup.sender_id == sender_id, DossierLookup.outcome == "failed",
               DossierLookup.created_at >= now - WINDOW - LOCK)
        .order_by(DossierLookup.created_at)
    )).all()]
    until = None
    for i in range(MAX_FAILURES - 1, len(failures)):
        if failures[i] - failures[i - MAX_FAILURES + 1] <= WINDOW:
            until = failures[i] + LOCK
    return until if until and until > now else None


async def failures_left(session: AsyncSession, sender_id: str, now: Optional[datetime] = None) -> int:
    now = now or datetime.now(timezone.utc)
    recent = len((await session.scalars(
        select(DossierLookup.id).where(DossierLookup.sender_id == sender_id, DossierLookup.outcome == "failed",
                                       DossierLookup.created_at >= now - WINDOW)
    )).all())
    return max(0, MAX_FAILURES - recent)
