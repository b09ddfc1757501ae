"""Appointments at the one-stop office: booking, moving and cancelling under the rules of
motcua/appointments.py, without a double booking on SQLite or PostgreSQL.

A booking inserts one claim row per unit it holds — a seat of its slot, one of its phone's
bookings of that day — each key tried in turn with INSERT … ON CONFLICT DO NOTHING: the database
decides who got the last seat, whatever the number of gateways and action servers."""
from __future__ import annotations

from collections import Counter as Tally
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Optional

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.appointments import Schedule
from motcua.store.cases import as_utc
from motcua.store.models import Appointment, AppointmentClaim, AppointmentCounter
from motcua.store.sql import insert_ignore_row, next_in_year
from motcua.workdays import VIETNAM

ACTIVE = ("booked", "arrived", "served")  # a booking that holds its seat
CANCELLABLE = ("booked",)
STATUS_LABELS = {"booked": "Đã đặt", "arrived": "Đã đến", "served": "Đã tiếp nhận", "no_show": "Không đến",
                 "cancelled": "Đã hủy"}


class BookingRefused(Exception):
    """Why a booking cannot be made: 'full' (the slot's last seat went), 'phone_limit' (the phone
    already holds its bookings for that day), 'not_bookable' (outside the days and hours offered)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Request:
    sender_id: str
    procedure_id: str
    procedure_name: str
    counter_id: str
    starts_at: datetime
    name: str
    phone: str


def _utc(moment: datetime) -> datetime:
    """Stored and compared in UTC: SQLite keeps a datetime's wall time and drops its zone."""
    return as_utc(moment).astimezone(timezone.utc)


def _seat_key(counter_id: str, starts_at: datetime, n: int) -> str:
    return f"seat:{counter_id}:{_utc(starts_at).strftime('%Y%m%dT%H%MZ')}:{n}"


def _phone_key(phone: str, starts_at: datetime, n: int) -> str:
    return f"phone:{phone}:{_utc(starts_at).astimezone(VIETNAM).date().isoformat()}:{n}"


async def _claim_one(session: AsyncSession, appointment_id: int, keys: list[str]) -> bool:
    for key in keys:
        if await insert_ignore_row(session, AppointmentClaim.__table__, {"key": key, "appointment_id": appointment_id}):
            return True
    return False


async def _claim(session: AsyncSession, schedule: Schedule, a: Appointment) -> None:
    """Takes a seat of a's slot and one of its phone's bookings of the day, or raises (the caller's
    transaction then rolls back whatever was taken)."""
    counter = schedule.counter(a.counter_id)
    seats = counter.seats if counter else 0
    if not await _claim_one(session, a.id, [_seat_key(a.counter_id, a.starts_at, n) for n in range(1, seats + 1)]):
        raise BookingRefused("full")
    if not await _claim_one(session, a.id, [_phone_key(a.phone, a.starts_at, n)
                                            for n in range(1, schedule.per_phone_per_day + 1)]):
        raise BookingRefused("phone_limit")


async def _release(session: AsyncSession, appointment_id: int) -> None:
    await session.execute(delete(AppointmentClaim).where(AppointmentClaim.appointment_id == appointment_id))


async def book(session: AsyncSession, schedule: Schedule, r: Request, now: Optional[datetime] = None) -> Appointment:
    """Books inside the caller's transaction; raises BookingRefused. The code is shown only after
    the caller commits."""
    now = _utc(now or datetime.now(timezone.utc))
    if not schedule.is_bookable(r.starts_at, now) or schedule.counter(r.counter_id) is None:
        raise BookingRefused("not_bookable")
    year = now.astimezone(VIETNAM).year  # numbered by the year it was booked, like PA- tickets
    code = f"LH-{year}-{await next_in_year(session, AppointmentCounter, year):06d}"
    a = Appointment(code=code, sender_id=r.sender_id, procedure_id=r.procedure_id, procedure_name=r.procedure_name,
                    counter_id=r.counter_id, starts_at=_utc(r.starts_at), name=r.name, phone=r.phone,
                    status="booked", created_at=now, updated_at=now)
    session.add(a)
    await session.flush()
    await _claim(session, schedule, a)
    return a


async def move(session: AsyncSession, schedule: Schedule, a: Appointment, starts_at: datetime,
               now: Optional[datetime] = None) -> None:
    """Moves a booking to another slot of its counter: the new seat is taken before the old one is
    given up, in one transaction, so a refused move leaves the booking where it was."""
    now = _utc(now or datetime.now(timezone.utc))
    if a.status not in CANCELLABLE or not schedule.is_bookable(starts_at, now):
        raise BookingRefused("not_bookable")
    await _release(session, a.id)
    a.starts_at, a.updated_at = _utc(starts_at), now
    a.reminded_evening_at = a.reminded_soon_at = None
    await session.flush()
    await _claim(session, schedule, a)


async def cancel(session: AsyncSession, a: Appointment, by: str, reason: str = "",
                 now: Optional[datetime] = None) -> bool:
    """Cancels a booking not yet kept; False when it was no longer cancellable."""
    if a.status not in CANCELLABLE:
        return False
    now = _utc(now or datetime.now(timezone.utc))
    a.status, a.cancelled_at, a.cancelled_by, a.cancel_reason, a.updated_at = "cancelled", now, by, reason or None, now
    await _release(session, a.id)
    return True


