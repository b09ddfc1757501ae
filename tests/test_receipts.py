"""Sent once, in one gateway process (fakes of Rasa, Telegram and Zalo): what the platform accepted
is recorded as it goes; an update processed again after a crash sends only what was not taken;
pushed messages left in flight are sent by the outbox, once; an officials' update processed again
does not act or push twice; a handed-off message is relayed to the officials once."""
import asyncio
import itertools
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from bot import inbox, messages, notify, officials_telegram, outbox
from bot.handlers import telegram, zalo
from bot.inbox import TASKS
from bot.messages import split_text
from bot.state import DB, SETTINGS
from motcua.catalogue import load_catalogue
from motcua.store.complaints import by_ticket, events_of, file_complaint
from motcua.store.handoffs import start as start_handoff
from motcua.store.inbox import beat
from motcua.store.models import Conversation, GatewayHeartbeat, InboxUpdate, Message

from tests.support import fake_rasa
from tests.support.chat import deliver
from tests.support.fake_telegram import group_reply, location_update, sticker_update, text_update
from tests.support.fake_zalo import running, text_event
from tests.support.gateway import make_settings, start_gateway, telegram_settings

GROUP = -1001234567000
LONG = "\n".join(f"Dòng {i}: " + "chữ " * 60 for i in range(25))  # ~6,500 characters: parts
_chats = itertools.count(8_600_001)


def answer(text: str) -> list[str]:
    return [f"1/3 {text}", f"2/3 {text}", f"3/3 {text}" + (f"\n{LONG}" if text.endswith("dài") else "")]


@pytest.fixture
async def rasa():
    async with fake_rasa.running(answer=answer) as fake:
        yield fake


@pytest.fixture
async def tg(fake_tg, rasa, sqlite_url):
    client = await start_gateway(telegram_settings(
        fake_tg, database_url=sqlite_url, rasa_url=rasa.base_url, dossier_watch_seconds=0,
        escalation_check_seconds=0, outbox_seconds=0, officials_feed_seconds=0, telegram_officials_chat_id=str(GROUP),
        handoff_hours="always"))
    yield client, fake_tg
    await client.close()


async def settle(app) -> None:
    for _ in range(50):
        if not app[TASKS]:
            return
        await asyncio.gather(*list(app[TASKS]))


async def out_messages(app, channel: str, chat_id: str) -> list[Message]:
    async with app[DB].session() as s:
        return list((await s.scalars(select(Message).join(Conversation).where(
            Conversation.channel == channel, Conversation.chat_id == chat_id, Message.direction == "out")
            .order_by(Message.id))).all())


async def crash_after(app, update_id: int, **message_state) -> None:
    """The store as a gateway killed while answering `update_id` leaves it: the update not done,
    and its replies' receipts as given ({message id: (platform ids, delivered)})."""
    async with app[DB].session() as s, s.begin():
        await s.execute(update(InboxUpdate).where(InboxUpdate.id == update_id).values(status="received"))
        for message_id, (ids, delivered) in message_state.get("receipts", {}).items():
            await s.execute(update(Message).where(Message.id == message_id).values(
                platform_ids=ids, delivered_at=Message.delivered_at if delivered else None))


async def last_update(app) -> int:
    async with app[DB].session() as s:
        return await s.scalar(select(InboxUpdate.id).order_by(InboxUpdate.id.desc()).limit(1))


async def test_replies_are_recorded_as_the_platform_takes_them(tg):
    client, fake = tg
    chat = next(_chats)
    await deliver(client, text_update(chat, "tin dài"))
    parts = [p for r in answer("tin dài") for p in split_text(r, telegram.MESSAGE_LIMIT)]
    assert [m["text"] for m in fake.sent(chat)] == parts and len(parts) == 4
    stored = await out_messages(client.server.app, "telegram", str(chat))
    assert all(m.delivered_at is not None for m in stored)
    ids = [t.platform_id for t in fake.accepted if t.chat_id == str(chat)]
    assert [m.platform_ids for m in stored] == [ids[0], ids[1], f"{ids[2]} {ids[3]}"]


