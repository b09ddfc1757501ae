"""Telegram through the gateway, against a local fake Bot API and the session's real Rasa."""
import asyncio
import itertools
import json
import os
import re
import sys

import aiohttp
import pytest
from sqlalchemy import func, select

from bot import inbox, messages, outbox
from bot.inbox import TASKS
from bot.messages import split_text
from bot.state import RASA
from bot.watcher import check_once
from motcua.cases_import import import_csv
from motcua.catalogue import load_catalogue
from motcua.rasa_replicas import RasaReplicas
from motcua.store import Database
from motcua.store.inbox import accept
from motcua.store.models import Complaint, Conversation, Message
from motcua.store.officials import create_official

from tests.support.chat import deliver
from tests.support.fake_telegram import (
    TOKEN,
    WEBHOOK_SECRET,
    callback_update,
    location_update,
    photo_update,
    sticker_update,
    text_update,
)
from tests.support.gateway import telegram_gateway
from tests.support.processes import Process, free_port

_chats = itertools.count(7_000_001)


async def test_webhook_is_registered_with_its_secret_and_forgeries_get_403(tg):
    client, fake = tg
    (params,) = [p for m, p in fake.calls if m == "setWebhook"]
    assert params["secret_token"] == WEBHOOK_SECRET and params["url"].endswith("/telegram/webhook")
    chat = next(_chats)
    assert await deliver(client, text_update(chat, "xin chào"), secret=None) == 403
    assert await deliver(client, text_update(chat, "xin chào"), secret="wrong") == 403
    assert fake.sent(chat) == []


