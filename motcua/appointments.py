"""When and where the one-stop office can see a citizen: the booking rules of the locality data
(`appointments:` in catalogue/locality.yml) — counters and what each serves, sessions, slot length,
seats, how far ahead — on the working-day calendar. No database here: motcua/store/appointments.py
books against these rules."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Optional

from motcua.catalogue import Catalogue
from motcua.workdays import VIETNAM, is_working_day, next_working_day

WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
ANY_PROCEDURE = "*"

# A booking code as the bot writes it (LH-2026-000042), and as citizens type it ("lh 2026 000042").
TYPED_CODE = re.compile(r"LH[-\s]?(\d{4})[-\s]?(\d{6})", re.IGNORECASE)


def find_code(text: str) -> Optional[str]:
    match = TYPED_CODE.search(text or "")
    return f"LH-{match.group(1)}-{match.group(2)}" if match else None


@dataclass(frozen=True)
class Counter:
    id: str
    name: str
    serves: tuple[str, ...]
    seats: int


@dataclass(frozen=True)
class Schedule:
    counters: tuple[Counter, ...]
    sessions: tuple[tuple[time, time], ...]
    slot: timedelta
    days_ahead: int
    min_notice: timedelta
    per_phone_per_day: int
    priority_age: int
    evening_reminder: time
    soon_reminder: timedelta
    office: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, catalogue: Catalogue) -> "Schedule":
        data = catalogue.locality.appointments or {}
        seats = int(data.get("seats_per_slot", 1))
        counters = tuple(Counter(str(c["id"]), str(c["name"]), tuple(str(s) for s in c.get("serves", [ANY_PROCEDURE])),
                                 int(c.get("seats_per_slot", seats)))
                         for c in data.get("counters", []))
        sessions = tuple(tuple(time.fromisoformat(t.strip()) for t in s.split("-"))
                         for s in data.get("sessions", ["07:30-11:30", "13:30-17:00"]))
        reminders = data.get("reminders", {})
        return cls(counters=counters, sessions=sessions,  # type: ignore[arg-type]
                   slot=timedelta(minutes=int(data.get("slot_minutes", 30))),
                   days_ahead=int(data.get("days_ahead", 7)),
                   min_notice=timedelta(minutes=int(data.get("min_notice_minutes", 60))),
                   per_phone_per_day=int(data.get("per_phone_per_day", 2)),
                   priority_age=int(data.get("priority_age", 0)),
                   evening_reminder=time.fromisoformat(str(reminders.get("evening_before", "19:00"))),
                   soon_reminder=timedelta(minutes=int(reminders.get("before_minutes", 60))),
                   office=catalogue.locality.office)

    @property
    def enabled(self) -> bool:
        return bool(self.counters)

    def counter(self, counter_id: str) -> Optional[Counter]:
        return next((c for c in self.counters if c.id == counter_id), None)

    def counter_for(self, procedure_id: str, topic: str = "", code: str = "") -> Optional[Counter]:
        """The counter that lists the procedure (id or national code), else its topic, else "*"."""
        for wanted in ((procedure_id, code), (topic,), (ANY_PROCEDURE,)):
            for c in self.counters:
                if any(w and w in c.serves for w in wanted):
                    return c
        return None

    def starts_on(self, day: date) -> list[datetime]:
        """Every slot start of a working day (Vietnam time, aware); none on a day off."""
        if not is_working_day(day):
            return []
        starts = []
        for begin, end in self.sessions:
            moment = datetime.combine(day, begin, tzinfo=VIETNAM)
            while moment + self.slot <= datetime.combine(day, end, tzinfo=VIETNAM):
                starts.append(moment)
                moment += self.slot
        return starts

    def bookable_starts(self, day: date, now: datetime) -> list[datetime]:
        earliest = now + self.min_notice
        return [s for s in self.starts_on(day) if s >= earliest]

    def bookable_days(self, now: datetime) -> list[date]:
        """The working days a citizen may book: today (if a slot is still far enough ahead) and the
        following ones, `days_ahead` working days in all."""
        today = now.astimezone(VIETNAM).date()
        day = today if is_working_day(today) else next_working_day(today)
        days: list[date] = []
        while len(days) < self.days_ahead:
            days.append(day)
            day = next_working_day(day)
        return [d for d in days if d != today or self.bookable_starts(d, now)]

    def is_bookable(self, start: datetime, now: datetime) -> bool:
        local = start.astimezone(VIETNAM)
        return local.date() in self.bookable_days(now) and local in self.bookable_starts(local.date(), now)


def day_label(day: date) -> str:
    """'Thứ Hai, 07/12/2026'."""
    return f"{WEEKDAYS[day.weekday()]}, {day.strftime('%d/%m/%Y')}"


def when_label(moment: datetime) -> str:
    """'8:00, Thứ Hai, 07/12/2026' (Vietnam time)."""
    local = moment.astimezone(VIETNAM)
    return f"{local.hour}:{local.minute:02d}, {day_label(local.date())}"


def as_vietnam(day: date, hhmm: str) -> Optional[datetime]:
    """A day and a typed time ('8:00', '08:00', '8h', '8h30', '14 giờ') → the aware moment."""
    match = re.fullmatch(r"\s*(\d{1,2})\s*(?:[:h]|giờ|gio)?\s*(\d{2})?\s*(?:phút|phut)?\s*", hhmm or "", re.IGNORECASE)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour > 23 or minute > 59:
        return None
    return datetime.combine(day, time(hour, minute), tzinfo=VIETNAM)
