"""Dossier lookup audit and the throttle derived from it (no separate lock state to drift)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.store.cases import as_utc
from motcua.store.models import DossierLookup

MAX_FAILURES = 5
# Failed verifications of one dossier code or ticket, from any chats, that lock it.
CODE_MAX_FAILURES = 10
# Failed verifications from one web chat client address, across its chats and codes, that lock its
# lookups (a household or an office behind one address makes a few; a script opening fresh chats
# to try many codes a few times each makes many).
CLIENT_MAX_FAILURES = 20
WINDOW = timedelta(hours=1)
LOCK = timedelta(hours=1)


async def record_lookup(session: AsyncSession, sender_id: str, code: str, outcome: str,
                        now: Optional[datetime] = None, client_key: Optional[str] = None) -> None:
    session.add(DossierLookup(sender_id=sender_id, code=code[:64], outcome=outcome, client_key=client_key,
                              created_at=now or datetime.now(timezone.utc)))
    await session.flush()


async def _locked_until(session: AsyncSession, where, max_failures: int, now: datetime) -> Optional[datetime]:
    """When max_failures failed verifications matching `where` fall within WINDOW, lookups stop
    for LOCK after the last one."""
    failures = [as_utc(t) for t in (await session.scalars(
        select(DossierLookup.created_at)
        .where(where, DossierLookup.outcome == "failed", DossierLookup.created_at >= now - WINDOW - LOCK)
        .order_by(DossierLookup.created_at)
    )).all()]
    until = None
    for i in range(max_failures - 1, len(failures)):
        if failures[i] - failures[i - max_failures + 1] <= WINDOW:
            until = failures[i] + LOCK
    return until if until and until > now else None


async def locked_until(session: AsyncSession, sender_id: str, now: Optional[datetime] = None) -> Optional[datetime]:
    """One chat's lock: MAX_FAILURES failed verifications within WINDOW."""
    return await _locked_until(session, DossierLookup.sender_id == sender_id, MAX_FAILURES,
                               now or datetime.now(timezone.utc))


async def client_locked_until(session: AsyncSession, client_key: Optional[str],
                              now: Optional[datetime] = None) -> Optional[datetime]:
    """A web chat client address's lock: CLIENT_MAX_FAILURES failed verifications within WINDOW
    from whatever chats of that address, of whatever codes (None: not a web chat, no such lock)."""
    if not client_key:
        return None
    return await _locked_until(session, DossierLookup.client_key == client_key, CLIENT_MAX_FAILURES,
                               now or datetime.now(timezone.utc))


async def code_locked_until(session: AsyncSession, code: str, now: Optional[datetime] = None) -> Optional[datetime]:
    """One dossier code's or ticket's lock, whatever the chats the tries came from:
    CODE_MAX_FAILURES failed verifications of it within WINDOW (a script opening a new chat every
    few tries is stopped here). Codes that do not exist are counted the same, so a lock says
    nothing about whether the code exists."""
    return await _locked_until(session, DossierLookup.code == code[:64], CODE_MAX_FAILURES,
                               now or datetime.now(timezone.utc))


async def failures_left(session: AsyncSession, sender_id: str, now: Optional[datetime] = None) -> int:
    now = now or datetime.now(timezone.utc)
    recent = len((await session.scalars(
        select(DossierLookup.id).where(DossierLookup.sender_id == sender_id, DossierLookup.outcome == "failed",
                                       DossierLookup.created_at >= now - WINDOW)
    )).all())
    return max(0, MAX_FAILURES - recent)
