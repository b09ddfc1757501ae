"""In headless Chromium: a citizen files a complaint on the web chat page, an official signs in,
replies and resolves it on the dashboard, the reply reaches the citizen's page, and the citizen
asks the ticket's status — the whole issue-6 path on the real gateway, Rasa and action server."""
import json
import os
import re
import subprocess
import sys

from playwright.async_api import expect

from motcua.store import Database
from motcua.store.officials import create_official


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