async def mark(session: AsyncSession, a: Appointment, status: str, now: Optional[datetime] = None) -> bool:
    """An official's check-in ('arrived'), call to the counter ('served') or 'no_show'."""
    allowed = {"arrived": ("booked",), "served": ("booked", "arrived"), "no_show": ("booked",)}
    if a.status not in allowed.get(status, ()):
        return False
    now = _utc(now or datetime.now(timezone.utc))
    a.status, a.updated_at = status, now
    if status == "arrived":
        a.arrived_at = now
    elif status == "served":
        a.served_at = now
        a.arrived_at = a.arrived_at or now
    return True


async def by_code(session: AsyncSession, code: str) -> Optional[Appointment]:
    return await session.scalar(select(Appointment).where(Appointment.code == code))


async def active_of_chat(session: AsyncSession, sender_id: str, now: Optional[datetime] = None) -> list[Appointment]:
    """The chat's bookings still to come, soonest first."""
    now = _utc(now or datetime.now(timezone.utc))
    return list((await session.scalars(
        select(Appointment).where(Appointment.sender_id == sender_id, Appointment.status == "booked",
                                  Appointment.starts_at >= now - timedelta(hours=2))
        .order_by(Appointment.starts_at))).all())


async def taken(session: AsyncSession, counter_id: str, first: datetime, last: datetime) -> Tally:
    """Seats taken per slot start (UTC) of a counter between two moments."""
    rows = await session.execute(
        select(Appointment.starts_at, func.count(Appointment.id))
        .where(Appointment.counter_id == counter_id, Appointment.status.in_(ACTIVE),
               Appointment.starts_at >= _utc(first), Appointment.starts_at <= _utc(last))
        .group_by(Appointment.starts_at))
    return Tally({_utc(start): n for start, n in rows.all()})


async def free_seats(session: AsyncSession, schedule: Schedule, counter_id: str,
                     now: Optional[datetime] = None) -> dict[date, list[tuple[datetime, int]]]:
    """Per bookable day, its slots with free seats and how many (Vietnam time)."""
    now = _utc(now or datetime.now(timezone.utc))
    counter = schedule.counter(counter_id)
    days = schedule.bookable_days(now)
    if counter is None or not days:
        return {}
    starts = {d: schedule.bookable_starts(d, now) for d in days}
    every = [s for ss in starts.values() for s in ss]
    if not every:
        return {}
    used = await taken(session, counter_id, min(every), max(every))
    result: dict[date, list[tuple[datetime, int]]] = {}
    for day, slots in starts.items():
        free = [(s, counter.seats - used[_utc(s)]) for s in slots if counter.seats - used[_utc(s)] > 0]
        if free:
            result[day] = free
    return result


async def between(session: AsyncSession, first: datetime, last: datetime) -> list[Appointment]:
    """Every booking starting in [first, last), in time order (the officials' page)."""
    return list((await session.scalars(
        select(Appointment).where(Appointment.starts_at >= _utc(first), Appointment.starts_at < _utc(last))
        .order_by(Appointment.starts_at, Appointment.counter_id, Appointment.id))).all())


async def due_reminders(session: AsyncSession, schedule: Schedule, now: datetime) -> list[tuple[Appointment, str]]:
    """Bookings a reminder is due for: ('evening', a) from the evening-before time on the day before
    (Vietnam time) until the soon reminder's turn, ('soon', a) within `soon_reminder` of its start.
    A booking made after a reminder's time does not get that one."""
    now = _utc(now)
    horizon = now + timedelta(days=1, hours=12)
    rows = (await session.scalars(
        select(Appointment).where(Appointment.status == "booked", Appointment.starts_at > now,
                                  Appointment.starts_at <= horizon)
        .order_by(Appointment.starts_at))).all()
    due = []
    for a in rows:
        start = _utc(a.starts_at)
        soon_at = start - schedule.soon_reminder
        eve_day = start.astimezone(VIETNAM).date() - timedelta(days=1)
        evening_at = datetime.combine(eve_day, schedule.evening_reminder, tzinfo=VIETNAM)
        created = _utc(a.created_at)
        if now >= soon_at:
            if a.reminded_soon_at is None and created < soon_at:
                due.append((a, "soon"))
        elif now >= evening_at and a.reminded_evening_at is None and created < evening_at:
            due.append((a, "evening"))
    return due


async def claim_reminder(session: AsyncSession, a: Appointment, kind: str, now: datetime) -> bool:
    """Compare-and-set: exactly one gateway replica sends each reminder."""
    now = _utc(now)
    column = Appointment.reminded_soon_at if kind == "soon" else Appointment.reminded_evening_at
    result = await session.execute(
        update(Appointment).where(Appointment.id == a.id, column.is_(None), Appointment.status == "booked")
        .values({column.key: now}).execution_options(synchronize_session=False))
    return bool(result.rowcount)


@dataclass
class Summary:
    booked: int = 0
    cancelled: int = 0
    arrived: int = 0
    no_show: int = 0
    waits: tuple[float, ...] = ()

    @property
    def average_wait(self) -> Optional[timedelta]:
        return timedelta(seconds=sum(self.waits) / len(self.waits)) if self.waits else None


async def summary(session: AsyncSession, first: datetime, last: datetime) -> Summary:
    """Bookings over a period: made, cancelled, kept (arrived or served), not kept, and the wait of
    those served — from arrival (or the booked time, if they came early) to being called."""
    s = Summary()
    waits = []
    for a in await between(session, first, last):
        s.booked += 1
        if a.status == "cancelled":
            s.cancelled += 1
        elif a.status == "no_show":
            s.no_show += 1
        elif a.status in ("arrived", "served"):
            s.arrived += 1
            if a.served_at is not None:
                began = max(_utc(a.arrived_at or a.starts_at), _utc(a.starts_at))
                waits.append(max(0.0, (_utc(a.served_at) - began).total_seconds()))
    s.waits = tuple(waits)
    return s