async def test_an_update_processed_again_sends_only_what_the_platform_had_not_taken(tg, rasa):
    client, fake = tg
    app = client.server.app
    chat = next(_chats)
    await deliver(client, text_update(chat, "tin dài"))
    first, second, third = await out_messages(app, "telegram", str(chat))
    # Killed after the first part of the third reply was taken and written down.
    await crash_after(app, await last_update(app), receipts={third.id: (third.platform_ids.split()[0], False)})
    turns, sent = rasa.turns, len(fake.sent(chat))
    assert await inbox.recover(app, "telegram", telegram.handle_data) == 1
    await settle(app)
    again = [m["text"] for m in fake.sent(chat)[sent:]]
    assert again == split_text(answer("tin dài")[2], telegram.MESSAGE_LIMIT)[1:]  # the rest, nothing else
    assert rasa.turns == turns  # not asked again
    assert all(m.delivered_at is not None for m in await out_messages(app, "telegram", str(chat)))
    async with app[DB].session() as s:
        assert await s.scalar(select(InboxUpdate.status).order_by(InboxUpdate.id.desc()).limit(1)) == "done"


async def test_an_update_cut_off_before_its_replies_were_stored_is_answered_from_rasas_tracker(tg, rasa):
    client, fake = tg
    app = client.server.app
    chat = next(_chats)
    await deliver(client, text_update(chat, "xin chào"))
    async with app[DB].session() as s, s.begin():  # as if killed after Rasa answered, before storing
        await s.execute(Message.__table__.delete().where(Message.id.in_(
            [m.id for m in await out_messages(app, "telegram", str(chat))])))
    await crash_after(app, await last_update(app))
    turns, sent = rasa.turns, len(fake.sent(chat))
    await inbox.recover(app, "telegram", telegram.handle_data)
    await settle(app)
    assert [m["text"] for m in fake.sent(chat)[sent:]] == answer("xin chào") and rasa.turns == turns


async def test_a_shared_place_is_acknowledged_once_with_the_answer(tg):
    client, fake = tg
    app = client.server.app
    chat = next(_chats)
    await deliver(client, location_update(chat, 14.35, 108.99))
    texts = [m["text"] for m in fake.sent(chat)]
    assert texts[0] == telegram.GOT_LOCATION and len(texts) == 4
    assert "remove_keyboard" in str(fake.sent(chat)[0]["reply_markup"])
    await crash_after(app, await last_update(app))  # every receipt written: nothing goes again
    await inbox.recover(app, "telegram", telegram.handle_data)
    await settle(app)
    assert len(fake.sent(chat)) == 4


async def test_a_sticker_is_kept_in_the_conversation_and_its_polite_reply_sent_once(tg, rasa):
    client, fake = tg
    app = client.server.app
    chat = next(_chats)
    turns = rasa.turns
    await deliver(client, sticker_update(chat))
    assert [m["text"] for m in fake.sent(chat)] == [messages.NOT_TEXT] and rasa.turns == turns  # Rasa not asked
    async with app[DB].session() as s:
        kept = (await s.scalars(select(Message).join(Conversation).where(Conversation.chat_id == str(chat))
                                .order_by(Message.id))).all()
    assert [(m.direction, m.text) for m in kept] == [("in", messages.NOT_TEXT_KEPT), ("out", messages.NOT_TEXT)]
    (reply,) = await out_messages(app, "telegram", str(chat))
    assert reply.delivered_at is not None and reply.platform_ids == fake.accepted[-1].platform_id
    await crash_after(app, await last_update(app))  # its receipt written: not sent again
    await inbox.recover(app, "telegram", telegram.handle_data)
    await settle(app)
    assert len(fake.sent(chat)) == 1
    await crash_after(app, await last_update(app), receipts={reply.id: (None, False)})  # killed before the receipt
    await inbox.recover(app, "telegram", telegram.handle_data)
    await settle(app)
    assert [m["text"] for m in fake.sent(chat)] == [messages.NOT_TEXT] * 2 and rasa.turns == turns


async def test_pushed_messages_left_in_flight_are_sent_by_the_outbox_once(tg):
    client, fake = tg
    app = client.server.app
    me = app[SETTINGS].instance_id
    mine, others, silent = next(_chats), next(_chats), next(_chats)
    async with app[DB].session() as s, s.begin():
        # Stored by this gateway's previous run, which died before sending; another gateway's, alive
        # and sending; a third's, silent for minutes.
        for chat, text in ((mine, "Hồ sơ của anh/chị vừa có cập nhật"), (others, "đang gửi"), (silent, "bị bỏ dở")):
            staged = await notify.stage(s, app, f"telegram:{chat}", text)
            await s.execute(update(Message).where(Message.id == staged.reply.message_id).values(
                claimed_by={mine: me, others: "gw-alive", silent: "gw-silent"}[chat]))
        await beat(s, "gw-alive")
        await beat(s, "gw-silent")
    assert await outbox.recover(app) == 1  # at start: this gateway's own
    assert await outbox.flush_once(app) == 1
    assert [m["text"] for m in fake.sent(mine)] == ["Hồ sơ của anh/chị vừa có cập nhật"]
    # The other gateway that stops beating: its message is taken up by this one's next pass.
    async with app[DB].session() as s, s.begin():
        await s.execute(update(GatewayHeartbeat).where(GatewayHeartbeat.gateway_id == "gw-silent")
                        .values(last_seen=datetime.now(timezone.utc) - timedelta(hours=1)))
    assert await outbox.flush_once(app) == 1
    assert [m["text"] for m in fake.sent(silent)] == ["bị bỏ dở"] and fake.sent(others) == []
    assert await outbox.flush_once(app) == 0
    (pushed,) = await out_messages(app, "telegram", str(mine))
    assert pushed.delivery == "sent" and pushed.platform_ids and pushed.delivered_at is not None


