"""The officials' page of appointments over HTTP, on SQLite and PostgreSQL (issue 19): sign-in and
CSRF, a day's bookings by counter, the week's counts, check-in, call, no-show and cancel in the
store, the cancelled citizen told with the reason, refusals and bad input as clear pages, the
report over a period and its card on /officials/reports."""
import asyncio
import logging
import re
from datetime import date, datetime, time, timedelta, timezone
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.state import DB
from motcua.appointments import Schedule
from motcua.catalogue import load_catalogue
from motcua.settings import Settings
from motcua.store.appointments import Request, book, by_code, cancel, mark
from motcua.store.conversations import pushed_messages
from motcua.store.officials import create_official
from motcua.workdays import VIETNAM, is_working_day

from tests.support.chat import web_id
from tests.support.gateway import start_gateway
from tests.test_dashboard import PASSWORD, login

schedule = Schedule.of(load_catalogue())
# Booked on Friday 4 December 2026 for Monday 7 December (the store's tests' calendar).
BOOKED_ON = datetime(2026, 12, 4, 9, 0, tzinfo=VIETNAM)
MONDAY = date(2026, 12, 7)


@pytest.fixture
async def office(store_url, tmp_path):
    client = await start_gateway(Settings(database_url=store_url, case_database_url=f"sqlite+aiosqlite:///{tmp_path / 'c.db'}",
                                          dossier_watch_seconds=0, escalation_check_seconds=0))
    async with client.app[DB].session() as s, s.begin():
        await create_official(s, "motcua1", PASSWORD, role="official", agency="van_phong_hdnd_ubnd",
                              full_name="Đoàn Thị Hạnh")
    try:
        yield client
    finally:
        await client.close()


async def seed(client, *bookings, day=MONDAY, now=BOOKED_ON) -> list[str]:
    """Books (name, "H:MM", counter) on `day` from chats web:<name>; their codes, in that order."""
    codes = []
    async with client.app[DB].session() as s, s.begin():
        for i, (name, hhmm, counter) in enumerate(bookings):
            start = datetime.combine(day, time.fromisoformat(hhmm.zfill(5)), tzinfo=VIETNAM)
            a = await book(s, schedule, Request(sender_id=f"web:{web_id(name)}", procedure_id="khai_sinh",
                                                procedure_name="Đăng ký khai sinh", counter_id=counter,
                                                starts_at=start, name=name, phone=f"0905{i:06d}"), now=now)
            codes.append(a.code)
    return codes


async def status_of(client, code: str) -> str:
    async with client.app[DB].session() as s:
        return (await by_code(s, code)).status


async def post(client, code: str, action: str, csrf: str, **form):
    return await client.post(f"/officials/appointments/{code}/{action}", data={"csrf": csrf, **form},
                             allow_redirects=False)


