"""In headless Chromium (issue 19): an official signs in, opens a day of appointments, checks a
citizen in and cancels another's booking with a reason, at 1280×800 and on a phone (390×844):
nothing wider than the viewport, no text under 11 px, the citizen told. Screenshots and
measurements in results/browser/, as the reports page's test leaves them."""
import json
from datetime import datetime, time, timedelta

from playwright.async_api import expect

from bot.state import DB
from motcua.store.appointments import by_code, mark
from motcua.store.conversations import pushed_messages
from motcua.store.officials import create_official
from motcua.workdays import VIETNAM

from tests.support.chat import web_id
from tests.support.gateway import make_settings, start_gateway
from tests.test_appointments_page import last_working_day, seed
from tests.test_dashboard_browser import MEASURE, SCREENSHOTS

SIZES = ((1280, 800), (390, 844))


async def measure(page, name: str) -> None:
    """Screenshot and measurements saved; every text ≥ 11 px, nothing wider than its card or the page."""
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    m = await page.evaluate(MEASURE)
    (SCREENSHOTS / f"{name}.json").write_text(json.dumps(m, ensure_ascii=False, indent=1))
    assert m["smallest"]["size"] >= 11, (name, m["smallest"])
    assert {c["id"]: c["overflow"] for c in m["cards"] if c["overflow"]} == {}, (name, m["cards"])
    assert m["pageWidth"] <= m["viewport"], (name, m["pageWidth"], m["viewport"])


async def test_an_official_checks_in_and_cancels_at_1280_px_and_on_a_phone(sqlite_url, tmp_path, browser):
    client = await start_gateway(make_settings(database_url=sqlite_url, dossier_watch_seconds=0,
                                               escalation_check_seconds=0,
                                               case_database_url=f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"))
    try:
        async with client.app[DB].session() as s, s.begin():
            await create_official(s, "motcua.browser", "mat-khau-mot-cua", role="official",
                                  agency="van_phong_hdnd_ubnd", full_name="Đoàn Thị Hạnh")
        # A past day for the report's chart: one kept, one not.
        past = last_working_day()
        kept, missed = await seed(client, ("Hồ Văn Lâm", "8:00", "quay_1"), ("Mai Thị Thu", "8:30", "quay_1"),
                                  day=past, now=datetime.combine(past, time(7), tzinfo=VIETNAM) - timedelta(days=1))
        async with client.app[DB].session() as s, s.begin():
            await mark(s, await by_code(s, kept), "arrived", now=datetime.combine(past, time(7, 55), tzinfo=VIETNAM))
            await mark(s, await by_code(s, kept), "served", now=datetime.combine(past, time(8, 20), tzinfo=VIETNAM))
            await mark(s, await by_code(s, missed), "no_show")
        # The day: three citizens per screen size, at three counters.
        people = {size: await seed(client, (f"Nguyễn Văn Khoa {i}", f"{8 + i}:00", "quay_1"),
                                   (f"Trần Thị Ngọc Bích {i}", f"{8 + i}:30", "quay_3"),
                                   (f"Lý Văn Phúc {i}", f"{14 + i}:00", "quay_4"))
                  for i, size in enumerate(SIZES)}
        base = str(client.make_url("/")).rstrip("/")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for i, (width, height) in enumerate(SIZES):
            came, cancelled, waiting = people[(width, height)]
            page = await browser.new_page(viewport={"width": width, "height": height}, locale="vi-VN")
            await page.goto(f"{base}/officials/appointments")
            await page.fill("#username", "motcua.browser")
            await page.fill("#password", "mat-khau-mot-cua")
            await page.click("button[type=submit]")
            await expect(page.locator("h1").first).to_have_text("Lịch hẹn tại bộ phận một cửa")
            await page.fill("#pick-day", "2026-12-07")
            await page.locator(".daynav button").click()
            await expect(page.locator("#day-title")).to_contain_text("Thứ Hai, 07/12/2026")
            await expect(page.locator(f"#counter-quay_1 #{came}")).to_contain_text(f"Nguyễn Văn Khoa {i}")

            await page.locator(f"#{came}").get_by_role("button", name="Đã đến", exact=True).click()
            await expect(page.locator(".flash")).to_contain_text(f"lịch hẹn {came} đã đến")
            await expect(page.locator(f"#{came} .badge")).to_have_text("Đã đến")

            await page.locator(f"#{cancelled} summary").click()
            await page.fill(f"#reason-{cancelled}", "Cán bộ địa chính đi kiểm tra thực địa")
            await page.locator(f"#{cancelled}").get_by_role("button", name="Hủy lịch hẹn").click()
            await expect(page.locator(".flash")).to_contain_text(f"Đã hủy lịch hẹn {cancelled}")
            await expect(page.locator(f"#{cancelled} .badge")).to_have_text("Đã hủy")
            await expect(page.locator(f"#{cancelled}")).to_contain_text("Hủy bởi Đoàn Thị Hạnh")

            await page.locator(f"#{waiting} summary").click()  # the cancel form open, measured too
            await expect(page.locator(f"#reason-{waiting}")).to_be_visible()
            await expect(page.locator("#appointments-per-day .chart-row").first).to_be_visible()
            await measure(page, f"appointments-{width}x{height}")
            await page.get_by_role("link", name="Tuần", exact=True).click()
            await expect(page.locator("#week")).to_contain_text("7 ngày từ Thứ Hai, 07/12/2026")
            await measure(page, f"appointments-week-{width}x{height}")
            await page.close()
            async with client.app[DB].session() as s:
                assert (await by_code(s, came)).status == "arrived"
                told = await pushed_messages(s, "web", web_id(f"Trần Thị Ngọc Bích {i}"), 0)
            assert len(told) == 1 and "Lý do: Cán bộ địa chính đi kiểm tra thực địa." in told[0].text
    finally:
        await client.close()
