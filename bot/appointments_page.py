"""The officials' page of appointments (/officials/appointments, issue 19): a day's bookings by
counter with the check-in, call, no-show and cancel actions, a week's counts, and a report over
7/30/90 days. Cancelling tells the citizen on their channel: the message is stored in the
cancellation's transaction and pushed after it commits (bot/notify.py), so it is never lost."""
from __future__ import annotations

import logging
from collections import Counter as Tally
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Optional, Sequence
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot import charts, notify
from bot.auth import OFFICIAL, require
from bot.dashboard import _context
from bot.reports import PERIODS, duration, no_show_share, period_of, share
from bot.state import DB
from motcua.appointments import WEEKDAYS, Schedule, day_label, find_code, when_label
from motcua.catalogue import load_catalogue
from motcua.store import appointments as store
from motcua.store.cases import as_utc
from motcua.store.models import Appointment
from motcua.workdays import VIETNAM, is_working_day

log = logging.getLogger(__name__)

PATH = "/officials/appointments"
ACTIONS = {"arrived": "Đã đến", "served": "Gọi vào quầy", "no_show": "Không đến", "cancel": "Hủy"}
BADGES = {"booked": "new", "arrived": "in_progress", "served": "resolved", "no_show": "late", "cancelled": ""}
MAX_REASON = 500
# Days the page may show: a typo like 0001-01-01 must not reach date arithmetic or the holiday calendar.
YEARS = range(2000, 2101)

CANCELLED_BY_OFFICE = ("Lịch hẹn {code} lúc {when} tại {counter} đã bị hủy. Lý do: {reason} "
                       "Anh/chị có thể đặt lịch khác bằng cách nhắn \"đặt lịch hẹn\". "
                       "Chúng tôi xin lỗi vì sự bất tiện này.")
DONE = {"arrived": "Đã ghi nhận công dân của lịch hẹn {code} đã đến.",
        "served": "Đã ghi nhận công dân của lịch hẹn {code} được gọi vào quầy.",
        "no_show": "Đã ghi nhận công dân của lịch hẹn {code} không đến.",
        "cancel": "Đã hủy lịch hẹn {code} và gửi thông báo kèm lý do cho công dân."}
NOT_TOLD = ("Đã hủy lịch hẹn {code}, nhưng chưa gửi được tin nhắn cho công dân qua kênh trò chuyện: "
            "anh/chị vui lòng gọi điện báo cho công dân.")
REFUSED = "Không thể ghi nhận “{action}” cho lịch hẹn {code}: lịch hẹn đang ở trạng thái “{status}”."
NO_REASON = "Vui lòng nhập lý do hủy lịch hẹn {code} (lý do được gửi cho công dân)."
BAD_DAY = "Ngày “{value}” không hợp lệ (cần dạng năm-tháng-ngày, ví dụ 2026-12-07). Đang hiển thị hôm nay."


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=VIETNAM)


def _local(a: Appointment) -> datetime:
    return as_utc(a.starts_at).astimezone(VIETNAM)


def _clock(a: Appointment) -> str:
    """'8:00', as the citizen was told (motcua.appointments.when_label)."""
    return f"{_local(a).hour}:{_local(a).minute:02d}"


def _day_of(value: str, today: date) -> tuple[date, bool]:
    """The asked day, or today and whether the asked one was bad."""
    if not value:
        return today, False
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return today, True
    return (day, False) if day.year in YEARS else (today, True)


def _url(**query: Any) -> str:
    return f"{PATH}?{urlencode({k: v for k, v in query.items() if v})}"


def _counters(schedule: Schedule, rows: Sequence[Appointment]) -> list[tuple[str, str]]:
    """(id, name) of the locality's counters, then of any counter the data no longer lists."""
    known = [(c.id, c.name) for c in schedule.counters]
    gone = sorted({a.counter_id for a in rows} - {c for c, _ in known})
    return known + [(c, c) for c in gone]


async def _day_view(session: AsyncSession, schedule: Schedule, day: date) -> dict[str, Any]:
    rows = await store.between(session, _day_start(day), _day_start(day + timedelta(days=1)))
    groups = [{"id": cid, "name": name, "rows": [a for a in rows if a.counter_id == cid]}
              for cid, name in _counters(schedule, rows)]
    return {"groups": groups, "total": len(rows)}


async def _week_view(session: AsyncSession, schedule: Schedule, day: date) -> dict[str, Any]:
    """Bookings not cancelled per day and counter, the 7 days from `day`."""
    days = [day + timedelta(days=i) for i in range(7)]
    rows = await store.between(session, _day_start(days[0]), _day_start(days[-1] + timedelta(days=1)))
    counters = _counters(schedule, rows)
    counts = Tally((_local(a).date(), a.counter_id) for a in rows if a.status != "cancelled")
    table = [{"day": d, "weekday": WEEKDAYS[d.weekday()], "counts": [counts[(d, c)] for c, _ in counters],
              "total": sum(counts[(d, c)] for c, _ in counters)} for d in days]
    return {"counters": counters, "rows": table, "totals": [sum(counts[(d, c)] for d in days) for c, _ in counters],
            "total": sum(counts.values())}