def shown(page: str) -> str:
    """The page's text without tags (for phrases that span markup)."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", page)).split())


async def test_the_page_needs_a_login(office):
    resp = await office.get("/officials/appointments", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"].startswith("/officials/login?next=")
    (code,) = await seed(office, ("Lê Thị Mai", "8:00", "quay_1"))
    assert (await office.post(f"/officials/appointments/{code}/arrived", allow_redirects=False)).status == 403
    assert await status_of(office, code) == "booked"


async def test_the_day_lists_bookings_by_counter_in_time_order(office):
    later, earlier, notary = await seed(office, ("Lê Thị Mai", "9:00", "quay_1"), ("Phan Văn Tú", "8:00", "quay_1"),
                                        ("Võ Thị Lan", "8:30", "quay_2"))
    await login(office, "motcua1")
    page = await (await office.get("/officials/appointments", params={"day": "2026-12-07"})).text()
    text = shown(page)
    assert re.search(r"Thứ Hai, 07/12/2026( \(hôm nay\))?: 3 lịch hẹn", text)
    # Counters in the locality's order, each one's bookings by time; the phone in full, to call.
    assert page.index("Quầy 1 – Hộ tịch") < page.index(earlier) < page.index(later) < page.index("Quầy 2 – Chứng thực") \
        < page.index(notary) < page.index("Quầy 3 –")
    assert "8:00 " + earlier in text and "Phan Văn Tú 0905000001 Đăng ký khai sinh Đã đặt" in text
    assert 'href="tel:0905000002"' in page and "Không có lịch hẹn." in page  # quầy 3 and 4
    assert "Gọi vào quầy" in page and "Lý do hủy" in page
    # Neighbouring days are linked; a Sunday says the office is closed.
    assert "day=2026-12-06" in page and "day=2026-12-08" in page
    sunday = shown(await (await office.get("/officials/appointments", params={"day": "2026-12-06"})).text())
    assert "0 lịch hẹn" in sunday and "Ngày nghỉ" in sunday and earlier not in sunday


async def test_the_week_counts_bookings_per_day_and_counter(office):
    await seed(office, ("Lê Thị Mai", "9:00", "quay_1"), ("Phan Văn Tú", "8:00", "quay_1"),
               ("Võ Thị Lan", "8:30", "quay_2"))
    (gone,) = await seed(office, ("Trần Văn Sơn", "8:00", "quay_1"), day=MONDAY + timedelta(days=1))
    async with office.app[DB].session() as s, s.begin():
        await cancel(s, await by_code(s, gone), by="citizen")
    await seed(office, ("Đỗ Văn Hùng", "14:00", "quay_3"), day=MONDAY + timedelta(days=2))
    await login(office, "motcua1")
    text = shown(await (await office.get("/officials/appointments",
                                         params={"day": "2026-12-07", "view": "week"})).text())
    assert "7 ngày từ Thứ Hai, 07/12/2026" in text
    assert "Ngày Quầy 1 Quầy 2 Quầy 3 Quầy 4 Tổng" in text
    assert "Thứ Hai, 07/12 2 1 0 0 3" in text
    assert "Thứ Ba, 08/12 0 0 0 0 0" in text  # the cancelled one is not counted
    assert "Thứ Tư, 09/12 0 0 1 0 1" in text and "Chủ nhật, 13/12 0 0 0 0 0" in text
    assert "Cả tuần 2 1 1 0 4" in text and "Tuần sau" in text


async def test_check_in_call_no_show_and_cancel_change_the_store_and_the_citizen_is_told(office, caplog):
    came, missed, called, dropped = await seed(office, ("Lê Thị Mai", "8:00", "quay_1"), ("Phan Văn Tú", "8:30", "quay_1"),
                                               ("Võ Thị Lan", "9:00", "quay_2"), ("Ngô Văn Bảo", "8:00", "quay_1"))
    csrf = await login(office, "motcua1")
    caplog.set_level(logging.INFO, logger="bot.appointments_page")
    for code, action in ((came, "arrived"), (came, "served"), (missed, "no_show"), (called, "served")):
        resp = await post(office, code, action, csrf)
        assert resp.status == 302, await resp.text()
        assert parse_qs(urlsplit(resp.headers["Location"]).query) == {"day": ["2026-12-07"], "code": [code],
                                                                      "done": [action]}
    resp = await post(office, dropped, "cancel", csrf, reason="Cán bộ hộ tịch đi tập huấn đột xuất")
    assert "done=cancel" in resp.headers["Location"] and "told=1" in resp.headers["Location"]
    async with office.app[DB].session() as s:
        a, b, c, d = [await by_code(s, code) for code in (came, missed, called, dropped)]
        told = await pushed_messages(s, "web", web_id("Ngô Văn Bảo"), 0)
        others = await pushed_messages(s, "web", web_id("Lê Thị Mai"), 0)
    assert (a.status, b.status, c.status, d.status) == ("served", "no_show", "served", "cancelled")
    assert a.arrived_at is not None and a.served_at is not None and c.arrived_at is not None
    assert d.cancelled_by == "Đoàn Thị Hạnh (motcua1)" and d.cancel_reason == "Cán bộ hộ tịch đi tập huấn đột xuất"
    assert [m.text for m in told] == [
        f"Lịch hẹn {dropped} lúc 8:00, Thứ Hai, 07/12/2026 tại Quầy 1 – Hộ tịch đã bị hủy. "
        "Lý do: Cán bộ hộ tịch đi tập huấn đột xuất. Anh/chị có thể đặt lịch khác bằng cách nhắn \"đặt lịch hẹn\". "
        "Chúng tôi xin lỗi vì sự bất tiện này."]
    assert others == []  # only a cancellation tells the citizen
    page = shown(await (await office.get(resp.headers["Location"])).text())
    assert f"Đã hủy lịch hẹn {dropped} và gửi thông báo kèm lý do cho công dân." in page
    assert "Lý do: Cán bộ hộ tịch đi tập huấn đột xuất · Hủy bởi Đoàn Thị Hạnh (motcua1)" in page
    # Who did what is logged, never a phone number.
    logged = [r.getMessage() for r in caplog.records if r.name == "bot.appointments_page"]
    assert f"appointment {dropped}: cancel by motcua1" in logged and f"appointment {came}: arrived by motcua1" in logged
    assert not any("0905" in m for m in logged)


async def test_a_refused_action_is_a_clear_message(office):
    booked, gone = await seed(office, ("Lê Thị Mai", "8:00", "quay_1"), ("Phan Văn Tú", "8:30", "quay_1"))
    csrf = await login(office, "motcua1")
    await post(office, gone, "cancel", csrf, reason="Công dân gọi điện xin hủy")
    resp = await post(office, gone, "no_show", csrf)
    assert resp.status == 302 and "error=refused" in resp.headers["Location"]
    page = await office.get(resp.headers["Location"])
    assert page.status == 200
    assert f"Không thể ghi nhận “Không đến” cho lịch hẹn {gone}: lịch hẹn đang ở trạng thái “Đã hủy”." \
        in shown(await page.text())
    # Cancelling without a reason changes nothing and says why.
    resp = await post(office, booked, "cancel", csrf, reason="   ")
    page = shown(await (await office.get(resp.headers["Location"])).text())
    assert f"Vui lòng nhập lý do hủy lịch hẹn {booked}" in page and await status_of(office, booked) == "booked"
    assert (await post(office, "LH-2026-999999", "arrived", csrf)).status == 404
    assert (await post(office, booked, "delete", csrf)).status == 404
    assert await status_of(office, booked) == "booked"


async def test_actions_need_the_csrf_token(office):
    (code,) = await seed(office, ("Lê Thị Mai", "8:00", "quay_1"))
    await login(office, "motcua1")
    for data in ({}, {"csrf": "sai"}):
        resp = await office.post(f"/officials/appointments/{code}/cancel", data={"reason": "Thử", **data},
                                 allow_redirects=False)
        assert resp.status == 403 and "CSRF" in await resp.text()
    assert await status_of(office, code) == "booked"


@pytest.mark.parametrize("value", ["2026-13-45", "hôm nay", "0001-01-01", "9999-12-31", "2026-12-07T08:00"])
async def test_a_bad_day_is_a_clear_page(office, value):
    await login(office, "motcua1")
    resp = await office.get("/officials/appointments", params={"day": value})
    assert resp.status == 400
    page = shown(await resp.text())
    assert f"Ngày “{value}” không hợp lệ" in page and "Đang hiển thị hôm nay" in page and "(hôm nay)" in page


def last_working_day() -> date:
    """The last working day before today (Vietnam time): the report covers bookings up to now."""
    day = datetime.now(timezone.utc).astimezone(VIETNAM).date() - timedelta(days=1)
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


async def test_the_report_sums_up_the_period_and_the_reports_page_links_to_it(office):
    day = last_working_day()
    the_day_before = datetime.combine(day, time(7, 0), tzinfo=VIETNAM) - timedelta(days=1)
    served, missed, dropped, came = await seed(office, ("Lê Thị Mai", "8:00", "quay_1"), ("Phan Văn Tú", "8:30", "quay_1"),
                                               ("Võ Thị Lan", "9:00", "quay_2"), ("Ngô Văn Bảo", "9:30", "quay_4"),
                                               day=day, now=the_day_before)
    eight = datetime.combine(day, time(8, 0), tzinfo=VIETNAM)
    async with office.app[DB].session() as s, s.begin():
        await mark(s, await by_code(s, served), "arrived", now=eight + timedelta(minutes=5))
        await mark(s, await by_code(s, served), "served", now=eight + timedelta(minutes=50))
        await mark(s, await by_code(s, missed), "no_show", now=eight + timedelta(hours=1))
        await cancel(s, await by_code(s, dropped), by="citizen", now=the_day_before)
        await mark(s, await by_code(s, came), "arrived", now=eight + timedelta(hours=1))
    await login(office, "motcua1")
    page = await (await office.get("/officials/appointments", params={"days": "7"})).text()
    text = shown(page)
    for figure in ("Lịch hẹn 4", "Đã hủy 1", "Công dân đến 2", "66,7% trong 3 lịch hẹn không bị hủy",
                   "Không đến 33,3% 1 trên 3 lịch hẹn không bị hủy", "Thời gian chờ trung bình 45 phút"):
        assert figure in text, figure
    assert re.search(r'<a href="[^"]*days=7#report" class="on"', page)
    chart = page[page.index('id="appointments-per-day"'):]
    assert f'<span class="chart-label">{day:%d/%m}</span>' in chart and "Không đến: 1" in chart
    today = datetime.now(timezone.utc).astimezone(VIETNAM).date()
    assert chart.count('class="chart-row"') == sum(is_working_day(today - timedelta(days=i)) for i in range(7))
    month = shown(await (await office.get("/officials/appointments", params={"days": "1000"})).text())
    assert "Lịch hẹn 4" in month  # only the periods offered: 30 days
    reports = shown(await (await office.get("/officials/reports", params={"days": "7"})).text())
    assert "Lịch hẹn tại bộ phận một cửa 4 lịch hẹn đến giờ trong kỳ: 1 không đến (33,3%), 1 đã hủy." in reports
    assert 'href="/officials/appointments?days=7#report"' in await (await office.get("/officials/reports",
                                                                                      params={"days": "7"})).text()


async def test_two_officials_cancelling_at_once_tell_the_citizen_once(office, store_url):
    if store_url.startswith("sqlite"):
        pytest.skip("SQLite takes one writer at a time; the row lock is PostgreSQL's")
    (code,) = await seed(office, ("Lê Thị Mai", "8:00", "quay_1"))
    csrf = await login(office, "motcua1")
    first, second = await asyncio.gather(*(post(office, code, "cancel", csrf, reason=f"Lý do {i}") for i in (1, 2)))
    locations = sorted(r.headers["Location"] for r in (first, second))
    assert "done=cancel" in locations[0] and "error=refused" in locations[1] and "was=cancelled" in locations[1]
    async with office.app[DB].session() as s:
        assert len(await pushed_messages(s, "web", web_id("Lê Thị Mai"), 0)) == 1
