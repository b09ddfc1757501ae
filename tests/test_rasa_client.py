"""The gateway's Rasa client against real local HTTP servers that imitate Rasa's REST channel,
tracker and status endpoints: each conversation on its own server, moving only when that server
refuses, no retry after a possibly processed turn, reading an earlier answer back from the tracker."""
from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.rasa_client import RasaClient, RasaUnavailable, intent_of, parse_replies, replies_after
from bot.replies import Reply
from motcua.rasa_replicas import RasaReplicas, rendezvous

from tests.support.processes import free_port

TOKEN = "s3cret-token"


class FakeRasa:
    """One imitation Rasa server: records what it receives, answers as configured."""

    def __init__(self, name: str, log: list[str] | None = None) -> None:
        self.name = name
        self.log = log if log is not None else []
        self.webhook_bodies: list[dict] = []
        self.tracker_requests: list[tuple[str, dict]] = []
        self.status_requests = 0
        self.webhook_status = 200
        self.webhook_delay = 0.0
        self.replies: list[dict] | None = None
        self.events: list[dict] = []
        self.tracker_status = 200
        self.status_payload: dict = {"model_file": "20240101-000000.tar.gz"}
        self.release = asyncio.Event()  # ends any delayed handler at teardown
        self.server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://{self.server.host}:{self.server.port}"

    @property
    def turns(self) -> int:
        return len(self.webhook_bodies)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self.webhook)
        app.router.add_get("/conversations/{sender}/tracker", self.tracker)
        app.router.add_get("/status", self.status)
        return app

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.webhook_bodies.append(body)
        self.log.append(self.name)
        if self.webhook_delay:
            try:
                await asyncio.wait_for(self.release.wait(), self.webhook_delay)
            except asyncio.TimeoutError:
                pass
        if self.webhook_status != 200:
            return web.json_response({"error": "boom"}, status=self.webhook_status)
        replies = self.replies if self.replies is not None else [
            {"recipient_id": body["sender"], "text": f"{self.name}: {body['message']}"}
        ]
        return web.json_response(replies)

    async def tracker(self, request: web.Request) -> web.Response:
        sender = request.match_info["sender"]
        self.tracker_requests.append((sender, dict(request.query)))
        self.log.append(self.name)
        if request.query.get("token") != TOKEN:
            return web.json_response({"message": "not authorised"}, status=401)
        if self.tracker_status != 200:
            return web.json_response({"message": "boom"}, status=self.tracker_status)
        return web.json_response({"sender_id": sender, "slots": {}, "events": self.events})

    async def status(self, request: web.Request) -> web.Response:
        self.status_requests += 1
        return web.json_response(self.status_payload)

    async def start(self, port: int | None = None, host: str = "127.0.0.1") -> "FakeRasa":
        self.server = TestServer(self.app(), host=host, port=port)
        await self.server.start_server()
        return self

    async def close(self) -> None:
        self.release.set()
        if self.server is not None:
            await self.server.close()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def make_rasa():
    """Starts FakeRasa servers; all are closed at the end of the test."""
    started: list[FakeRasa] = []

    async def start(name: str, log: list[str] | None = None, port: int | None = None,
                    host: str = "127.0.0.1") -> FakeRasa:
        fake = await FakeRasa(name, log).start(port, host)
        started.append(fake)
        return fake

    yield start
    for fake in started:
        await fake.close()


def closed_url() -> str:
    """A local URL where nothing listens: connecting is refused."""
    return f"http://127.0.0.1:{free_port()}"


def homed_on(url: str, urls: list[str], prefix: str = "citizen") -> str:
    """A conversation id whose own server (rendezvous) is `url` among `urls`."""
    return next(f"{prefix}-{i}" for i in range(1000) if rendezvous(f"{prefix}-{i}", urls)[0] == url)


# --- one conversation, one server ------------------------------------------------------------

async def test_each_conversations_turns_all_go_to_its_own_server(http, make_rasa):
    a, b = await make_rasa("a"), await make_rasa("b")
    client = RasaClient([a.url, b.url], http, timeout=5)

    for turn in range(3):
        for n in range(20):
            (reply,) = await client.send(f"telegram:{n}", f"turn {turn}")
            assert reply.text.endswith(f"turn {turn}")

    served = {name: {body["sender"] for body in fake.webhook_bodies} for name, fake in (("a", a), ("b", b))}
    assert not served["a"] & served["b"], "a conversation was answered by both servers"
    assert len(served["a"]) + len(served["b"]) == 20 and served["a"] and served["b"]
    assert a.turns + b.turns == 60
    for fake in (a, b):
        for sender in {body["sender"] for body in fake.webhook_bodies}:
            assert [body["message"] for body in fake.webhook_bodies if body["sender"] == sender] == [
                "turn 0", "turn 1", "turn 2"]


