"""Dossier subscriptions: who is told about which dossier, and what they were last told."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Optional

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.store.cases import as_utc
from motcua.store.models import DossierLookup, DossierSubscription
from motcua.store.sql import upsert
from motcua.workdays import VIETNAM, is_working_day, previous_working_day

# A subscription needs a verified lookup of that code by that chat this recently.
PROOF_VALID = timedelta(hours=24)
# Reminders go out on the working day before the due date, in waking hours (Vietnam time): a pass
# outside them waits for the next morning rather than writing to a citizen at night.
REMIND_FROM, REMIND_UNTIL = time(8, 0), time(20, 0)
# No appointment left to keep: the dossier was refused, withdrawn, or its result handed over.
NOT_REMINDED = frozenset({"refused", "withdrawn", "returned"})


def _utc(value: Optional[datetime]) -> Optional[datetime]:
    """In UTC before it is stored: SQLite keeps a datetime's wall time and drops its zone."""
    return as_utc(value).astimezone(timezone.utc) if value is not None else None


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
                 [{"sender_id": sender_id, "code": code, "last_status": status, "last_due_at": _utc(due_at),
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
        .values(last_status=status, last_due_at=_utc(due_at))
        .execution_options(synchronize_session=False))
    return (result.rowcount or 0) == 1


def changed(sub: DossierSubscription, status: str, due_at: Optional[datetime]) -> bool:
    return sub.last_status != status or as_utc(sub.last_due_at) != as_utc(due_at)


def reminding_hours(now: datetime) -> bool:
    """Whether `now` is a time reminders go out: a working day's waking hours, Vietnam time."""
    local = now.astimezone(VIETNAM)
    return is_working_day(local.date()) and REMIND_FROM <= local.time() < REMIND_UNTIL


def reminder_due(sub: DossierSubscription, status: str, due_at: datetime, now: datetime) -> bool:
    """Today (Vietnam time) is the last working day before the due date, and this due date was not
    reminded yet (a moved date is reminded again)."""
    if status in NOT_REMINDED or as_utc(sub.reminded_due_at) == as_utc(due_at):
        return False
    due_day = as_utc(due_at).astimezone(VIETNAM).date()
    return previous_working_day(due_day) == now.astimezone(VIETNAM).date()


async def claim_reminder(session: AsyncSession, sub: DossierSubscription, due_at: datetime) -> bool:
    """Record that this due date was reminded only if nobody did: with several gateways, exactly one
    of them wins this compare-and-set and sends the reminder."""
    due = _utc(due_at)
    result = await session.execute(
        update(DossierSubscription)
        .where(DossierSubscription.id == sub.id, DossierSubscription.active.is_(True),
               or_(DossierSubscription.reminded_due_at.is_(None), DossierSubscription.reminded_due_at != due))
        .values(reminded_due_at=due)
        .execution_options(synchronize_session=False))
    return (result.rowcount or 0) == 1