async def test_an_officials_reply_processed_again_reaches_the_citizen_once(tg):
    client, fake = tg
    app = client.server.app
    citizen = next(_chats)
    async with app[DB].session() as s, s.begin():
        c = await file_complaint(s, load_catalogue().locality, sender_id=f"telegram:{citizen}",
                                 content="Cống thoát nước bị tắc trước chợ", category="ha_tang_giao_thong",
                                 place="chợ Tăng Bạt Hổ", name="Trần Văn Lợi", phone="0905123123")
        ticket = c.ticket
    assert await officials_telegram.post_new(app) == 1
    (post,) = [p for m, p in fake.calls if m == "sendMessage" and int(p["chat_id"]) == GROUP]
    message_id = next(t.platform_id for t in fake.accepted if t.chat_id == str(GROUP))
    await deliver(client, group_reply(GROUP, 555_002, "Đã cử người thông cống", int(message_id), post["text"]))
    (told,) = fake.sent(citizen)
    assert told["text"].startswith("Phản hồi của") and "Đã cử người thông cống" in told["text"]
    acks = len(fake.sent(GROUP))
    await crash_after(app, await last_update(app))  # killed before the update was marked done
    await inbox.recover(app, "telegram", telegram.handle_data)
    await settle(app)
    assert len(fake.sent(citizen)) == 1 and len(fake.sent(GROUP)) == acks  # nothing done or said twice
    async with app[DB].session() as s:
        c = await by_ticket(s, ticket)
        assert [e.action for e in await events_of(s, c.id)].count("replied") == 1


async def test_a_handed_off_message_is_relayed_to_the_officials_once(tg):
    client, fake = tg
    app = client.server.app
    citizen = next(_chats)
    async with app[DB].session() as s, s.begin():
        await start_handoff(s, f"telegram:{citizen}")
    await deliver(client, text_update(citizen, "Cho tôi hỏi cán bộ về hồ sơ đất"))
    relayed = [m["text"] for m in fake.sent(GROUP)]
    assert len(relayed) == 1 and relayed[0].endswith("Công dân: Cho tôi hỏi cán bộ về hồ sơ đất")
    await crash_after(app, await last_update(app))
    await inbox.recover(app, "telegram", telegram.handle_data)
    await settle(app)
    assert [m["text"] for m in fake.sent(GROUP)] == relayed and fake.sent(citizen) == []


async def test_zalo_sends_only_the_parts_it_had_not_taken(rasa, sqlite_url):
    async with running("9876:zalo-test") as fake:
        client = await start_gateway(make_settings(
            database_url=sqlite_url, rasa_url=rasa.base_url, dossier_watch_seconds=0, escalation_check_seconds=0,
            outbox_seconds=0, zalo_bot_token=fake.token, zalo_webhook_secret="s",
            zalo_webhook_url="https://bot.example.invalid/zalo/webhook", zalo_api_base_url=fake.base_url))
        try:
            app = client.server.app
            resp = await client.post("/zalo/webhook", json=text_event("z-parts", "tin dài"),
                                     headers={"X-Bot-Api-Secret-Token": "s"})
            assert resp.status == 200
            await settle(app)
            long_parts = split_text(answer("tin dài")[2], zalo.MESSAGE_LIMIT)
            assert fake.sent("z-parts") == answer("tin dài")[:2] + long_parts and len(long_parts) == 4
            third = (await out_messages(app, "zalo", "z-parts"))[2]
            taken = third.platform_ids.split()
            await crash_after(app, await last_update(app), receipts={third.id: (" ".join(taken[:2]), False)})
            sent = len(fake.sent("z-parts"))
            await inbox.recover(app, "zalo", zalo.handle_event)
            await settle(app)
            assert fake.sent("z-parts")[sent:] == long_parts[2:]
        finally:
            await client.close()

