"""Complaints: filing with a unique ticket, routing and deadline from the locality data."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.catalogue import Locality
from motcua.store.cases import as_utc
from motcua.store.models import Complaint, ComplaintEvent, TicketCounter
from motcua.store.sql import next_in_year
from motcua.workdays import VIETNAM, add_working_days
from nlu.text import fold

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
    """PA-YYYY-NNNNNN, numbered per Vietnam year."""
    year = now.astimezone(VIETNAM).year
    return f"PA-{year}-{await next_in_year(session, TicketCounter, year):06d}"


# A ticket as the bot writes it (PA-2026-000123), and as citizens type it inside a sentence
# ("pa 2026 000123", "PA2026000123").
TICKET = re.compile(r"\bPA-\d{4}-\d{6}\b", re.IGNORECASE)
TYPED_TICKET = re.compile(r"PA[-\s]?(\d{4})[-\s]?(\d{6})", re.IGNORECASE)


def find_ticket(text: str) -> Optional[str]:
    """The first ticket in `text`, however it is spelled, as the bot writes it; None when none."""
    match = TYPED_TICKET.search(text or "")
    return f"PA-{match.group(1)}-{match.group(2)}" if match else None


async def file_complaint(session: AsyncSession, locality: Locality, *, sender_id: str, content: str, category: str,
                         place: str = "", name: str = "", phone: str = "",
                         now: Optional[datetime] = None) -> Complaint:
    now = now or datetime.now(timezone.utc)
    r = route(locality, category)
    complaint = Complaint(ticket=await next_ticket(session, now), sender_id=sender_id, content=content,
                          category=r.category, place=place, name=name, phone=phone, agency=r.agency, status="new",
                          deadline_at=add_working_days(now, r.deadline_days), created_at=now, updated_at=now,
                          search_text=fold(" ".join((content, place, name))))
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


# --- the officials' workflow: every change writes a ComplaintEvent (the audit log) ---------------

ACTION_LABELS = {"filed": "Tiếp nhận phản ánh", "assigned": "Phân công", "replied": "Trả lời công dân",
                 "resolved": "Đánh dấu đã xử lý", "reopened": "Mở lại", "due_soon": "Sắp đến hạn",
                 "escalated": "Quá hạn – chuyển cấp trên", "forwarded": "Chuyển cơ quan khác",
                 "citizen_message": "Công dân nhắn thêm", "rated": "Công dân đánh giá"}


@dataclass(frozen=True)
class ComplaintFilter:
    status: Optional[str] = None
    agency: Optional[str] = None
    category: Optional[str] = None
    overdue: bool = False
    query: str = ""


async def search_complaints(session: AsyncSession, f: ComplaintFilter, *, now: Optional[datetime] = None,
                            limit: int = 50, offset: int = 0) -> tuple[list[Complaint], int]:
    """A page of complaints (newest first) and the total that match the filter."""
    now = now or datetime.now(timezone.utc)
    conditions = []
    if f.status:
        conditions.append(Complaint.status == f.status)
    if f.agency:
        conditions.append(or_(Complaint.agency == f.agency, Complaint.escalated_to == f.agency))
    if f.category:
        conditions.append(Complaint.category == f.category)
    if f.overdue:
        conditions += [Complaint.status.in_(OPEN_STATUSES), Complaint.deadline_at < now]
    if f.query.strip():
        # Accent- and case-insensitive: "den duong" finds "Đèn đường".
        conditions.append(or_(Complaint.ticket == f.query.strip().upper(),
                              Complaint.search_text.contains(fold(f.query), autoescape=True)))
    total = await session.scalar(select(func.count(Complaint.id)).where(*conditions))
    rows = await session.scalars(select(Complaint).where(*conditions).order_by(Complaint.id.desc())
                                 .limit(limit).offset(offset))
    return list(rows.all()), int(total or 0)


async def events_of(session: AsyncSession, complaint_id: int) -> list[ComplaintEvent]:
    rows = await session.scalars(select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint_id)
                                 .order_by(ComplaintEvent.id))
    return list(rows.all())


async def record_event(session: AsyncSession, complaint: Complaint, actor: str, action: str, detail: str = "",
                       now: Optional[datetime] = None) -> ComplaintEvent:
    now = now or datetime.now(timezone.utc)
    event = ComplaintEvent(complaint_id=complaint.id, actor=actor, action=action, detail=detail, created_at=now)
    session.add(event)
    complaint.updated_at = now
    await session.flush()
    return event


async def assign(session: AsyncSession, complaint: Complaint, official_id: Optional[int], official_name: str,
                 actor: str) -> None:
    complaint.assigned_to = official_id
    if complaint.status in ("new", "reopened"):
        complaint.status = "in_progress"
    await record_event(session, complaint, actor, "assigned", official_name)


async def reply(session: AsyncSession, complaint: Complaint, actor: str, text: str) -> None:
    if complaint.status in ("new", "reopened"):
        complaint.status = "in_progress"
    await record_event(session, complaint, actor, "replied", text)


async def resolve(session: AsyncSession, complaint: Complaint, actor: str, note: str,
                  now: Optional[datetime] = None) -> None:
    now = now or datetime.now(timezone.utc)
    complaint.status, complaint.resolved_at = "resolved", now
    await record_event(session, complaint, actor, "resolved", note, now)


async def reopen(session: AsyncSession, complaint: Complaint, actor: str, reason: str) -> None:
    complaint.status, complaint.resolved_at = "reopened", None
    await record_event(session, complaint, actor, "reopened", reason)


async def forward(session: AsyncSession, complaint: Complaint, agency: str, agency_name: str, actor: str) -> None:
    """Another agency is responsible: it takes the ticket over (the deadline stays)."""
    complaint.agency, complaint.assigned_to = agency, None
    await record_event(session, complaint, actor, "forwarded", agency_name)


@dataclass(frozen=True)
class ComplaintQuery:
    """A filtered page of complaints, newest first (Open311's GET requests.json). With `tickets`
    given, the other filters are ignored."""
    tickets: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    open: Optional[bool] = None  # True: open only; False: closed only; None: both
    since: Optional[datetime] = None
    until: Optional[datetime] = None
    limit: int = 100
    offset: int = 0


async def find_complaints(session: AsyncSession, q: ComplaintQuery) -> list[Complaint]:
    query = select(Complaint).order_by(Complaint.created_at.desc(), Complaint.id.desc())
    if q.tickets:
        query = query.where(Complaint.ticket.in_(q.tickets)).limit(len(q.tickets))
    else:
        if q.categories:
            query = query.where(Complaint.category.in_(q.categories))
        if q.open is True:
            query = query.where(Complaint.status.in_(OPEN_STATUSES))
        elif q.open is False:
            query = query.where(Complaint.status.notin_(OPEN_STATUSES))
        if q.since:
            query = query.where(Complaint.created_at >= q.since)
        if q.until:
            query = query.where(Complaint.created_at <= q.until)
        query = query.limit(q.limit).offset(q.offset)
    return list((await session.scalars(query)).all())