async def test_when_a_server_goes_its_conversations_move_and_only_they(http, make_rasa):
    """Kill one of two servers between turns: its conversations go on on the other one, the other
    server's stay where they are, and every message reaches exactly one server once."""
    a, b = await make_rasa("a"), await make_rasa("b")
    urls = [a.url, b.url]
    client = RasaClient(urls, http, timeout=5)
    chats = [f"web:{n}" for n in range(30)]
    home = {chat: rendezvous(chat, urls)[0] for chat in chats}
    for chat in chats:
        await client.send(chat, "first")
    await a.close()
    for chat in chats:
        try:
            (reply,) = await client.send(chat, "second")
        except RasaUnavailable:  # a kept-alive connection to a broke mid-write: the inbox processes it again
            (reply,) = await client.send(chat, "second")
        assert reply.text == "b: second"

    received = [(body["sender"], body["message"]) for fake in (a, b) for body in fake.webhook_bodies]
    assert sorted(received) == sorted((chat, m) for chat in chats for m in ("first", "second"))
    for chat in chats:
        own = [body["message"] for body in b.webhook_bodies if body["sender"] == chat]
        assert own == (["second"] if home[chat] == urls[0] else ["first", "second"])


def test_a_new_server_takes_over_only_the_conversations_that_now_rank_it_first():
    chats = [f"zalo:{n}" for n in range(2000)]
    before = {c: rendezvous(c, ["http://r1:5005", "http://r2:5005"])[0] for c in chats}
    after = {c: rendezvous(c, ["http://r1:5005", "http://r2:5005", "http://r3:5005"])[0] for c in chats}
    moved = [c for c in chats if before[c] != after[c]]
    assert all(after[c] == "http://r3:5005" for c in moved)
    assert 0.25 < len(moved) / len(chats) < 0.42  # about a third: the new server's share


async def test_trailing_slashes_on_server_urls_are_ignored(http, make_rasa):
    a = await make_rasa("a")
    client = RasaClient([a.url + "/"], http, timeout=5)
    assert await client.replicas.current() == [a.url]
    assert (await client.send("citizen", "xin chào"))[0].text == "a: xin chào"


async def test_a_single_url_string_still_works(http, make_rasa):
    a = await make_rasa("a")
    client = RasaClient(a.url, http, timeout=5)

    for i in range(3):
        (reply,) = await client.send("citizen", f"m{i}")
        assert reply.text == f"a: m{i}"
    assert a.turns == 3
    assert await client.replicas.current() == [a.url]


# --- replicas found by DNS (a headless Service) ------------------------------------------------

async def test_replicas_are_every_address_of_the_service_and_are_resolved_again(http, make_rasa):
    a = await make_rasa("a", host="127.0.0.1")
    b = await make_rasa("b", host="127.0.0.2", port=a.server.port)  # one port, as replicas behind one Service
    answers = [["127.0.0.1"], ["127.0.0.1", "127.0.0.2"], OSError("no DNS")]
    asked = []

    async def resolve(host: str, port: int) -> list[str]:
        asked.append((host, port))
        answer = answers.pop(0) if answers else ["127.0.0.2"]
        if isinstance(answer, Exception):
            raise answer
        return answer

    replicas = RasaReplicas([], f"http://rasa-headless:{a.server.port}", refresh_seconds=0.2, resolve=resolve)
    client = RasaClient(replicas, http, timeout=5)
    assert await replicas.current() == [a.url]
    await client.send("web:x", "one")
    assert await replicas.current() == [a.url]  # within the refresh interval: not asked again
    assert asked == [("rasa-headless", a.server.port)]
    await asyncio.sleep(0.25)
    assert await replicas.current() == [a.url, b.url]
    chat = homed_on(b.url, [a.url, b.url])
    (reply,) = await client.send(chat, "two")
    assert reply.text == "b: two"
    await asyncio.sleep(0.25)
    assert await replicas.current() == [a.url, b.url]  # DNS did not answer: the last replicas stand


async def test_an_ipv6_replica_gets_brackets():
    async def resolve(host: str, port: int) -> list[str]:
        return ["fd00::7"]

    assert await RasaReplicas([], "http://rasa:5005", resolve=resolve).current() == ["http://[fd00::7]:5005"]


