"""The officials' dashboard over HTTP, on SQLite and PostgreSQL: sign-in, roles, CSRF, the list
and its filters, actions that reach the citizen, the audit log, and escalation on a test clock."""
import re
from datetime import datetime, timedelta, timezone

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select, update

from bot import dashboard as dashboard_module
from bot import escalation
from bot.handlers.zalo import photo_ref
from bot.state import DB, SETTINGS
from motcua.catalogue import load_catalogue
from motcua.settings import Settings
from motcua.store.complaints import by_ticket, events_of, file_complaint
from motcua.store.conversations import pushed_messages, record_message
from motcua.store.handoffs import end as end_handoff
from motcua.store.handoffs import start as start_handoff
from motcua.store.models import Message, Official, WebSession
from motcua.store.officials import create_official, verify_password
from motcua.workdays import VIETNAM

from tests.support.chat import updates, web_id
from tests.support.fake_zalo import PNG, serve_files
from tests.support.gateway import start_gateway
from tests.support.processes import free_port
from tests.support.usage_data import EXPECTED
from tests.support.usage_data import seed as seed_usage

locality = load_catalogue().locality
PASSWORD = "mat-khau-an-toan-1"


@pytest.fixture
async def dashboard(store_url, tmp_path):
    client = await start_gateway(Settings(database_url=store_url, case_database_url=f"sqlite+aiosqlite:///{tmp_path / 'c.db'}",
                                          dossier_watch_seconds=0, escalation_check_seconds=0,
                                          admin_password="quan-tri-123456"))
    async with client.app[DB].session() as s, s.begin():
        await create_official(s, "kinhte1", PASSWORD, role="official", agency="phong_kinh_te", full_name="Nguyễn Văn An")
        await create_official(s, "vanphong1", PASSWORD, role="official", agency="van_phong_hdnd_ubnd",
                              full_name="Trần Thị Bình")
        await create_official(s, "giamsat", PASSWORD, role="supervisor", full_name="Lê Văn Cường")
    try:
        yield client
    finally:
        await client.close()


async def file(client, sender="web:citizen1", category="ha_tang_giao_thong", content="Đường liên thôn bị sụt lún",
               now=None, phone="0905001111"):
    async with client.app[DB].session() as s, s.begin():
        c = await file_complaint(s, locality, sender_id=sender, content=content, category=category,
                                 place="Thôn 2", name="Phạm Thị Dung", phone=phone, now=now)
        return c.ticket


