"""The gateway without Rasa's answers: health, bad input, Rasa down. Real app, real SQLite."""
import json

import pytest
from sqlalchemy import select

from bot import messages
from motcua.store import Database
from motcua.store.models import Message

from tests.support.chat import web_id
from tests.support.gateway import make_settings, start_gateway
from tests.support.processes import free_port

C1 = web_id("c1")


@pytest.fixture
async def offline_gateway(sqlite_url):
    """A gateway whose Rasa is not running (nothing listens on its port)."""
    client = await start_gateway(make_settings(database_url=sqlite_url, rasa_url=f"http://127.0.0.1:{free_port()}"))
    yield client
    await client.close()


async def test_healthz_names_rasa_when_it_is_down(offline_gateway):
    resp = await offline_gateway.get("/healthz")
    assert resp.status == 503
    assert await resp.json() == {"status": "unavailable", "rasa": "down", "database": "ok"}


async def test_rasa_down_gives_a_polite_busy_reply_and_keeps_the_message(offline_gateway, sqlite_url):
    resp = await offline_gateway.post("/webchat/messages", json={"sender": C1, "message": "xin chào"})
    assert resp.status == 200
    assert await resp.json() == [{"text": messages.BUSY}]
    db = Database(sqlite_url)
    async with db.session() as s:
        rows = (await s.scalars(select(Message).order_by(Message.id))).all()
    await db.dispose()
    assert [(m.direction, m.text) for m in rows] == [("in", "xin chào"), ("out", messages.BUSY)]


@pytest.mark.parametrize("text", ["", "   ", "\x00\x01\x1b", "\u200b\u200b"])
async def test_empty_messages_get_asked_for_content(offline_gateway, text):
    resp = await offline_gateway.post("/webchat/messages", json={"sender": C1, "message": text})
    assert await resp.json() == [{"text": messages.EMPTY_MESSAGE}]


async def test_a_10000_character_message_gets_a_clear_reply(offline_gateway):
    # 10,000 Vietnamese characters are a body over the web chat's limit: refused before being read.
    resp = await offline_gateway.post("/webchat/messages", json={"sender": C1, "message": "hồ sơ " * 1700})
    assert resp.status == 413
    (reply,) = await resp.json()
    assert "dài quá 2000 ký tự" in reply["text"]


async def test_a_long_message_within_the_body_limit_is_stored_only_up_to_the_limit(offline_gateway, sqlite_url):
    resp = await offline_gateway.post("/webchat/messages", json={"sender": web_id("c2"), "message": "a" * 10_000})
    assert resp.status == 200
    (reply,) = await resp.json()
    assert "dài quá 2000 ký tự" in reply["text"]
    db = Database(sqlite_url)
    async with db.session() as s:
        stored = (await s.scalars(select(Message.text).where(Message.direction == "in"))).all()
    await db.dispose()
    assert [len(t) for t in stored] == [2001]  # 2,000 characters and "…"


NO_MESSAGE = b'{"sender": "' + C1.encode() + b'"}'


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", NO_MESSAGE, b'{"sender": "../../etc", "message": "x"}',
     b'{"sender": 5, "message": "x"}', b'{"sender": "' + C1.encode() + b'", "message": {"a": 1}}',
     # Issue 15, item 6: the sender id is a random UUID and nothing else.
     b'{"sender": "c1", "message": "x"}', b'{"sender": "admin", "message": "x"}',
     b'{"sender": "web:' + C1.encode() + b'", "message": "x"}', b'{"sender": "' + C1.encode() + b'x", "message": "x"}'],
)
async def test_malformed_requests_get_400_in_vietnamese(offline_gateway, body):
    resp = await offline_gateway.post("/webchat/messages", data=body, headers={"Content-Type": "application/json"})
    if body == NO_MESSAGE:  # no message at all is treated as an empty one
        assert resp.status == 200 and await resp.json() == [{"text": messages.EMPTY_MESSAGE}]
        return
    assert resp.status == 400
    assert await resp.json() == [{"text": messages.BAD_REQUEST}]


async def test_the_chat_page_is_served_in_vietnamese(offline_gateway):
    resp = await offline_gateway.get("/")
    assert resp.status == 200
    html = await resp.text()
    assert '<html lang="vi">' in html and 'name="viewport"' in html
    assert "/webchat/messages" in html and "Gửi" in html


