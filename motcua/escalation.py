"""Deadlines of feedback tickets: flag those due soon, escalate overdue ones to the supervising
agency. Pure store work with an explicit `now`, so tests drive the clock."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.catalogue import Locality
from motcua.store.cases import as_utc
from motcua.store.complaints import OPEN_STATUSES, record_event
from motcua.store.models import Complaint
from motcua.workdays import working_days_between

DEFAULT_WARN_DAYS = 2


@dataclass(frozen=True)
class Change:
    ticket: str
    kind: str  # due_soon, escalated
    agency: str  # who is told: the owner (due soon) or the supervisor (escalated)
    sender_id: str


async def check_deadlines(session: AsyncSession, locality: Locality, now: datetime) -> list[Change]:
    """Marks each open complaint at most once as due soon and once as escalated, in the caller's
    transaction. Each mark is a compare-and-set on the still-empty column, so two gateways never
    escalate (or warn about) the same ticket twice."""
    warn_days = int(locality.escalation.get("warn_working_days", DEFAULT_WARN_DAYS))
    query = (select(Complaint).where(Complaint.status.in_(OPEN_STATUSES), Complaint.escalated_at.is_(None))
             .order_by(Complaint.deadline_at))
    changes: list[Change] = []
    for c in (await session.scalars(query)).all():
        deadline = as_utc(c.deadline_at)
        if deadline < now:
            supervisor = locality.supervisor_of(c.agency) or c.agency
            if not await _claim(session, c.id, Complaint.escalated_at, now, escalated_to=supervisor):
                continue
            await record_event(session, c, "hệ thống", "escalated",
                               f"quá hạn, chuyển {locality.agency_name(supervisor)}", now)
            changes.append(Change(c.ticket, "escalated", supervisor, c.sender_id))
        elif c.due_soon_at is None and working_days_between(now, deadline) <= warn_days:
            if not await _claim(session, c.id, Complaint.due_soon_at, now):
                continue
            await record_event(session, c, "hệ thống", "due_soon",
                               f"hạn xử lý {deadline:%d/%m/%Y}", now)
            changes.append(Change(c.ticket, "due_soon", c.agency, c.sender_id))
    return changes


async def _claim(session: AsyncSession, complaint_id: int, column, now: datetime, **values) -> bool:
    result = await session.execute(
        update(Complaint).where(Complaint.id == complaint_id, column.is_(None))
        .values({column.key: now, **values}).execution_options(synchronize_session="fetch"))
    return result.rowcount == 1