async def login(client, username, password=PASSWORD) -> str:
    """Signs in; returns the CSRF token from the list page."""
    resp = await client.post("/officials/login", data={"username": username, "password": password,
                                                       "next": "/officials/"}, allow_redirects=False)
    assert resp.status == 302, await resp.text()
    cookie = resp.cookies["motcua_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    page = await (await client.get("/officials/")).text()
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


async def test_pages_need_a_login_and_passwords_are_hashed(dashboard):
    resp = await dashboard.get("/officials/", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"].startswith("/officials/login")
    resp = await dashboard.post("/officials/complaints/PA-2026-000001/resolve", data={"note": "x"},
                                allow_redirects=False)
    assert resp.status == 403
    bad = await dashboard.post("/officials/login", data={"username": "kinhte1", "password": "sai"})
    assert bad.status == 401 and "không đúng" in await bad.text()
    async with dashboard.app[DB].session() as s:
        official = await s.scalar(select(Official).where(Official.username == "kinhte1"))
    assert PASSWORD not in official.password_hash and official.password_hash.startswith("scrypt$")
    assert verify_password(PASSWORD, official.password_hash)
    # The first admin comes from MOTCUA_ADMIN_PASSWORD.
    await login(dashboard, "admin", "quan-tri-123456")


async def test_repeated_failures_lock_the_username(dashboard):
    for _ in range(5):
        await dashboard.post("/officials/login", data={"username": "giamsat", "password": "sai"})
    locked = await dashboard.post("/officials/login", data={"username": "giamsat", "password": PASSWORD})
    assert locked.status == 401 and "tạm khóa" in await locked.text()


@pytest.mark.parametrize("target", ["//evil.example/x", "/\t/evil.example", "/\\evil.example", "\\\\evil.example",
                                    "https://evil.example/", "/\n/evil.example", "/ /evil.example", "javascript:alert(1)",
                                    "/%0a/x\r\n"])
async def test_open_redirect_after_login_is_refused(dashboard, target):
    resp = await dashboard.post("/officials/login", data={"username": "giamsat", "password": PASSWORD,
                                                          "next": target}, allow_redirects=False)
    assert resp.headers["Location"] == "/officials/"


async def test_a_plain_path_on_this_site_is_where_sign_in_leads(dashboard):
    resp = await dashboard.post("/officials/login", data={"username": "giamsat", "password": PASSWORD,
                                                          "next": "/officials/reports?from=2026-01"}, allow_redirects=False)
    assert resp.headers["Location"] == "/officials/reports?from=2026-01"


async def test_an_official_sees_only_their_agency_and_filters_work(dashboard):
    road = await file(dashboard, content="Đèn đường thôn 3 hỏng")
    attitude = await file(dashboard, category="thu_tuc_thai_do", content="Cán bộ một cửa thái độ chưa đúng mực")
    await login(dashboard, "kinhte1")
    page = await (await dashboard.get("/officials/")).text()
    assert road in page and attitude not in page
    assert (await dashboard.get(f"/officials/complaints/{attitude}")).status == 404
    await login(dashboard, "giamsat")
    page = await (await dashboard.get("/officials/")).text()
    assert road in page and attitude in page
    page = await (await dashboard.get("/officials/", params={"category": "thu_tuc_thai_do"})).text()
    assert road not in page and attitude in page
    page = await (await dashboard.get("/officials/", params={"q": "den duong"})).text()
    assert road in page and attitude not in page
    page = await (await dashboard.get("/officials/", params={"overdue": "1"})).text()
    assert road not in page and "Không có phản ánh nào" in page


async def test_actions_need_the_csrf_token(dashboard):
    ticket = await file(dashboard)
    await login(dashboard, "kinhte1")
    resp = await dashboard.post(f"/officials/complaints/{ticket}/resolve", data={"note": "Đã sửa"},
                                allow_redirects=False)
    assert resp.status == 403
    resp = await dashboard.post(f"/officials/complaints/{ticket}/resolve", data={"note": "Đã sửa", "csrf": "x"},
                                allow_redirects=False)
    assert resp.status == 403
    async with dashboard.app[DB].session() as s:
        assert (await by_ticket(s, ticket)).status == "new"


async def test_assign_reply_resolve_reopen_reach_the_citizen_and_are_audited(dashboard):
    ticket = await file(dashboard, sender=f"web:{web_id('citizen7')}")
    csrf = await login(dashboard, "kinhte1")
    async with dashboard.app[DB].session() as s:
        me = await s.scalar(select(Official).where(Official.username == "kinhte1"))
    for action, data in [("assign", {"official_id": me.id}), ("reply", {"text": "Chúng tôi sẽ cử người kiểm tra."}),
                         ("resolve", {"note": "Đã dặm vá mặt đường."}), ("reopen", {"reason": "Công dân báo còn lún."})]:
        resp = await dashboard.post(f"/officials/complaints/{ticket}/{action}", data={**data, "csrf": csrf},
                                    allow_redirects=False)
        assert resp.status == 302, (action, await resp.text())
    async with dashboard.app[DB].session() as s:
        c = await by_ticket(s, ticket)
        events = await events_of(s, c.id)
        pushed = await pushed_messages(s, "web", web_id("citizen7"), 0)
    assert c.status == "reopened" and c.assigned_to == me.id
    assert [e.action for e in events] == ["filed", "assigned", "replied", "resolved", "reopened"]
    assert all("kinhte1" in e.actor for e in events[1:])
    texts = [m.text for m in pushed]
    assert "Chúng tôi sẽ cử người kiểm tra." in texts[1] and ticket in texts[1]
    assert "Đã dặm vá mặt đường." in texts[2] and "hài lòng" in texts[2]
    assert "Công dân báo còn lún." in texts[3]
    # The web chat page collects them.
    got = await updates(dashboard, "citizen7", 0)
    assert [m["text"] for m in got["messages"]] == texts
    page = await (await dashboard.get(f"/officials/complaints/{ticket}")).text()
    assert "Lịch sử xử lý" in page and "Đã dặm vá mặt đường." in page


async def test_forward_moves_the_ticket_to_another_agency(dashboard):
    ticket = await file(dashboard)
    csrf = await login(dashboard, "kinhte1")
    resp = await dashboard.post(f"/officials/complaints/{ticket}/forward",
                                data={"agency": "cong_an_xa", "csrf": csrf}, allow_redirects=False)
    assert resp.headers["Location"] == "/officials/?done=forward"
    async with dashboard.app[DB].session() as s:
        assert (await by_ticket(s, ticket)).agency == "cong_an_xa"
    assert (await dashboard.get(f"/officials/complaints/{ticket}")).status == 404


async def test_only_admins_manage_accounts(dashboard):
    await login(dashboard, "giamsat")
    assert (await dashboard.get("/officials/accounts")).status == 403
    csrf = await login(dashboard, "admin", "quan-tri-123456")
    resp = await dashboard.post("/officials/accounts", data={"username": "congan1", "password": "mot-hai-ba-bon",
                                                             "role": "official", "agency": "cong_an_xa",
                                                             "full_name": "Võ Văn Em", "csrf": csrf},
                                allow_redirects=False)
    assert resp.headers["Location"] == "/officials/accounts?done=1"
    await login(dashboard, "congan1", "mot-hai-ba-bon")


async def test_logout_ends_the_session(dashboard):
    csrf = await login(dashboard, "giamsat")
    await dashboard.post("/officials/logout", data={"csrf": csrf})
    async with dashboard.app[DB].session() as s:
        assert await s.scalar(select(WebSession.token_hash)) is None
    resp = await dashboard.get("/officials/", allow_redirects=False)
    assert resp.status == 302


async def test_escalation_on_a_controllable_clock(dashboard):
    # Filed on Monday 5 Oct 2026, 09:00; "hạ tầng – giao thông" has 10 working days → Mon 19 Oct.
    filed = datetime(2026, 10, 5, 9, 0, tzinfo=VIETNAM)
    ticket = await file(dashboard, sender="web:late1", now=filed)
    async with dashboard.app[DB].session() as s:
        deadline = (await by_ticket(s, ticket)).deadline_at
    assert deadline.astimezone(VIETNAM).date().isoformat() == "2026-10-19"
    app = dashboard.app

    assert await escalation.check_once(app, now=datetime(2026, 10, 12, 9, 0, tzinfo=VIETNAM)) == []
    # Thursday 15 Oct: two working days left → flagged once.
    soon = await escalation.check_once(app, now=datetime(2026, 10, 15, 9, 0, tzinfo=VIETNAM))
    assert [(c.ticket, c.kind) for c in soon] == [(ticket, "due_soon")]
    assert await escalation.check_once(app, now=datetime(2026, 10, 16, 9, 0, tzinfo=VIETNAM)) == []
    # Tuesday 20 Oct: overdue → escalated to the supervising agency, once.
    late = await escalation.check_once(app, now=datetime(2026, 10, 20, 9, 0, tzinfo=VIETNAM))
    assert [(c.ticket, c.kind, c.agency) for c in late] == [(ticket, "escalated", "ubnd_xa")]
    assert await escalation.check_once(app, now=datetime(2026, 10, 21, 9, 0, tzinfo=VIETNAM)) == []
    async with app[DB].session() as s:
        c = await by_ticket(s, ticket)
        pushed = await pushed_messages(s, "web", "late1", 0)
        events = [e.action for e in await events_of(s, c.id)]
    assert c.escalated_to == "ubnd_xa" and events == ["filed", "due_soon", "escalated"]
    assert len(pushed) == 1 and "quá hạn" in pushed[0].text and "Ủy ban nhân dân xã" in pushed[0].text
    # Shown so on the dashboard, to the supervisor and to the agency it was escalated to.
    await login(dashboard, "giamsat")
    page = await (await dashboard.get("/officials/", params={"overdue": "1"})).text()
    assert ticket in page and "Đã chuyển Ủy ban nhân dân xã" in page
    detail = await (await dashboard.get(f"/officials/complaints/{ticket}")).text()
    assert "Quá hạn – đã chuyển" in detail and "Quá hạn – chuyển cấp trên" in detail


async def test_reports_page_has_charts(dashboard):
    await file(dashboard)
    await file(dashboard, category="moi_truong", content="Rác thải ùn ứ ở chợ")
    await login(dashboard, "giamsat")
    page = await (await dashboard.get("/officials/reports")).text()
    assert page.count('class="chart"') >= 2 and "Số phản ánh theo lĩnh vực" in page and "Môi trường" in page
    # No citizen messages yet: the usage figures say so rather than show zeros as shares.
    assert "Chưa có tin nhắn nào trong khoảng này." in page and "Chưa có câu hỏi thủ tục nào" in page


async def test_reports_show_how_the_bot_was_used(dashboard):
    """Issue 19: messages per day by channel, what citizens asked, the procedures answered, the
    share not answered and handed to officials, the median handling time, over 7/30/90 days."""
    await seed_usage(dashboard.app[DB].session, datetime.now(timezone.utc))
    async with dashboard.app[DB].session() as s, s.begin():  # the intents stored with two questions
        await s.execute(update(Message).where(Message.direction == "in", Message.text.like("%khai sinh%"))
                        .values(intent="ask_procedure").execution_options(synchronize_session=False))
    await login(dashboard, "kinhte1")  # an agency's official reads the reports too
    page = await (await dashboard.get("/officials/reports")).text()
    e = EXPECTED
    typed_share = f"{100 * 3 / e['typed']:.1f}%".replace(".", ",")
    handed_share = f"{100 * e['handed'] / e['conversations']:.1f}%".replace(".", ",")
    for text in ("Tin nhắn của công dân theo ngày và kênh", "Trang web", "Telegram", "Zalo OA",
                 "Công dân hỏi gì", "Tra cứu hồ sơ", "Gửi phản ánh, kiến nghị", "Thủ tục được hỏi nhiều nhất",
                 "Đăng ký khai sinh", "Trợ lý không trả lời được", typed_share, f"3 trên {e['typed']} tin tự gõ",
                 "Chuyển cho cán bộ", handed_share, "Thời gian xử lý phản ánh (trung vị)", "4 giờ",
                 "Ý định mô hình nhận ra nhiều nhất", 'class="on"'):
        assert text in page, text
    intents = page.split('id="intents"')[1].split("</section>")[0]
    assert "Hỏi thủ tục hành chính" in intents and "100,0%" in intents
    assert re.search(r'<a href="\?days=30" class="on"', page)
    week = await (await dashboard.get("/officials/reports", params={"days": "7"})).text()
    assert re.search(r'<a href="\?days=7" class="on"', week) and week.count('class="chart-row"') >= 7
    odd = await (await dashboard.get("/officials/reports", params={"days": "1000"})).text()
    assert re.search(r'<a href="\?days=30" class="on"', odd)  # only the periods offered


async def test_handoffs_follow_the_agency_rule_and_show_only_the_open_conversation(dashboard):
    """Issue 15, item 8: another agency's official cannot read a chat handed to officials; an ended
    one is closed to everyone; the page shows the handoff's messages, not the dossier lookup before."""
    earlier = datetime.now(timezone.utc) - timedelta(minutes=10)
    async with dashboard.app[DB].session() as s, s.begin():
        await create_official(s, "motcua1", PASSWORD, role="official", agency=locality.handoff_agency,
                              full_name="Võ Thị Hoa")
        before = await record_message(s, "web", "h9", "in", "tra cứu hồ sơ 000.00.24.H08-261101-0001, 4 số cuối 1111")
        await s.execute(update(Message).where(Message.id == before).values(created_at=earlier))
        await record_message(s, "web", "h9", "in", "cho tôi gặp cán bộ")
        open_one = (await start_handoff(s, "web:h9")).id
        ended = (await start_handoff(s, "web:h10")).id
        await end_handoff(s, ended, "công dân")
    await login(dashboard, "kinhte1")  # another agency
    assert "web:h9" not in await (await dashboard.get("/officials/handoffs")).text()
    assert (await dashboard.get(f"/officials/handoffs/{open_one}")).status == 404
    csrf = await login(dashboard, "kinhte1")
    resp = await dashboard.post(f"/officials/handoffs/{open_one}/send", data={"csrf": csrf, "text": "chào"},
                                allow_redirects=False)
    assert resp.status == 404
    for who in ("motcua1", "giamsat"):
        await login(dashboard, who)
        page = await (await dashboard.get(f"/officials/handoffs/{open_one}")).text()
        assert "cho tôi gặp cán bộ" in page and "000.00.24.H08-261101-0001" not in page
        assert (await dashboard.get(f"/officials/handoffs/{ended}")).status == 404


async def failures_recorded(client, key_prefix: str) -> int:
    from motcua.store.models import RateCounter

    async with client.app[DB].session() as s:
        rows = (await s.scalars(select(RateCounter).where(RateCounter.key.like(f"{key_prefix}%")))).all()
    return sum(r.count for r in rows)


async def test_a_lock_is_not_extended_by_failures_made_while_it_holds(dashboard):
    """Issue 15, item 4: the lock lives in the store (every gateway agrees); tries during the lock
    are neither checked nor counted, so an attacker cannot keep an account locked longer."""
    for _ in range(5):
        await dashboard.post("/officials/login", data={"username": "giamsat", "password": "sai"})
    assert await failures_recorded(dashboard, "login-user:") == 5
    for _ in range(10):
        locked = await dashboard.post("/officials/login", data={"username": "giamsat", "password": "sai"})
        assert locked.status == 401 and "tạm khóa" in await locked.text()
    assert await failures_recorded(dashboard, "login-user:") == 5  # not 15: the lock ends on time
    from motcua.store.models import RateCounter

    async with dashboard.app[DB].session() as s:
        keys = (await s.scalars(select(RateCounter.key))).all()
    assert keys and not any("giamsat" in k for k in keys)  # typed usernames are stored hashed


async def test_one_address_failing_on_many_usernames_is_locked_and_others_are_not(store_url, tmp_path):
    client = await start_gateway(Settings(database_url=store_url, case_database_url=f"sqlite+aiosqlite:///{tmp_path / 'c.db'}",
                                          dossier_watch_seconds=0, escalation_check_seconds=0,
                                          trusted_proxies=("127.0.0.1",)))
    try:
        async with client.app[DB].session() as s, s.begin():
            await create_official(s, "canbo", PASSWORD, role="official", agency="phong_kinh_te")
        attacker = {"X-Forwarded-For": "203.0.113.9"}
        for i in range(20):  # 20 typed usernames, 1 try each: no username reaches its own limit
            await client.post("/officials/login", data={"username": f"user{i}", "password": "x"}, headers=attacker)
        refused = await client.post("/officials/login", data={"username": "canbo", "password": PASSWORD},
                                    headers=attacker, allow_redirects=False)
        assert refused.status == 401 and "tạm khóa" in await refused.text()
        # The official at another address signs in, even with the same username.
        ok = await client.post("/officials/login", data={"username": "canbo", "password": PASSWORD},
                               headers={"X-Forwarded-For": "198.51.100.7"}, allow_redirects=False)
        assert ok.status == 302
    finally:
        await client.close()


async def test_password_checks_run_off_the_event_loop(dashboard, monkeypatch):
    """scrypt costs tens of milliseconds: it runs in a thread, so chats and webhooks are not stalled."""
    import threading

    from motcua.store import officials

    seen = []
    real = officials.verify_password

    def spy(password, stored):
        seen.append(threading.current_thread().name)
        return real(password, stored)

    monkeypatch.setattr(officials, "verify_password", spy)
    await dashboard.post("/officials/login", data={"username": "giamsat", "password": "sai"})
    await dashboard.post("/officials/login", data={"username": "khong-co-ai", "password": "sai"})
    assert len(seen) == 2 and all(name.startswith("scrypt") for name in seen)


async def test_the_session_cookie_is_secure_only_behind_a_trusted_https_proxy(dashboard):
    forged = await dashboard.post("/officials/login", data={"username": "giamsat", "password": PASSWORD},
                                  headers={"X-Forwarded-Proto": "https"}, allow_redirects=False)
    assert forged.status == 302 and not forged.cookies["motcua_session"]["secure"]


# --- a photo sent on Zalo (issue 19) -------------------------------------------------------------

@pytest.fixture
async def zalo_photos(sqlite_url, tmp_path):
    """A gateway that knows the OA's secret (so it can check the OA's photo references; the OA
    itself is not set up), a supervisor signed in, and a local server standing for Zalo's images."""
    files: dict[str, tuple[bytes, str]] = {}
    fetched: list[str] = []
    images = web.Application()
    serve_files(images, files, fetched)
    server = TestServer(images)
    await server.start_server()
    client = await start_gateway(Settings(database_url=sqlite_url, case_database_url=f"sqlite+aiosqlite:///{tmp_path / 'c.db'}",
                                          dossier_watch_seconds=0, escalation_check_seconds=0,
                                          zalo_oa_secret_key="oa-secret"))
    async with client.app[DB].session() as s, s.begin():
        await create_official(s, "giamsat", PASSWORD, role="supervisor", full_name="Lê Văn Cường")
    await login(client, "giamsat")
    try:
        yield client, str(server.make_url("")).rstrip("/"), files, fetched
    finally:
        await client.close()
        await server.close()


async def with_photo(client, photo: str) -> str:
    ticket = await file(client, sender="zalo_oa:citizen1")
    async with client.app[DB].session() as s, s.begin():
        (await by_ticket(s, ticket)).photo = photo
    return ticket


async def test_a_zalo_photo_is_fetched_and_served_with_its_type(zalo_photos):
    client, base, files, fetched = zalo_photos
    files["a.png"], files["b.jpg"] = (PNG, "image/png"), (b"\xff\xd8\xff\xe0 jpeg", "image/jpeg")
    for name, (body, content_type) in files.items():
        ticket = await with_photo(client, photo_ref(client.app[SETTINGS], "zalo_oa", f"{base}/files/{name}"))
        resp = await client.get(f"/officials/complaints/{ticket}/photo")
        assert resp.status == 200 and resp.content_type == content_type and await resp.read() == body
        page = await (await client.get(f"/officials/complaints/{ticket}")).text()
        assert f'src="/officials/complaints/{ticket}/photo"' in page
    assert fetched == ["a.png", "b.jpg"]
    client.session.cookie_jar.clear()  # signed out
    resp = await client.get(f"/officials/complaints/{ticket}/photo", allow_redirects=False)
    assert resp.status in (302, 403) and fetched == ["a.png", "b.jpg"]  # nothing fetched


async def test_a_photo_reference_not_made_by_the_gateway_is_never_fetched(zalo_photos):
    """A MAC that does not match (a reference typed in a chat), another channel's key, or a URL that
    is not http(s): 404, and nothing is requested."""
    client, base, files, fetched = zalo_photos
    settings = client.app[SETTINGS]
    url = f"{base}/files/a.png"
    good = photo_ref(settings, "zalo_oa", url)
    for photo in (f"zalo_oa:{'0' * 16}:{url}", good.replace("zalo_oa:", "zalo:", 1), f"zalo_oa:{url}",
                  photo_ref(settings, "zalo_oa", "file:///etc/passwd"), photo_ref(settings, "zalo_oa", "ftp://x/a.png"),
                  good + "x"):
        ticket = await with_photo(client, photo)
        resp = await client.get(f"/officials/complaints/{ticket}/photo")
        assert resp.status == 404 and "Không có ảnh" in await resp.text()
    assert fetched == []


async def test_a_zalo_photo_that_cannot_be_had_gets_a_clear_error(zalo_photos, monkeypatch):
    client, base, files, fetched = zalo_photos
    settings = client.app[SETTINGS]
    files["page.html"] = (b"<script>alert(1)</script>", "text/html")
    files["drawing.svg"] = (b"<svg onload='alert(1)'/>", "image/svg+xml")
    files["big.png"] = (PNG * 20, "image/png")
    monkeypatch.setattr(dashboard_module, "PHOTO_MAX_BYTES", len(PNG) * 10)
    cases = [("gone.png", 404, "hết hạn"), ("page.html", 502, "Chưa tải được ảnh từ Zalo"),
             ("drawing.svg", 502, "Chưa tải được ảnh từ Zalo"), ("big.png", 502, "Chưa tải được ảnh từ Zalo")]
    for name, status, words in cases:
        ticket = await with_photo(client, photo_ref(settings, "zalo_oa", f"{base}/files/{name}"))
        resp = await client.get(f"/officials/complaints/{ticket}/photo")
        assert resp.status == status and words in await resp.text(), name
    closed = free_port()  # nothing listens there
    ticket = await with_photo(client, photo_ref(settings, "zalo_oa", f"http://127.0.0.1:{closed}/a.png"))
    resp = await client.get(f"/officials/complaints/{ticket}/photo")
    assert resp.status == 502 and "Chưa tải được ảnh từ Zalo" in await resp.text()