async def test_a_service_that_never_resolved_is_tried_by_its_own_name():
    async def resolve(host: str, port: int) -> list[str]:
        raise OSError("no DNS")

    assert await RasaReplicas([], "http://rasa:5005", resolve=resolve).current() == ["http://rasa:5005"]


# --- a server that refuses the connection ----------------------------------------------------

async def test_a_refusing_server_is_skipped_and_the_other_answers(http, make_rasa):
    b = await make_rasa("b")
    client = RasaClient([closed_url(), b.url], http, timeout=5)

    (reply,) = await client.send(homed_on(client_url := (await client.replicas.current())[0],
                                          await client.replicas.current()), "xin chào")  # its home refuses
    assert client_url != b.url

    assert reply.text == "b: xin chào"
    assert b.turns == 1


async def test_a_refusing_server_is_skipped_for_a_while_then_used_again(http, make_rasa):
    log: list[str] = []
    port = free_port()
    b = await make_rasa("b", log)
    urls = [f"http://127.0.0.1:{port}", b.url]
    client = RasaClient(urls, http, timeout=5)
    client.SKIP_SECONDS = 0.5
    chat = homed_on(urls[0], urls)

    await client.send(chat, "t0")  # refused by a → answered by b; a is skipped from now on
    assert log == ["b"]
    a = await make_rasa("a", log, port=port)  # a comes back at once, but is still being skipped
    skipped_until = time.monotonic() + client.SKIP_SECONDS
    for i in range(1, 5):
        await client.send(chat, f"t{i}")
    assert time.monotonic() < skipped_until, "the test machine was too slow to check the skip window"
    assert a.turns == 0
    assert log == ["b"] * 5

    await asyncio.sleep(max(0.0, skipped_until - time.monotonic()) + 0.1)
    log.clear()
    for i in range(3):
        await client.send(chat, f"after {i}")
    assert log == ["a"] * 3  # back home


async def test_the_default_skip_time_is_a_few_seconds(http):
    assert RasaClient.SKIP_SECONDS == 5.0
    client = RasaClient(["http://127.0.0.1:1"], http)
    client.SKIP_SECONDS = 0.1  # setting it on the instance leaves the class alone
    assert RasaClient.SKIP_SECONDS == 5.0


async def test_all_servers_refusing_raises_rasa_unavailable(http):
    client = RasaClient([closed_url(), closed_url()], http, timeout=5)
    with pytest.raises(RasaUnavailable):
        await client.send("citizen", "xin chào")
    # and again while both are being skipped: still tried, still unavailable
    with pytest.raises(RasaUnavailable):
        await client.send("citizen", "xin chào")


async def test_all_servers_refusing_is_retried_once_one_comes_back(http, make_rasa):
    port = free_port()
    client = RasaClient([f"http://127.0.0.1:{port}"], http, timeout=5)
    with pytest.raises(RasaUnavailable):
        await client.send("citizen", "xin chào")
    a = await make_rasa("a", port=port)
    # still inside the skip window, but the skipped server is the only one: it is tried last
    (reply,) = await client.send("citizen", "xin chào")
    assert reply.text == "a: xin chào" and a.turns == 1


# --- failures after the message may have been delivered ---------------------------------------

async def test_http_500_raises_and_the_turn_is_not_retried_on_the_other_server(http, make_rasa):
    a, b = await make_rasa("a"), await make_rasa("b")
    a.webhook_status = 500
    client = RasaClient([a.url, b.url], http, timeout=5)

    with pytest.raises(RasaUnavailable, match="500"):
        await client.send(homed_on(a.url, [a.url, b.url]), "xin chào")

    assert a.turns == 1
    assert b.turns == 0


async def test_an_erroring_server_is_not_skipped_afterwards(http, make_rasa):
    log: list[str] = []
    a, b = await make_rasa("a", log), await make_rasa("b", log)
    a.webhook_status = 500
    client = RasaClient([a.url, b.url], http, timeout=5)
    chat = homed_on(a.url, [a.url, b.url])
    with pytest.raises(RasaUnavailable):
        await client.send(chat, "t0")
    a.webhook_status = 200
    await client.send(chat, "t1")
    await client.send(chat, "t2")
    assert log == ["a", "a", "a"]