@pytest.mark.parametrize("text", ["😀😀😀", "???!!!", "👍"])
async def test_emoji_only_messages_are_asked_for_words(offline_gateway, text):
    resp = await offline_gateway.post("/webchat/messages", json={"sender": C1, "message": text})
    assert await resp.json() == [{"text": messages.NO_WORDS}]


def test_phone_and_cccd_numbers_are_masked_in_logs():
    import logging

    from motcua.logs import PersonalDataFilter, mask_personal_data

    assert mask_personal_data("gọi 0905 123 456 hoặc +84 935111222, CCCD 052190001234") == \
        "gọi ********56 hoặc *********22, CCCD **********34"
    assert mask_personal_data("mã 000.00.24.H08-241105-0012, năm 2026") == "mã 000.00.24.H08-241105-0012, năm 2026"
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "sdt %s", ("0905123456",), None)
    PersonalDataFilter().filter(record)
    assert record.getMessage() == "sdt ********56"


@pytest.mark.parametrize("query, header", [
    ({"after": "²"}, C1), ({"after": "1" * 30}, C1), ({"after": "-1"}, C1), ({"after": "0x1"}, C1),
    ({"after": "0"}, None), ({"after": "0", "sender": C1}, None), ({"after": "0"}, "c1")])
async def test_updates_poll_refuses_malformed_numbers_and_senders_in_the_url(offline_gateway, query, header):
    """Issue 15: the poll names its chat in a header (never in a URL that proxies log), and a
    malformed number is a 400, not a 500."""
    resp = await offline_gateway.get("/webchat/updates", params=query,
                                     headers={"X-Webchat-Sender": header} if header else {})
    assert resp.status == 400 and await resp.json() == [{"text": messages.BAD_REQUEST}]


async def test_the_page_makes_random_uuids_never_math_random(offline_gateway):
    page = await (await offline_gateway.get("/")).text()
    assert "crypto.randomUUID" in page and "crypto.getRandomValues" in page and "Math.random" not in page
    assert "X-Webchat-Sender" in page and "sender=" not in page


@pytest.mark.parametrize("path", ["/", "/officials/login", "/open311/v2/services.json", "/khong-co", "/officials/"])
async def test_every_answer_carries_the_security_headers(offline_gateway, path):
    resp = await offline_gateway.get(path, allow_redirects=False)
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff" and resp.headers["Referrer-Policy"] == "same-origin"


async def test_web_chat_posts_only_json_from_this_site(offline_gateway):
    body = json.dumps({"sender": C1, "message": "xin chào"})
    form = await offline_gateway.post("/webchat/messages", data={"sender": C1, "message": "xin chào"})
    assert form.status == 415 and await form.json() == [{"text": messages.BAD_REQUEST}]
    other_site = await offline_gateway.post("/webchat/messages", data=body, headers={
        "Content-Type": "application/json", "Origin": "https://evil.example"})
    assert other_site.status == 403
    host = offline_gateway.server.host, offline_gateway.server.port
    same_site = await offline_gateway.post("/webchat/messages", data=body, headers={
        "Content-Type": "application/json", "Origin": f"http://{host[0]}:{host[1]}"})
    assert same_site.status == 200


async def test_a_body_in_an_unknown_charset_is_a_400(offline_gateway):
    resp = await offline_gateway.post("/open311/v2/requests.json", data=b"api_key=x&description=abc",
                                      headers={"Content-Type": "application/x-www-form-urlencoded; charset=khong-co"})
    assert resp.status == 400 and await resp.json() == [{"text": messages.BAD_REQUEST}]


async def test_chat_locks_are_forgotten_once_idle():
    """Issue 15 (low): one lock per chat ever seen would grow for ever; idle ones are dropped, and a
    chat's turns still wait for each other."""
    import asyncio

    from bot.inbox import ChatLocks

    locks, order = ChatLocks(), []

    async def turn(chat, n, pause):
        async with locks.hold(("web", chat)):
            order.append((chat, n, "in"))
            await asyncio.sleep(pause)
            order.append((chat, n, "out"))

    await asyncio.gather(turn("a", 1, 0.05), turn("a", 2, 0), turn("b", 1, 0))
    a_turns = [x for x in order if x[0] == "a"]
    assert a_turns == [("a", 1, "in"), ("a", 1, "out"), ("a", 2, "in"), ("a", 2, "out")]
    assert locks.locks == {}
    for i in range(1000):
        async with locks.hold(("telegram", str(i))):
            pass
    assert locks.locks == {}
