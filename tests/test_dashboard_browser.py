"""In headless Chromium: a citizen files a complaint on the web chat page, an official signs in,
replies and resolves it on the dashboard, the reply reaches the citizen's page, and the citizen
asks the ticket's status — the whole issue-6 path on the real gateway, Rasa and action server."""
import json
import os
import re
import subprocess
import sys
from datetime import datetime, timezone

from playwright.async_api import expect

from bot.state import DB
from motcua import PROJECT_ROOT
from motcua.store import Database
from motcua.store.officials import create_official

from tests.support.gateway import make_settings, start_gateway
from tests.support.usage_data import EXPECTED
from tests.support.usage_data import seed as seed_usage

SCREENSHOTS = PROJECT_ROOT / "results" / "browser"


async def test_complaint_from_web_chat_to_dashboard_and_back(gateway, rasa_servers, browser):
    base = str(gateway.make_url("/")).rstrip("/")
    db = Database(rasa_servers["database_url"])
    async with db.session() as s, s.begin():
        await create_official(s, "kt.browser", "mat-khau-trinh-duyet", role="official", agency="phong_kinh_te",
                              full_name="Đặng Văn Giang")
    await db.dispose()

    citizen = await browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    await citizen.goto(f"{base}/?poll_ms=500")
    log = citizen.locator("#log")
    await expect(log).to_contain_text("Xin chào")

    async def citizen_says(text: str, expect_text: str) -> None:
        await citizen.fill("#text", text)
        await citizen.click("#send")
        await expect(log).to_contain_text(expect_text)

    await citizen_says("tôi muốn gửi phản ánh", "mô tả sự việc")
    await citizen_says("Cống thoát nước trước chợ Hoài Ân bị tắc, nước tràn ra đường", "thuộc lĩnh vực nào")
    await log.get_by_role("button", name="Môi trường").click()
    await expect(log).to_contain_text("ở đâu")
    await citizen_says("chợ Hoài Ân", "họ tên")
    await citizen_says("Huỳnh Thị Hoa", "Số điện thoại")
    await citizen_says("0905 222 333", "Cống thoát nước")
    await log.get_by_role("button", name="Gửi", exact=True).last.click()
    await expect(log).to_contain_text("đã được tiếp nhận với mã PA-")
    ticket = re.search(r"PA-\d{4}-\d{6}", await log.inner_text()).group(0)

    # The CLI lists it with agency and deadline.
    listed = json.loads(subprocess.run([sys.executable, "-m", "motcua.cli", "complaints", "list", "--format", "json"],
                                       env={**os.environ, "DATABASE_URL": rasa_servers["database_url"]},
                                       capture_output=True, text=True, check=True).stdout)
    row = next(r for r in listed if r["ticket_id"] == ticket)
    assert row["agency"] and row["deadline"]

    official = await browser.new_page(viewport={"width": 1280, "height": 800})  # a laptop
    await official.goto(f"{base}/officials/")
    await expect(official).to_have_url(re.compile("/officials/login"))
    await official.fill("#username", "kt.browser")
    await official.fill("#password", "mat-khau-trinh-duyet")
    await official.click("button[type=submit]")
    await expect(official.locator("h1")).to_contain_text("Phản ánh, kiến nghị")
    await official.fill("#q", "cong thoat nuoc")  # search without diacritics
    await official.click("text=Lọc")
    await official.click(f"text={ticket}")
    await expect(official.locator("h1")).to_contain_text(ticket)
    await expect(official.locator("body")).to_contain_text("Huỳnh Thị Hoa")

    await official.fill("#reply-text", "Tổ công tác sẽ nạo vét cống trong sáng mai.")
    await official.click("text=Gửi trả lời")
    await expect(official.locator(".flash")).to_contain_text("gửi thông báo cho công dân")
    await expect(log).to_contain_text("Tổ công tác sẽ nạo vét cống trong sáng mai.", timeout=10_000)

    await official.fill("#resolve-note", "Đã nạo vét xong cống thoát nước.")
    await official.click("text=Đánh dấu đã xử lý")
    await expect(official.locator("#status")).to_have_text("Đã xử lý xong")
    await expect(official.locator("#history")).to_contain_text("Đánh dấu đã xử lý")
    await expect(log).to_contain_text("Đã nạo vét xong cống thoát nước.", timeout=10_000)

    await citizen_says(f"phản ánh {ticket} đến đâu rồi", "Đã xử lý xong")


