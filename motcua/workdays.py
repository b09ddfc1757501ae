"""Working days in Vietnam: weekends and public holidays (lunar ones included) are skipped."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache

import holidays

VIETNAM = timezone(timedelta(hours=7))
# After this hour a submission counts from the next working day (one-stop rules use 15:00–17:00;
# offices close at 17:00).
CLOSE = time(17, 0)


@lru_cache(maxsize=16)
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("VN", years=[year]).keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def next_working_day(day: date) -> date:
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def previous_working_day(day: date) -> date:
    """The last working day before `day` (a Monday's is the Friday before, Tết's longer)."""
    day -= timedelta(days=1)
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


def add_working_days(received: datetime, days: int) -> datetime:
    """The deadline: `days` working days after the day it was received, at closing time
    (Vietnam time). Received on a day off or after closing, counting starts the next working day."""
    local = received.astimezone(VIETNAM)
    day = local.date()
    if not is_working_day(day) or local.time() >= CLOSE:
        day = next_working_day(day)  # otherwise the receiving day itself is day 0
    for _ in range(days):
        day = next_working_day(day)
    return datetime.combine(day, CLOSE, tzinfo=VIETNAM).astimezone(timezone.utc)


def working_days_between(start: datetime, end: datetime) -> int:
    """Working days from `start`'s day (exclusive) to `end`'s day (inclusive); negative if end is before."""
    a, b = start.astimezone(VIETNAM).date(), end.astimezone(VIETNAM).date()
    sign = 1 if b >= a else -1
    a, b = min(a, b), max(a, b)
    n = sum(1 for k in range(1, (b - a).days + 1) if is_working_day(a + timedelta(days=k)))
    return sign * n


def within_hours(now: datetime, hours: str) -> bool:
    """"always", or "HH:MM-HH:MM" on a working day (Vietnam time)."""
    if hours.strip().lower() == "always":
        return True
    local = now.astimezone(VIETNAM)
    try:
        start, end = (time.fromisoformat(part.strip()) for part in hours.split("-"))
    except ValueError:
        return False
    return is_working_day(local.date()) and start <= local.time() < end
