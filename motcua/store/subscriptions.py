"""Dossier subscriptions: who is told about which dossier, and what they were last told."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.store.cases import as_utc
from motcua.store.models import DossierLookup, DossierSubscription
from motcua.store.sql import upsert

# A subscription needs a verified lookup of that code by that chat this recently.
PROOF_VALID = timedelta(hours=24)


async def last_verified_code(session: AsyncSession, sender_id: str, code: Optional[str] = None,
                             now: Optional[datetime] = None) -> Optional[str]:
    """The code this chat proved it owns most recently (or `code`, if that one was proved)."""
    now = now or datetime.now(timezone.utc)
    query = (select(DossierLookup.code)
             .where(DossierLookup.sender_id == sender_id, DossierLookup.outcome == "verified",
                    DossierLookup.created_at >= now - PROOF_VALID)
             .order_by(DossierLookup.id.desc()).limit(1))
    if code:
        query = query.where(DossierLookup.code == code)
    return await session.scalar(query)


async def subscribe(session: AsyncSession, sender_id: str, code: str, status: str,
                    due_at: Optional[datetime]) -> None:
    await upsert(session, DossierSubscription.__table__,
                 [{"sender_id": sender_id, "code": code, "last_status": status, "last_due_at": due_at,
                   "active": True, "created_at": datetime.now(timezone.utc)}], key=["sender_id", "code"])


async def unsubscribe(session: AsyncSession, sender_id: str) -> int:
    result = await session.execute(update(DossierSubscription)
                                   .where(DossierSubscription.sender_id == sender_id,
                                          DossierSubscription.active.is_(True))
                                   .values(active=False)
                                   .execution_options(synchronize_session=False))
    return result.rowcount or 0


async def active_subscriptions(session: AsyncSession, after_id: int = 0, limit: int = 500) -> list[DossierSubscription]:
    return list((await session.scalars(
        select(DossierSubscription).where(DossierSubscription.active, DossierSubscription.id > after_id)
        .order_by(DossierSubscription.id).limit(limit))).all())


async def claim_change(session: AsyncSession, sub: DossierSubscription, status: str,
                       due_at: Optional[datetime]) -> bool:
    """Record the new state only if nobody else did: with several gateways watching, exactly one
    of them wins this compare-and-set and sends the notification."""
    result = await session.execute(
        update(DossierSubscription)
        .where(DossierSubscription.id == sub.id, DossierSubscription.last_status == sub.last_status,
               (DossierSubscription.last_due_at == sub.last_due_at) if sub.last_due_at is not None
               else DossierSubscription.last_due_at.is_(None))
        .values(last_status=status, last_due_at=due_at)
        .execution_options(synchronize_session=False))
    return (result.rowcount or 0) == 1


def changed(sub: DossierSubscription, status: str, due_at: Optional[datetime]) -> bool:
    return sub.last_status != status or as_utc(sub.last_due_at) != as_utc(due_at)
