"""Appointments in the store, on SQLite and PostgreSQL: no double booking, the per-phone limit,
cancel and move, reminders due on a controlled clock (issue 19)."""
import asyncio
from datetime import date, datetime, time, timedelta, timezone

import pytest

from motcua.appointments import Schedule, as_vietnam, find_code
from motcua.catalogue import load_catalogue
from motcua.store import Database
from motcua.store.appointments import (
    BookingRefused,
    Request,
    book,
    by_code,
    cancel,
    claim_reminder,
    due_reminders,
    free_seats,
    mark,
    move,
    summary,
)
from motcua.workdays import VIETNAM

catalogue = load_catalogue()
schedule = Schedule.of(catalogue)
# Friday 4 December 2026, 9:00 in Hoài Ân: the next working day is Monday 7 December.
NOW = datetime(2026, 12, 4, 9, 0, tzinfo=VIETNAM)
MONDAY = date(2026, 12, 7)


def request(i: int, start: datetime, phone: str = "", counter: str = "quay_1") -> Request:
    return Request(sender_id=f"web:c{i}", procedure_id="khai_sinh", procedure_name="Đăng ký khai sinh",
                   counter_id=counter, starts_at=start, name=f"Công dân {i}", phone=phone or f"09050{i:05d}")


@pytest.fixture
async def store(db_url):
    db = Database(db_url)
    await db.migrate()
    yield db
    await db.dispose()


def test_schedule_follows_the_locality_data_and_the_calendar():
    assert schedule.counter_for("khai_sinh", "ho_tich").id == "quay_1"
    assert schedule.counter_for("chung_thuc_ban_sao", "chung_thuc").id == "quay_2"
    assert schedule.counter_for("1.000000", "").id == "quay_4"  # no counter lists it: the "*" one
    days = schedule.bookable_days(NOW)
    assert len(days) == 7 and days[0] == date(2026, 12, 4) and date(2026, 12, 5) not in days  # no Saturday
    starts = schedule.starts_on(MONDAY)
    assert starts[0].time() == time(7, 30) and starts[-1].time() == time(16, 30)
    assert time(11, 30) not in [s.time() for s in starts]  # the lunch break
    assert schedule.bookable_starts(NOW.date(), NOW)[0].time() == time(10, 0)  # an hour's notice
    assert find_code("huy lich lh 2026 000042 giup em") == "LH-2026-000042"
    assert as_vietnam(MONDAY, "8h30") == datetime(2026, 12, 7, 8, 30, tzinfo=VIETNAM)


async def test_fifty_citizens_take_the_last_seat_of_a_slot_exactly_one_gets_it(store):
    start = datetime.combine(MONDAY, time(8, 0), tzinfo=VIETNAM)
    async with store.session() as session, session.begin():
        await book(session, schedule, request(0, start), now=NOW)  # one of quay_1's 2 seats

    async def one(i: int) -> str:
        try:
            async with store.session() as session, session.begin():
                return (await book(session, schedule, request(i, start), now=NOW)).code
        except BookingRefused as refused:
            return refused.reason

    outcomes = await asyncio.gather(*(one(i) for i in range(1, 51)))
    codes = [o for o in outcomes if o.startswith("LH-")]
    assert len(codes) == 1 and outcomes.count("full") == 49
    async with store.session() as session:
        free = await free_seats(session, schedule, "quay_1", now=NOW)
    assert start not in [s for s, _ in free[MONDAY]]
    assert (datetime.combine(MONDAY, time(8, 30), tzinfo=VIETNAM), 2) in free[MONDAY]


async def test_a_phone_holds_two_bookings_a_day_and_a_cancelled_one_gives_its_seat_back(store):
    phone = "0905123456"
    starts = [datetime.combine(MONDAY, time(h, 0), tzinfo=VIETNAM) for h in (8, 9, 10)]
    async with store.session() as session, session.begin():
        first = await book(session, schedule, request(1, starts[0], phone), now=NOW)
        await book(session, schedule, request(1, starts[1], phone), now=NOW)
    with pytest.raises(BookingRefused) as refused:
        async with store.session() as session, session.begin():
            await book(session, schedule, request(1, starts[2], phone), now=NOW)
    assert refused.value.reason == "phone_limit"
    async with store.session() as session, session.begin():
        a = await by_code(session, first.code)
        assert await cancel(session, a, "citizen", now=NOW)
        assert not await cancel(session, a, "citizen", now=NOW)  # once
    async with store.session() as session, session.begin():
        third = await book(session, schedule, request(1, starts[2], phone), now=NOW)
    assert third.code.startswith("LH-2026-")
    with pytest.raises(BookingRefused) as refused:  # not a working day
        async with store.session() as session, session.begin():
            await book(session, schedule, request(2, datetime(2026, 12, 5, 8, 0, tzinfo=VIETNAM)), now=NOW)
    assert refused.value.reason == "not_bookable"