# Every card of the reports page: the widest thing in it and the smallest text (issue 19). SVG
# text would be measured by its drawn height (its font-size ignores the scaling); there is none.
MEASURE = """() => {
  const px = v => parseFloat(v);
  const cards = [...document.querySelectorAll("main .card")].map(card => {
    const box = card.getBoundingClientRect();
    let overflow = [];
    for (const el of card.querySelectorAll("*")) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.right > box.right + 0.5 || r.left < box.left - 0.5)
        overflow.push(`${el.tagName}.${el.className}: ${r.left.toFixed(0)}–${r.right.toFixed(0)}`);
    }
    if (card.scrollWidth > card.clientWidth) overflow.push(`scrollWidth ${card.scrollWidth} > ${card.clientWidth}`);
    return {id: card.id, width: Math.round(box.width), overflow};
  });
  let smallest = {size: 1e9, text: ""};
  for (const el of document.querySelectorAll("main *")) {
    const own = [...el.childNodes].filter(n => n.nodeType === 3 && n.textContent.trim()).map(n => n.textContent.trim());
    if (!own.length || !el.getClientRects().length) continue;
    const size = el instanceof SVGElement ? el.getBoundingClientRect().height : px(getComputedStyle(el).fontSize);
    if (size < smallest.size) smallest = {size, text: own.join(" ").slice(0, 40)};
  }
  const label = document.querySelector("#volume .chart-label");
  return {cards, smallest, svg: document.querySelectorAll("main svg").length,
          volumeLabel: label ? px(getComputedStyle(label).fontSize) : null,
          pageWidth: document.documentElement.scrollWidth, viewport: window.innerWidth};
}"""


async def test_reports_are_readable_at_1280_px_and_on_a_phone(sqlite_url, tmp_path, browser):
    """Issue 19: the reports page, seeded with a fortnight of use, at 1280×900 and 390×844: every
    text at least 11 px (the volume chart's labels were ~5 px), nothing wider than its card (the
    on-time table overflowed at 1280 px), no sideways scrolling, and the new figures shown.
    Screenshots in results/browser/."""
    client = await start_gateway(make_settings(database_url=sqlite_url, dossier_watch_seconds=0,
                                               escalation_check_seconds=0,
                                               case_database_url=f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"))
    try:
        await seed_usage(client.app[DB].session, datetime.now(timezone.utc))
        async with client.app[DB].session() as s, s.begin():
            await create_official(s, "lanhdao", "mat-khau-lanh-dao", role="supervisor", full_name="Trần Văn Bình")
        base = str(client.make_url("/")).rstrip("/")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        e = EXPECTED
        for width, height in ((1280, 900), (390, 844)):
            page = await browser.new_page(viewport={"width": width, "height": height})
            await page.goto(f"{base}/officials/login?next=/officials/reports")
            await page.fill("#username", "lanhdao")
            await page.fill("#password", "mat-khau-lanh-dao")
            await page.click("button[type=submit]")
            await expect(page.locator("h1").first).to_have_text("Hoạt động của trợ lý")
            await expect(page.locator("#kpi-not-answered .value")).to_have_text(
                f"{100 * 3 / e['typed']:.1f}%".replace(".", ","))
            await expect(page.locator("#kpi-handed .value")).to_have_text(
                f"{100 * e['handed'] / e['conversations']:.1f}%".replace(".", ","))
            await expect(page.locator("#kpi-handling .value")).to_have_text("4 giờ")
            await expect(page.locator("#kpi-messages .value")).to_have_text(str(e["incoming"]))
            await expect(page.locator("#messages-per-day .chart-row")).to_have_count(30)
            await expect(page.locator("#messages-per-day .chart-legend")).to_contain_text("Zalo OA")
            await expect(page.locator("#needs .chart-row").first).to_contain_text("Hỏi thủ tục hành chính")
            await expect(page.locator("#procedures .chart-row").first).to_contain_text("Đăng ký khai sinh")
            await expect(page.locator("#volume .chart-row")).to_have_count(3)  # all time: 3 categories
            await page.screenshot(path=str(SCREENSHOTS / f"reports-{width}x{height}.png"), full_page=True)
            m = await page.evaluate(MEASURE)
            (SCREENSHOTS / f"reports-{width}x{height}.json").write_text(json.dumps(m, ensure_ascii=False, indent=1))
            assert m["svg"] == 0
            assert m["smallest"]["size"] >= 11, m["smallest"]
            assert m["volumeLabel"] >= 11
            assert {c["id"]: c["overflow"] for c in m["cards"] if c["overflow"]} == {}, m["cards"]
            assert m["pageWidth"] <= m["viewport"], (m["pageWidth"], m["viewport"])
            widths = {c["id"]: c["width"] for c in m["cards"]}
            if width == 1280:  # two report cards side by side, each wide enough for its table
                assert 500 <= widths["on-time"] <= 600 and widths["volume"] == widths["on-time"], widths
            else:  # one column, the whole width
                assert widths["on-time"] == widths["volume"] == widths["needs"] >= 340, widths
            await page.close()
    finally:
        await client.close()
