"""Complaints: filing with a unique ticket, routing and deadline from the locality data."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.catalogue import Locality
from motcua.store.cases import as_utc
from motcua.store.models import Complaint, ComplaintEvent, TicketCounter
from motcua.store.sql import insert_ignore
from motcua.workdays import VIETNAM, add_working_days

DEFAULT_DEADLINE_DAYS = 10
OPEN_STATUSES = ("new", "in_progress", "reopened")
STATUS_LABELS = {"new": "Đã tiếp nhận, chờ phân công", "in_progress": "Đang xử lý", "resolved": "Đã xử lý xong",
                 "reopened": "Được mở lại để xử lý tiếp"}


@dataclass(frozen=True)
class Route:
    category: str
    category_name: str
    agency: str
    agency_name: str
    deadline_days: int


def route(locality: Locality, category: str) -> Route:
    """Which agency handles a category and in how many working days (locality data)."""
    categories = {c["id"]: c for c in locality.complaint_categories}
    c = categories.get(category) or categories.get("khac") or next(iter(categories.values()))
    agencies = {a["id"]: a for a in locality.agencies}
    agency = agencies.get(c["agency"], {"id": c["agency"], "name": c["agency"]})
    return Route(c["id"], c["name"], agency["id"], agency["name"],
                 int(c.get("deadline_working_days") or DEFAULT_DEADLINE_DAYS))


async def next_ticket(session: AsyncSession, now: datetime) -> str:
    """PA-YYYY-NNNNNN. The counter row is updated first, which locks it until the filing commits,
    so concurrent filings (SQLite or PostgreSQL) never share a number."""
    year = now.astimezone(VIETNAM).year
    await session.execute(insert_ignore(session, TicketCounter.__table__).values(year=year, last=0))
    await session.execute(update(TicketCounter).where(TicketCounter.year == year)
                          .values(last=TicketCounter.last + 1).execution_options(synchronize_session=False))
    number = await session.scalar(select(TicketCounter.last).where(TicketCounter.year == year))
    return f"PA-{year}-{number:06d}"


async def file_complaint(session: AsyncSession, locality: Locality, *, sender_id: str, content: str, category: str,
                         place: str = "", name: str = "", phone: str = "",
                         now: Optional[datetime] = None) -> Complaint:
    now = now or datetime.now(timezone.utc)
    r = route(locality, category)
    complaint = Complaint(ticket=await next_ticket(session, now), sender_id=sender_id, content=content,
                          category=r.category, place=place, name=name, phone=phone, agency=r.agency, status="new",
                          deadline_at=add_working_days(now, r.deadline_days), created_at=now, updated_at=now)
    session.add(complaint)
    await session.flush()
    session.add(ComplaintEvent(complaint_id=complaint.id, actor=sender_id, action="filed",
                               detail=f"chuyển {r.agency_name}", created_at=now))
    await session.flush()
    return complaint


async def by_ticket(session: AsyncSession, ticket: str) -> Optional[Complaint]:
    return await session.scalar(select(Complaint).where(Complaint.ticket == ticket.upper()))


async def list_complaints(session: AsyncSession, status: Optional[str] = None) -> list[Complaint]:
    query = select(Complaint).order_by(Complaint.id)
    if status:
        query = query.where(Complaint.status == status)
    return list((await session.scalars(query)).all())


def is_late(c: Complaint, now: Optional[datetime] = None) -> bool:
    return c.status in OPEN_STATUSES and as_utc(c.deadline_at) < (now or datetime.now(timezone.utc))