async def test_a_refused_move_leaves_the_booking_where_it_was(store):
    eight, nine = (datetime.combine(MONDAY, time(h, 0), tzinfo=VIETNAM) for h in (8, 9))
    async with store.session() as session, session.begin():
        mine = await book(session, schedule, request(1, eight), now=NOW)
        for i in (2, 3):
            await book(session, schedule, request(i, nine), now=NOW)
    with pytest.raises(BookingRefused):
        async with store.session() as session, session.begin():
            await move(session, schedule, await by_code(session, mine.code), nine, now=NOW)
    ten = datetime.combine(MONDAY, time(10, 0), tzinfo=VIETNAM)
    async with store.session() as session, session.begin():
        a = await by_code(session, mine.code)
        assert a.starts_at.astimezone(timezone.utc) == eight.astimezone(timezone.utc)
        await move(session, schedule, a, ten, now=NOW)
    async with store.session() as session:
        free = dict((await free_seats(session, schedule, "quay_1", now=NOW))[MONDAY])
    assert free[eight] == 2 and free[ten] == 1


async def test_reminders_the_evening_before_and_an_hour_before_once_each(store):
    start = datetime.combine(MONDAY, time(8, 0), tzinfo=VIETNAM)
    async with store.session() as session, session.begin():
        a = await book(session, schedule, request(1, start), now=NOW)
        late = await book(session, schedule, request(2, start), now=datetime(2026, 12, 6, 20, 0, tzinfo=VIETNAM))

    async def due(at: datetime) -> list[tuple[str, str]]:
        async with store.session() as session:
            return [(x.code, kind) for x, kind in await due_reminders(session, schedule, at)]

    assert await due(datetime(2026, 12, 6, 18, 59, tzinfo=VIETNAM)) == []
    sunday_evening = datetime(2026, 12, 6, 19, 0, tzinfo=VIETNAM)
    assert await due(sunday_evening) == [(a.code, "evening")]  # not `late`: booked after 19:00

    async def claim(kind: str, at: datetime) -> bool:
        async with store.session() as session, session.begin():
            return await claim_reminder(session, await by_code(session, a.code), kind, at)

    assert await asyncio.gather(claim("evening", sunday_evening), claim("evening", sunday_evening)) in (
        [True, False], [False, True])  # two replicas: one sends
    assert await due(sunday_evening + timedelta(hours=1)) == []
    seven = datetime(2026, 12, 7, 7, 0, tzinfo=VIETNAM)
    assert sorted(await due(seven)) == sorted([(a.code, "soon"), (late.code, "soon")])
    assert await claim("soon", seven) and not await claim("soon", seven)


async def test_check_in_no_show_and_the_summary(store):
    start = datetime.combine(MONDAY, time(8, 0), tzinfo=VIETNAM)
    async with store.session() as session, session.begin():
        kept = await book(session, schedule, request(1, start), now=NOW)
        absent = await book(session, schedule, request(2, start), now=NOW)
        gone = await book(session, schedule, request(3, start + timedelta(hours=1)), now=NOW)
    async with store.session() as session, session.begin():
        assert await mark(session, await by_code(session, kept.code), "arrived", now=start - timedelta(minutes=10))
        assert await mark(session, await by_code(session, kept.code), "served", now=start + timedelta(minutes=12))
        assert await mark(session, await by_code(session, absent.code), "no_show", now=start + timedelta(hours=1))
        assert not await mark(session, await by_code(session, absent.code), "arrived")
        await cancel(session, await by_code(session, gone.code), "Nguyễn Văn Cán Bộ", "Quầy nghỉ đột xuất")
    async with store.session() as session:
        s = await summary(session, start - timedelta(days=1), start + timedelta(days=1))
    assert (s.booked, s.arrived, s.no_show, s.cancelled) == (3, 1, 1, 1)
    assert s.average_wait == timedelta(minutes=12)  # from the booked time, as they came early