async def test_a_timeout_raises_rasa_unavailable_without_retrying_elsewhere(http, make_rasa):
    a, b = await make_rasa("a"), await make_rasa("b")
    a.webhook_delay = 5
    client = RasaClient([a.url, b.url], http, timeout=0.3)

    started = time.monotonic()
    with pytest.raises(RasaUnavailable):
        await client.send(homed_on(a.url, [a.url, b.url]), "xin chào")

    assert time.monotonic() - started < 3
    assert a.turns == 1
    assert b.turns == 0


async def test_a_non_json_answer_raises_rasa_unavailable(http):
    async def garbage(request):
        return web.Response(text="<html>bad gateway</html>", content_type="text/html")

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", garbage)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        client = RasaClient(f"http://127.0.0.1:{server.port}", http, timeout=5)
        with pytest.raises(RasaUnavailable):
            await client.send("citizen", "xin chào")
    finally:
        await server.close()


# --- what is sent and what comes back --------------------------------------------------------

async def test_send_passes_metadata_through(http, make_rasa):
    a = await make_rasa("a")
    client = RasaClient(a.url, http, timeout=5)

    await client.send("zalo:42", "tra cứu hồ sơ", metadata={"inbox_id": 17, "channel": "zalo"})
    await client.send("zalo:42", "cảm ơn")

    assert a.webhook_bodies == [
        {"sender": "zalo:42", "message": "tra cứu hồ sơ", "metadata": {"inbox_id": 17, "channel": "zalo"}},
        {"sender": "zalo:42", "message": "cảm ơn"},
    ]


async def test_send_parses_texts_buttons_and_custom(http, make_rasa):
    a = await make_rasa("a")
    a.replies = [
        {"recipient_id": "c", "text": "Bạn cần thủ tục nào?",
         "buttons": [{"title": "Khai sinh", "payload": "/chon{\"p\":\"khai_sinh\"}"}]},
        {"recipient_id": "c", "custom": {"request_contact": True}},
        {"recipient_id": "c", "image": "https://example.test/map.png"},
    ]
    client = RasaClient(a.url, http, timeout=5)

    replies = await client.send("c", "thủ tục")

    assert replies == [
        Reply(text="Bạn cần thủ tục nào?", buttons=[{"title": "Khai sinh", "payload": "/chon{\"p\":\"khai_sinh\"}"}],
              custom={"request_contact": True}),
        Reply(image="https://example.test/map.png"),
    ]


# --- answered(): reading an earlier answer back from the tracker ------------------------------

def tracker_events() -> list[dict]:
    """A Rasa 3.6 tracker: three user messages (inbox ids 7, 8, and one without metadata)."""
    return [
        {"event": "action", "timestamp": 1.0, "name": "action_session_start", "policy": None, "confidence": 1.0},
        {"event": "session_started", "timestamp": 1.1},
        {"event": "action", "timestamp": 1.2, "name": "action_listen", "policy": None, "confidence": None},
        {"event": "user", "timestamp": 2.0, "text": "xin chào", "input_channel": "rest", "message_id": "m1",
         "parse_data": {"intent": {"name": "greet", "confidence": 0.99}, "entities": []},
         "metadata": {"inbox_id": 7}},
        {"event": "user_featurization", "timestamp": 2.01, "use_text_for_featurization": False},
        {"event": "action", "timestamp": 2.1, "name": "utter_greet", "policy": "RulePolicy", "confidence": 1.0},
        {"event": "bot", "timestamp": 2.11, "text": "Xin chào! Tôi có thể giúp gì?",
         "data": {"elements": None, "quick_replies": None, "buttons": None, "attachment": None, "image": None,
                  "custom": None},
         "metadata": {"utter_action": "utter_greet"}},
        {"event": "action", "timestamp": 2.2, "name": "utter_menu", "policy": "RulePolicy", "confidence": 1.0},
        {"event": "bot", "timestamp": 2.21, "text": "Chọn một mục:",
         "data": {"buttons": [{"title": "Tra cứu hồ sơ", "payload": "/tra_cuu"},
                              {"title": "Phản ánh", "payload": "/phan_anh"}],
                  "custom": {"request_contact": True}},
         "metadata": {"utter_action": "utter_menu"}},
        {"event": "action", "timestamp": 2.3, "name": "action_listen", "policy": "RulePolicy", "confidence": 1.0},
        {"event": "user", "timestamp": 3.0, "text": "/tra_cuu", "input_channel": "rest", "message_id": "m2",
         "parse_data": {"intent": {"name": "tra_cuu", "confidence": 1.0}, "entities": []},
         "metadata": {"inbox_id": 8}},
        {"event": "action", "timestamp": 3.1, "name": "utter_ask_code", "policy": "RulePolicy", "confidence": 1.0},
        {"event": "bot", "timestamp": 3.11, "text": "Mã hồ sơ của bạn là gì?", "data": {}, "metadata": {}},
        {"event": "action", "timestamp": 3.2, "name": "action_listen", "policy": "RulePolicy", "confidence": 1.0},
        {"event": "user", "timestamp": 4.0, "text": "cảm ơn", "input_channel": "rest", "message_id": "m3",
         "parse_data": {"intent": {"name": "thanks", "confidence": 0.9}, "entities": []}, "metadata": {}},
        {"event": "bot", "timestamp": 4.1, "text": "Không có gì ạ.", "data": {}, "metadata": {}},
    ]


