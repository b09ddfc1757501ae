"""Handoffs: a conversation handed from the bot to officials, and back."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.store.cases import as_utc
from motcua.store.models import Handoff

OPEN = ("waiting", "active")
# Nobody took it in this long, or nobody wrote for this long: the bot takes the chat back.
WAIT_TIMEOUT = timedelta(minutes=15)
IDLE_TIMEOUT = timedelta(minutes=30)
# Asked on every citizen message: built once (see motcua/store/sql.py).
_OPEN_FOR = (select(Handoff).where(Handoff.sender_id == bindparam("sender"), Handoff.status.in_(OPEN))
             .order_by(Handoff.id.desc()).limit(1))


def _now(now: Optional[datetime]) -> datetime:
    return now or datetime.now(timezone.utc)


async def open_for(session: AsyncSession, sender_id: str) -> Optional[Handoff]:
    return await session.scalar(_OPEN_FOR, {"sender": sender_id})


async def start(session: AsyncSession, sender_id: str, now: Optional[datetime] = None) -> Handoff:
    """Idempotent: asking again while one is open returns that one."""
    existing = await open_for(session, sender_id)
    if existing is not None:
        return existing
    now = _now(now)
    handoff = Handoff(sender_id=sender_id, status="waiting", created_at=now, last_activity_at=now)
    session.add(handoff)
    await session.flush()
    return handoff


async def touch(session: AsyncSession, handoff: Handoff, official: Optional[str] = None,
                now: Optional[datetime] = None) -> None:
    """A message in the conversation; an official's first message makes it active."""
    handoff.last_activity_at = _now(now)
    if official:
        handoff.status, handoff.official = "active", official
    await session.flush()


async def end(session: AsyncSession, handoff_id: int, by: str, now: Optional[datetime] = None) -> bool:
    """Compare-and-set, so the citizen is told once even if two people end it together."""
    result = await session.execute(update(Handoff).where(Handoff.id == handoff_id, Handoff.status.in_(OPEN))
                                   .values(status="ended", ended_at=_now(now), ended_by=by)
                                   .execution_options(synchronize_session=False))
    return result.rowcount == 1


async def timed_out(session: AsyncSession, now: Optional[datetime] = None) -> list[Handoff]:
    now = _now(now)
    rows = await session.scalars(select(Handoff).where(Handoff.status.in_(OPEN)))
    return [h for h in rows.all()
            if as_utc(h.last_activity_at) < now - (WAIT_TIMEOUT if h.status == "waiting" else IDLE_TIMEOUT)]


async def list_open(session: AsyncSession) -> list[Handoff]:
    return list((await session.scalars(select(Handoff).where(Handoff.status.in_(OPEN))
                                       .order_by(Handoff.id))).all())