async def test_a_greeting_gets_an_inline_keyboard(tg):
    client, fake = tg
    chat = next(_chats)
    assert await deliver(client, text_update(chat, "/start")) == 200
    (msg,) = fake.sent(chat)
    assert msg["text"].startswith("Xin chào anh/chị")
    keyboard = json.loads(msg["reply_markup"])["inline_keyboard"] if isinstance(msg["reply_markup"], str) \
        else msg["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in keyboard][0] == "Hỏi thủ tục hành chính"


async def test_a_retried_update_is_answered_once(tg):
    client, fake = tg
    chat = next(_chats)
    update = text_update(chat, "giờ làm việc")
    assert await deliver(client, update) == 200
    assert await deliver(client, update) == 200
    assert len(fake.sent(chat)) == 1


async def test_buttons_with_long_payloads_work_as_callbacks(tg):
    client, fake = tg
    chat = next(_chats)
    await deliver(client, text_update(chat, "thủ tục chuyển mục đích sử dụng đất"))
    (card,) = fake.sent(chat)
    markup = card["reply_markup"]
    keyboard = (json.loads(markup) if isinstance(markup, str) else markup)["inline_keyboard"]
    documents = next(row[0] for row in keyboard if row[0]["text"] == "Giấy tờ cần có")
    assert documents["callback_data"].startswith("p:") and len(documents["callback_data"].encode()) <= 64
    await deliver(client, callback_update(chat, documents["callback_data"]))
    assert "answerCallbackQuery" in fake.methods()
    name = load_catalogue().get("chuyen_muc_dich_dat").name
    assert fake.sent(chat)[-1]["text"].startswith(f"Giấy tờ cần có – {name}")


async def test_rate_limits_are_honoured(tg):
    client, fake = tg
    chat = next(_chats)
    fake.rate_limit_next = 1
    await deliver(client, text_update(chat, "cảm ơn"))
    assert [m for m in fake.methods() if m.startswith("sendMessage")][-2:] == ["sendMessage:429", "sendMessage"]
    assert len(fake.sent(chat)) == 1


async def test_cancel_command_and_non_text(tg):
    client, fake = tg
    chat = next(_chats)
    await deliver(client, text_update(chat, "tra cứu hồ sơ"))
    await deliver(client, text_update(chat, "/huy"))
    assert fake.sent(chat)[-1]["text"].startswith("Đã hủy thao tác")
    await deliver(client, sticker_update(chat))
    assert fake.sent(chat)[-1]["text"].startswith("Hiện tôi chỉ đọc được tin nhắn chữ")


async def test_an_update_stored_before_a_crash_is_answered_at_the_next_start(fake_tg, rasa_servers, tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    db = Database(url)
    await db.migrate()
    chat = next(_chats)
    update = text_update(chat, "xin chào")
    async with db.session() as s, s.begin():
        assert await accept(s, "telegram", str(update["update_id"]), update)
    await db.dispose()
    client = await telegram_gateway(fake_tg, rasa_servers, database_url=url)
    try:
        await asyncio.gather(*list(client.server.app[TASKS]))
        assert fake_tg.sent(chat)[0]["text"].startswith("Xin chào anh/chị")
    finally:
        await client.close()


def test_long_replies_are_split_under_the_limit():
    text = "\n".join(f"Dòng {i}: " + "chữ " * 40 for i in range(100))
    parts = split_text(text, 4096)
    assert len(parts) > 1 and all(len(p) <= 4096 for p in parts)
    assert "".join("".join(parts).split()) == "".join(text.split())  # nothing lost but line-end spaces


async def test_a_followed_dossier_change_is_pushed_to_the_telegram_chat(tg, rasa_servers, tmp_path):
    client, fake = tg
    chat = next(_chats)
    code = "000.00.24.H08-261101-0007"
    csv = tmp_path / "d.csv"
    header = "code,procedure_id,applicant_name,phone,received_at,due_at,status,agency,note\n"
    csv.write_text(header + f"{code},khai_tu,Lý Văn Giang,0905007777,2026-11-01,2099-12-31,processing,UBND xã,\n",
                   encoding="utf-8")
    await import_csv(csv, rasa_servers["case_database_url"])
    for text in ("tra cứu hồ sơ", code, "7777", "/subscribe_dossier"):
        await deliver(client, text_update(chat, text))
    assert fake.sent(chat)[-1]["text"].startswith("Đã đăng ký")
    csv.write_text(header + f"{code},khai_tu,Lý Văn Giang,0905007777,2026-11-01,2099-12-31,done,UBND xã,\n",
                   encoding="utf-8")
    await import_csv(csv, rasa_servers["case_database_url"])
    assert await check_once(client.server.app) == 1
    assert fake.sent(chat)[-1]["text"].startswith("Hồ sơ của anh/chị vừa có cập nhật")


async def test_while_rasa_is_down_the_citizen_waits_and_is_answered_when_it_is_back(fake_tg, rasa_servers,
                                                                                      monkeypatch, tmp_path):
    monkeypatch.setattr(inbox, "RETRY_SECONDS", 0.3)
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    client = await telegram_gateway(fake_tg, {**rasa_servers, "rasa_url": f"http://127.0.0.1:{free_port()}"},
                                    database_url=url)
    try:
        chat = next(_chats)
        await deliver(client, text_update(chat, "xin chào"))
        assert [m["text"] for m in fake_tg.sent(chat)] == [messages.BUSY_WAIT]
        await asyncio.sleep(0.7)  # a retry or two while Rasa is still down: no second wait message
        assert len(fake_tg.sent(chat)) == 1
        client.server.app[RASA].replicas = RasaReplicas([rasa_servers["rasa_url"]])  # Rasa is back
        app = client.server.app
        for _ in range(100):
            if not app[TASKS]:
                break
            await asyncio.gather(*list(app[TASKS]))
        texts = [m["text"] for m in fake_tg.sent(chat)]
        assert len(texts) == 2 and texts[1].startswith("Xin chào anh/chị")
        db = Database(url)
        async with db.session() as s:
            inbound = await s.scalar(select(func.count()).select_from(Message).where(Message.direction == "in"))
        await db.dispose()
        assert inbound == 1  # retries did not store the message again
    finally:
        await client.close()


async def test_the_phone_can_be_shared_with_telegrams_contact_button(tg):
    client, fake = tg
    chat = next(_chats)
    await deliver(client, text_update(chat, "tra cứu hồ sơ"))
    await deliver(client, text_update(chat, "000.00.24.H08-261101-0001"))
    ask = fake.sent(chat)[-1]
    assert "4 số cuối" in ask["text"]
    keyboard = json.loads(ask["reply_markup"]) if isinstance(ask["reply_markup"], str) else ask["reply_markup"]
    assert keyboard["keyboard"][0][0]["request_contact"] is True
    update = text_update(chat, "")
    del update["message"]["text"]
    update["message"]["contact"] = {"phone_number": "+84905001111", "first_name": "An", "user_id": chat}
    await deliver(client, update)
    assert fake.sent(chat)[-1]["text"].startswith("Hồ sơ 000.00.24.H08-261101-0001")


async def test_a_reply_telegram_refuses_goes_to_the_outbox_and_is_sent_later(tg, rasa_servers):
    client, fake = tg
    chat = next(_chats)
    fake.fail_next = 1000  # Telegram answers 502 for a while
    assert await deliver(client, text_update(chat, "/start")) == 200
    assert fake.sent(chat) == []
    db = Database(rasa_servers["database_url"])
    query = (select(Message.delivery).join(Conversation)
             .where(Conversation.chat_id == str(chat), Message.direction == "out"))
    async with db.session() as s:
        assert (await s.scalars(query)).all() == ["retry"]
    app = client.server.app
    assert await outbox.flush_once(app) == 0  # still refused: kept for the next pass
    fake.fail_next = 0
    assert await outbox.flush_once(app) == 1
    assert fake.sent(chat)[0]["text"].startswith("Xin chào anh/chị")
    assert await outbox.flush_once(app) == 0  # sent once
    async with db.session() as s:
        assert (await s.scalars(query)).all() == ["sent"]
    await db.dispose()


async def test_a_complaint_with_a_shared_location_and_a_photo(tg, rasa_servers):
    """The place question offers Telegram's location button; the photo step exists on Telegram; both
    are stored with the complaint, and the dashboard shows the photo fetched through the Bot API."""
    client, fake = tg
    chat = next(_chats)

    async def step(update) -> dict:
        await deliver(client, update)
        return fake.sent(chat)[-1]

    await step(text_update(chat, "tôi muốn gửi phản ánh"))
    await step(text_update(chat, "Cây xanh bị đổ chắn ngang đường vào trường tiểu học"))
    place = await step(callback_update(chat, '/inform{"complaint_category": "ha_tang_giao_thong"}'))
    keyboard = place["reply_markup"] if isinstance(place["reply_markup"], dict) else json.loads(place["reply_markup"])
    assert keyboard["keyboard"][0][0]["request_location"] is True and "ở đâu" in place["text"]
    assert "bản đồ" in place["text"]  # Telegram can share a place: the question offers it
    photo_question = await step(location_update(chat, 14.356789, 108.998765))
    assert "ảnh hiện trường" in photo_question["text"]
    fake.files["AgACphoto1"] = b"\xff\xd8\xff\xe0 fake jpeg bytes"
    assert "họ tên" in (await step(photo_update(chat, "AgACphoto1")))["text"]
    await step(text_update(chat, "Võ Thị Lan"))
    summary = await step(text_update(chat, "0905 444 555"))
    assert "Vị trí đã chia sẻ: 14.35679, 108.99877" in summary["text"] and "Ảnh hiện trường: có" in summary["text"]
    done = await step(callback_update(chat, "/affirm"))
    ticket = re.search(r"PA-\d{4}-\d{6}", done["text"]).group(0)

    db = Database(rasa_servers["database_url"])
    async with db.session() as s, s.begin():
        c = await s.scalar(select(Complaint).where(Complaint.ticket == ticket))
        await create_official(s, f"tg{chat}", "mat-khau-anh-1234", role="supervisor")
    await db.dispose()
    assert (round(c.latitude, 5), round(c.longitude, 5)) == (14.35679, 108.99877)
    assert c.photo == "telegram:AgACphoto1"
    await client.post("/officials/login", data={"username": f"tg{chat}", "password": "mat-khau-anh-1234"})
    assert (await client.get(f"/officials/complaints/{ticket}/photo")).status == 200
    assert await (await client.get(f"/officials/complaints/{ticket}/photo")).read() == fake.files["AgACphoto1"]
    page = await (await client.get(f"/officials/complaints/{ticket}")).text()
    assert 'id="photo"' in page and "openstreetmap" in page


async def test_a_photo_outside_a_complaint_is_acknowledged(tg):
    client, fake = tg
    chat = next(_chats)
    await deliver(client, photo_update(chat, "AgACstray"))
    assert "đã nhận được ảnh" in fake.sent(chat)[-1]["text"]


async def test_a_gateway_killed_after_acknowledging_an_update_answers_it_after_restart(fake_tg, rasa_servers,
                                                                                       tmp_path):
    """A real gateway process is killed (SIGKILL) between storing an update (Telegram got its 200)
    and replying; the next process answers the update from the inbox, once."""
    port = free_port()
    env = {**os.environ, "PORT": str(port), "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'gw.db'}",
           "CASE_DATABASE_URL": rasa_servers["case_database_url"], "RASA_URL": rasa_servers["rasa_url"],
           "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
           "TELEGRAM_WEBHOOK_URL": "https://bot.example.invalid/telegram/webhook",
           "TELEGRAM_API_BASE_URL": fake_tg.base_url, "DOSSIER_WATCH_SECONDS": "0",
           "ESCALATION_CHECK_SECONDS": "0", "OUTBOX_SECONDS": "0", "TYPING_AFTER_SECONDS": "0"}
    gateway = Process("gateway", [sys.executable, "-m", "bot"], env, tmp_path / "gw.log", f"http://127.0.0.1:{port}")

    chat = next(_chats)
    fake_tg.hold = asyncio.Event()  # Telegram hangs on the "typing…" action, which the reply waits for
    fake_tg.hold_method = "sendChatAction"
    await gateway.start().ready("/healthz", 60)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{gateway.url}/telegram/webhook", json=text_update(chat, "/start"),
                                 headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}) as r:
                assert r.status == 200  # acknowledged: Telegram will not deliver it again
        for _ in range(200):
            if fake_tg.held:
                break
            await asyncio.sleep(0.1)
        assert fake_tg.held == 1  # stored and being processed…
    finally:
        gateway.kill()  # …and the process dies (SIGKILL)
    assert fake_tg.sent(chat) == []
    fake_tg.hold.set()
    await gateway.start().ready("/healthz", 60)
    try:
        for _ in range(300):
            if fake_tg.sent(chat):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)
        (reply,) = fake_tg.sent(chat)  # answered, once
        assert reply["text"].startswith("Xin chào anh/chị")
    finally:
        gateway.stop()


async def test_a_telegram_citizen_asks_a_procedure_and_looks_up_a_dossier(tg):
    client, fake = tg
    chat = next(_chats)
    await deliver(client, text_update(chat, "lam so do mat bao lau"))
    assert "ngày" in fake.sent(chat)[-1]["text"]
    await deliver(client, text_update(chat, "tra cứu hồ sơ 000.00.24.H08-261101-0003"))
    assert "4 số cuối" in fake.sent(chat)[-1]["text"]
    await deliver(client, text_update(chat, "3333"))
    assert "bổ sung" in fake.sent(chat)[-1]["text"].lower()


@pytest.mark.parametrize("text", ["", "x" * 10_000, "😀😀😀", "\x00\x07\x1b", "'; DROP TABLE complaints;--"])
async def test_bad_input_on_telegram_gets_a_polite_vietnamese_reply(tg, text):
    client, fake = tg
    chat = next(_chats)
    assert await deliver(client, text_update(chat, text)) == 200
    reply = fake.sent(chat)[-1]["text"]
    assert "Traceback" not in reply and "anh/chị" in reply.lower()
