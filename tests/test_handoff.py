"""Handoff to officials on the web chat (real gateway, Rasa, actions): the bot goes silent, an
official answers from the dashboard, the chat comes back to the bot when it ends or times out."""
import asyncio
import re
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from bot import handoff
from bot.messages import HANDOFF_TIMED_OUT
from motcua.store import Database
from motcua.store import handoffs as handoff_store
from motcua.store.models import Handoff, Message
from motcua.store.officials import create_official
from motcua.workdays import VIETNAM, within_hours

from tests.support.chat import say, updates, web_id
from tests.support.gateway import make_settings, start_gateway


async def open_handoff(gateway, rasa_servers, sender):
    (reply,) = await say(gateway, "cho tôi gặp cán bộ", sender)
    assert "chuyển cuộc trò chuyện đến cán bộ" in reply["text"]
    db = Database(rasa_servers["database_url"])
    async with db.session() as s:
        h = await s.scalar(select(Handoff).where(Handoff.sender_id == f"web:{web_id(sender)}"))
    await db.dispose()
    assert h.status == "waiting"
    return h.id


async def sign_in(gateway, rasa_servers, username):
    db = Database(rasa_servers["database_url"])
    async with db.session() as s, s.begin():
        await create_official(s, username, "mat-khau-can-bo-1", role="supervisor", full_name="Phan Văn Khoa")
    await db.dispose()
    await gateway.post("/officials/login", data={"username": username, "password": "mat-khau-can-bo-1"})
    page = await (await gateway.get("/officials/handoffs")).text()
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1), page


async def test_an_official_takes_the_chat_and_ends_it(gateway, rasa_servers):
    sender = f"ho-{uuid.uuid4().hex[:8]}"
    handoff_id = await open_handoff(gateway, rasa_servers, sender)
    assert await say(gateway, "Tôi cần hỏi về hồ sơ đất của gia đình", sender) == []  # the bot is silent

    csrf, page = await sign_in(gateway, rasa_servers, f"ho{uuid.uuid4().hex[:6]}")
    assert f"#H{handoff_id}" in page and "Đang chờ cán bộ" in page
    detail = await (await gateway.get(f"/officials/handoffs/{handoff_id}")).text()
    assert "Tôi cần hỏi về hồ sơ đất của gia đình" in detail
    resp = await gateway.post(f"/officials/handoffs/{handoff_id}/send",
                              data={"text": "Chào anh/chị, hồ sơ đất cần bản sao sổ hộ khẩu.", "csrf": csrf})
    assert resp.status == 200
    got = await updates(gateway, sender, 0)
    assert got["messages"][-1]["text"] == "Cán bộ Phan Văn Khoa: Chào anh/chị, hồ sơ đất cần bản sao sổ hộ khẩu."
    assert await say(gateway, "cảm ơn cán bộ", sender) == []  # still with the official

    await gateway.post(f"/officials/handoffs/{handoff_id}/end", data={"csrf": csrf})
    got = await updates(gateway, sender, got["last"])
    assert "Cán bộ đã kết thúc cuộc trò chuyện" in got["messages"][-1]["text"]
    back = await say(gateway, "xin chào", sender)
    assert back and back[0]["text"].startswith("Xin chào")  # the bot answers again


async def test_the_citizen_ends_it_and_quiet_chats_time_out(gateway, rasa_servers):
    sender = f"ho-{uuid.uuid4().hex[:8]}"
    await open_handoff(gateway, rasa_servers, sender)
    (ended,) = await say(gateway, "ket thuc", sender)
    assert ended["text"].startswith("Đã kết thúc trò chuyện với cán bộ")

    other = f"ho-{uuid.uuid4().hex[:8]}"
    await open_handoff(gateway, rasa_servers, other)
    app = gateway.server.app
    assert await handoff.check_once(app, now=datetime.now(timezone.utc) + timedelta(minutes=5)) == 0
    assert await handoff.check_once(app, now=datetime.now(timezone.utc) + timedelta(minutes=16)) >= 1
    got = await updates(gateway, other, 0)
    assert "lâu không có trao đổi" in got["messages"][-1]["text"]
    assert (await say(gateway, "xin chào", other))[0]["text"].startswith("Xin chào")


def test_officials_hours():
    monday_9 = datetime(2026, 11, 30, 9, 0, tzinfo=VIETNAM)
    assert within_hours(monday_9, "07:30-16:30")
    assert not within_hours(monday_9.replace(hour=20), "07:30-16:30")
    assert not within_hours(datetime(2026, 11, 29, 9, 0, tzinfo=VIETNAM), "07:30-16:30")  # Sunday
    assert not within_hours(datetime(2027, 2, 8, 9, 0, tzinfo=VIETNAM), "07:30-16:30")  # Tết 2027
    assert within_hours(monday_9.replace(hour=23), "always")


async def test_two_gateways_end_a_quiet_handoff_once(db_url, tmp_path):
    """The timeout pass runs in every gateway: a quiet handoff is ended, and its citizen told, once."""
    settings = make_settings(database_url=db_url, case_database_url=f"sqlite+aiosqlite:///{tmp_path / 'cases.db'}",
                             dossier_watch_seconds=0, escalation_check_seconds=0)
    first = await start_gateway(settings)
    second = await start_gateway(settings)
    try:
        sender = f"web:{uuid.uuid4()}"
        db = Database(db_url)
        async with db.session() as s, s.begin():
            await handoff_store.start(s, sender, now=datetime.now(timezone.utc) - timedelta(minutes=20))
        ended = await asyncio.gather(*(handoff.check_once(gw.server.app) for gw in (first, second)))
        assert sorted(ended) == [0, 1]
        async with db.session() as s:
            told = await s.scalar(select(func.count()).select_from(Message).where(Message.text == HANDOFF_TIMED_OUT))
            status = await s.scalar(select(Handoff.status).where(Handoff.sender_id == sender))
        await db.dispose()
        assert told == 1 and status != "waiting"
    finally:
        await first.close()
        await second.close()