async def report(session: AsyncSession, days: int, now: datetime) -> dict[str, Any]:
    """The period's bookings (by their time, up to now): the store's summary and, per day, the
    bookings with their no-shows; the shares and durations written as on /officials/reports."""
    first_day = now.astimezone(VIETNAM).date() - timedelta(days=days - 1)
    since = _day_start(first_day)
    s = await store.summary(session, since, now)
    booked: Tally[date] = Tally()
    missed: Tally[date] = Tally()
    for a in await store.between(session, since, now):
        day = _local(a).date()
        booked[day] += 1
        missed[day] += a.status == "no_show"
    shown = [d for d in (first_day + timedelta(days=i) for i in range(days)) if is_working_day(d) or booked[d]]
    chart = charts.stacked_bars(
        [(d.strftime("%d/%m"), [missed[d], booked[d] - missed[d]]) for d in reversed(shown)],
        ["Không đến", "Lịch hẹn còn lại"], title="Lịch hẹn và số không đến theo ngày",
        colors=(charts.PALETTE[2], charts.PALETTE[3]), short_labels=True)
    return {"summary": s, "no_shows": no_show_share(s), "kept": share(s.arrived, s.booked - s.cancelled),
            "wait": duration(s.average_wait), "chart": chart, "days": days, "since_day": first_day}


def _notice(query: Any) -> Optional[tuple[str, str]]:
    """The flash after an action (redirected here): ('flash' | 'error', text)."""
    code, action = query.get("code", ""), query.get("action", "")
    if find_code(code) != code:
        return None
    done = query.get("done", "")
    if done in DONE:
        told = done != "cancel" or query.get("told") == "1"
        return "flash", (DONE[done] if told else NOT_TOLD).format(code=code)
    if query.get("error") == "reason":
        return "error", NO_REASON.format(code=code)
    if query.get("error") == "refused" and action in ACTIONS and query.get("was") in store.STATUS_LABELS:
        return "error", REFUSED.format(action=ACTIONS[action], code=code, status=store.STATUS_LABELS[query["was"]])
    return None


@require()
async def page(request: web.Request) -> web.StreamResponse:
    """GET /officials/appointments?day=YYYY-MM-DD&view=week&days=30."""
    q, now = request.query, datetime.now(timezone.utc)
    today = now.astimezone(VIETNAM).date()
    day, bad_day = _day_of(q.get("day", ""), today)
    week = q.get("view") == "week"
    days = period_of(q.get("days", ""))
    schedule = Schedule.of(load_catalogue())
    async with request.app[DB].session() as session:
        view = await (_week_view if week else _day_view)(session, schedule, day)
        figures = await report(session, days, now)
    step = timedelta(days=7 if week else 1)

    def link(**changes: Any) -> str:
        return _url(**{"day": day.isoformat(), "view": "week" if week else "", "days": days, **changes})

    context = _context(request, day=day, today=today, week=week, view=view, report=figures, periods=PERIODS,
                       link=link, prev_day=day - step, next_day=day + step, day_label=day_label,
                       working=is_working_day(day), clock=_clock,
                       appointment_labels=store.STATUS_LABELS, badges=BADGES, max_reason=MAX_REASON,
                       notice=("error", BAD_DAY.format(value=q["day"][:40])) if bad_day else _notice(q))
    return aiohttp_jinja2.render_template("appointments.html", request, context, status=400 if bad_day else 200)


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?", "…")) else text + "."


async def _apply(session: AsyncSession, app: web.Application, a: Appointment, action: str, actor: str,
                 reason: str) -> tuple[bool, Optional[notify.Staged]]:
    """The change, and for a cancellation the citizen's message stored in the same transaction."""
    if action != "cancel":
        return await store.mark(session, a, action), None
    if not await store.cancel(session, a, by=actor, reason=reason):
        return False, None
    counter = Schedule.of(load_catalogue()).counter(a.counter_id)
    text = CANCELLED_BY_OFFICE.format(code=a.code, when=when_label(a.starts_at), reason=_sentence(reason),
                                      counter=counter.name if counter else "bộ phận một cửa")
    return True, await notify.stage(session, app, a.sender_id, text)


@require()
async def act(request: web.Request) -> web.StreamResponse:
    """POST /officials/appointments/{code}/{action}: arrived, served, no_show or cancel (with a
    reason); back to the booking's day with what was done, or why it was not."""
    code, action, official = request.match_info["code"], request.match_info["action"], request[OFFICIAL]
    if action not in ACTIONS:
        raise web.HTTPNotFound(text="Thao tác không hợp lệ.")
    reason = str((await request.post()).get("reason", "")).strip()[:MAX_REASON]
    async with request.app[DB].session() as session, session.begin():
        a = await store.by_code(session, code)
        if a is None:
            raise web.HTTPNotFound(text="Không tìm thấy lịch hẹn này.")
        # Two officials at once: the second waits for the first's change and sees it, so a citizen
        # is not told twice (PostgreSQL locks the row; SQLite lets one writer through at a time).
        await session.refresh(a, with_for_update=True)
        day = _local(a).date().isoformat()
        if action == "cancel" and not reason:
            raise web.HTTPFound(_url(day=day, code=code, error="reason"))  # nothing was changed
        actor = f"{official.full_name} ({official.username})"[:200]
        done, staged = await _apply(session, request.app, a, action, actor, reason)
        status = a.status
    if not done:
        log.info("appointment %s: %s by %s refused (status %s)", code, action, official.username, status)
        raise web.HTTPFound(_url(day=day, code=code, error="refused", action=action, was=status))
    await notify.send(request.app, staged)
    # Who did what (there is no event table); never the citizen's phone or the reason's text.
    log.info("appointment %s: %s by %s", code, action, official.username)
    told = "1" if staged is not None and staged.allowed else "0"
    raise web.HTTPFound(_url(day=day, code=code, done=action, told=told if action == "cancel" else ""))