async def test_answered_returns_the_replies_that_followed_that_inbox_id(http, make_rasa):
    a = await make_rasa("a")
    a.events = tracker_events()
    client = RasaClient(a.url, http, timeout=5, token=TOKEN)

    replies = await client.answered("telegram:42", 7)

    assert replies == [
        Reply(text="Xin chào! Tôi có thể giúp gì?"),
        Reply(text="Chọn một mục:",
              buttons=[{"title": "Tra cứu hồ sơ", "payload": "/tra_cuu"}, {"title": "Phản ánh", "payload": "/phan_anh"}],
              custom={"request_contact": True}),
    ]
    assert await client.answered("telegram:42", 8) == [Reply(text="Mã hồ sơ của bạn là gì?")]


async def test_answered_returns_none_when_no_event_carries_the_inbox_id(http, make_rasa):
    a = await make_rasa("a")
    a.events = tracker_events()
    client = RasaClient(a.url, http, timeout=5, token=TOKEN)
    assert await client.answered("telegram:42", 9) is None


async def test_answered_returns_none_for_an_unknown_conversation(http, make_rasa):
    a = await make_rasa("a")  # Rasa answers an empty tracker for a sender it never saw
    client = RasaClient(a.url, http, timeout=5, token=TOKEN)
    assert await client.answered("nobody", 1) is None


async def test_answered_sends_the_token_and_the_sender_in_the_path(http, make_rasa):
    a = await make_rasa("a")
    client = RasaClient(a.url, http, timeout=5, token=TOKEN)

    await client.answered("telegram:42", 7)

    assert a.tracker_requests == [("telegram:42", {"token": TOKEN})]


async def test_answered_raises_on_http_errors(http, make_rasa):
    a = await make_rasa("a")
    wrong_token = RasaClient(a.url, http, timeout=5, token="wrong")
    with pytest.raises(RasaUnavailable, match="401"):
        await wrong_token.answered("telegram:42", 7)
    no_token = RasaClient(a.url, http, timeout=5)
    with pytest.raises(RasaUnavailable, match="401"):
        await no_token.answered("telegram:42", 7)
    a.tracker_status = 500
    client = RasaClient(a.url, http, timeout=5, token=TOKEN)
    with pytest.raises(RasaUnavailable, match="500"):
        await client.answered("telegram:42", 7)


async def test_answered_skips_a_refusing_server(http, make_rasa):
    b = await make_rasa("b")
    b.events = tracker_events()
    client = RasaClient([closed_url(), b.url], http, timeout=5, token=TOKEN)
    assert await client.answered("telegram:42", 8) == [Reply(text="Mã hồ sơ của bạn là gì?")]


async def test_answered_raises_when_every_server_refuses(http):
    client = RasaClient([closed_url(), closed_url()], http, timeout=5, token=TOKEN)
    with pytest.raises(RasaUnavailable):
        await client.answered("telegram:42", 7)


# --- ready() ---------------------------------------------------------------------------------

async def test_ready_when_a_server_reports_a_model(http, make_rasa):
    a, b = await make_rasa("a"), await make_rasa("b")
    a.status_payload = {"model_file": None, "num_active_training_jobs": 0}
    b.status_payload = {"model_file": "x.tar.gz", "model_id": "abc", "num_active_training_jobs": 0}
    assert await RasaClient([closed_url(), a.url, b.url], http).ready() is True


async def test_not_ready_when_no_server_reports_a_model(http, make_rasa):
    a, b = await make_rasa("a"), await make_rasa("b")
    a.status_payload = {"model_file": None}
    b.status_payload = {}
    assert await RasaClient([a.url, b.url, closed_url()], http).ready() is False
    assert a.status_requests == 1 and b.status_requests == 1


async def test_not_ready_when_every_server_refuses(http):
    assert await RasaClient([closed_url()], http).ready(timeout=1) is False


async def test_ready_with_a_single_url_string(http, make_rasa):
    a = await make_rasa("a")
    assert await RasaClient(a.url, http).ready() is True


# --- replies_after (pure) --------------------------------------------------------------------

def test_replies_after_stops_at_the_next_user_event():
    assert replies_after(tracker_events(), 8) == [Reply(text="Mã hồ sơ của bạn là gì?")]


def test_replies_after_is_none_when_rasa_never_saw_the_message():
    assert replies_after(tracker_events(), 99) is None
    assert replies_after([], 1) is None


def test_replies_after_is_empty_when_rasa_saw_the_message_but_did_not_answer():
    events = [
        {"event": "user", "text": "hi", "metadata": {"inbox_id": 3}},
        {"event": "action", "name": "action_listen"},
    ]
    assert replies_after(events, 3) == []


def test_replies_after_the_last_message_runs_to_the_end_of_the_tracker():
    events = [
        {"event": "user", "text": "a", "metadata": {"inbox_id": 1}},
        {"event": "bot", "text": "one"},
        {"event": "user", "text": "b", "metadata": {"inbox_id": 2}},
        {"event": "action", "name": "utter_two"},
        {"event": "bot", "text": "two", "data": {"image": "https://example.test/a.png"}},
        {"event": "bot", "text": "three"},
    ]
    assert replies_after(events, 2) == [Reply(text="two", image="https://example.test/a.png"), Reply(text="three")]


def test_replies_after_ignores_user_events_without_metadata_and_other_inbox_ids():
    events = [
        {"event": "user", "text": "a", "metadata": None},
        {"event": "bot", "text": "not this"},
        {"event": "user", "text": "b"},
        {"event": "bot", "text": "nor this"},
        {"event": "user", "text": "c", "metadata": {"inbox_id": "5"}},  # a string, not the int 5
        {"event": "bot", "text": "nor this either"},
        {"event": "user", "text": "d", "metadata": {"inbox_id": 5, "channel": "zalo"}},
        {"event": "bot", "text": "this"},
    ]
    assert replies_after(events, 5) == [Reply(text="this")]


def test_replies_after_merges_custom_into_its_reply():
    events = [
        {"event": "user", "text": "đăng ký", "metadata": {"inbox_id": 1}},
        {"event": "bot", "text": "Cho tôi số điện thoại", "data": {"custom": {"request_contact": True}}},
        {"event": "bot", "text": None, "data": {"custom": {"keyboard": "remove"}}},  # custom only
    ]
    assert replies_after(events, 1) == [
        Reply(text="Cho tôi số điện thoại", custom={"request_contact": True, "keyboard": "remove"}),
    ]


def test_replies_after_keeps_buttons_and_skips_empty_bot_events():
    events = [
        {"event": "user", "text": "menu", "metadata": {"inbox_id": 1}},
        {"event": "bot", "text": None, "data": {"buttons": None, "custom": None}},
        {"event": "bot", "text": "",
         "data": {"buttons": [{"title": "Có", "payload": "/affirm"}, {"title": "Không", "payload": "/deny"}]}},
        {"event": "slot", "name": "x", "value": 1},
    ]
    assert replies_after(events, 1) == [
        Reply(text="", buttons=[{"title": "Có", "payload": "/affirm"}, {"title": "Không", "payload": "/deny"}]),
    ]


def test_replies_after_with_the_same_inbox_id_twice_returns_the_first_answer():
    events = [
        {"event": "user", "text": "a", "metadata": {"inbox_id": 1}},
        {"event": "bot", "text": "first"},
        {"event": "user", "text": "a", "metadata": {"inbox_id": 1}},
        {"event": "bot", "text": "second"},
    ]
    assert replies_after(events, 1) == [Reply(text="first")]


def test_the_intent_our_rasa_adds_is_read_and_is_not_a_reply():
    answer = [{"recipient_id": "web:x", "text": "Giờ làm việc: …", "buttons": [{"title": "Địa chỉ", "payload": "/x"}]},
              {"recipient_id": "web:x", "custom": {"request_location": True}},
              {"recipient_id": "web:x", "custom": {"motcua_intent": "ask_office_info"}}]
    assert intent_of(answer) == "ask_office_info"
    (reply,) = parse_replies(answer)
    assert reply.custom == {"request_location": True}
    assert intent_of(answer[:2]) is None and intent_of("nope") is None and intent_of([1, None]) is None
