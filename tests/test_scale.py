"""Production mode on loopback (issue 9): two gateways, two Rasa servers, two action servers,
PostgreSQL for the bot's store, the case database and Rasa's SQL tracker store, Redis for Rasa's
lock store — each a real process started with `motcua serve …`, as docker-compose.yml does.

Citizens are played through the Telegram webhook (a local fake Bot API) with their messages
alternating between the two gateways; a delivery a gateway did not acknowledge (connection
refused, HTTP 5xx) is delivered again, as Telegram does. Then nothing may be lost, duplicated or
reordered: not in the replies, not in the store, not in Rasa's trackers. The fault tests kill a
gateway (SIGKILL) or a Rasa server under load and restart PostgreSQL under load.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from typing import Optional

import aiohttp
import asyncpg
import pytest

from bot import messages

from tests.support.databases import create_pg_database, drop_pg_database, pg_url
from tests.support.fake_telegram import TOKEN, WEBHOOK_SECRET, FakeTelegram, callback_update, text_update
from tests.support.processes import NotReady, free_port, stop_all
from tests.support.servers import TEST_DOSSIERS_CSV, motcua_serve, rasa_ready

RASA_TOKEN = "scale-rasa-token"
BUSY_WORDS = ("thử lại", "chờ", "bận")  # the polite "please wait / try again" replies
_chats = itertools.count(9_100_001)


# --- the cluster: Rasa and action servers, for the whole module ---------------------------------

@pytest.fixture(scope="module")
def cluster(trained_model, tmp_path_factory):
    from motcua.cases_import import import_csv
    from motcua.store import Database

    work = tmp_path_factory.mktemp("scale")
    names = {kind: asyncio.run(create_pg_database()) for kind in ("store", "cases", "rasa")}
    store_url = pg_url(names['store'])
    cases_url = pg_url(names['cases'])
    (work / "dossiers.csv").write_text(TEST_DOSSIERS_CSV, encoding="utf-8")
    asyncio.run(import_csv(work / "dossiers.csv", cases_url))

    async def migrate() -> None:
        db = Database(store_url)
        await db.migrate()
        await db.dispose()

    asyncio.run(migrate())
    models = work / "models"  # the volume every replica shares
    models.mkdir()
    shutil.copy2(trained_model, models / trained_model.name)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DATABASE_URL": store_url, "CASE_DATABASE_URL": cases_url,
           "MOTCUA_MODELS_DIR": str(models), "RASA_TOKEN": RASA_TOKEN, "HANDOFF_HOURS": "always",
           "RASA_TRACKER_STORE_URL": pg_url(names['rasa'], "postgresql"),
           "RASA_LOCK_STORE_URL": "redis://127.0.0.1:6379/0",
           # A killed Rasa leaves its conversation locks behind; they expire after this (default 60 s).
           "TICKET_LOCK_LIFETIME": "15"}
    actions, rasas = [], []
    for n in (1, 2):
        a_port = free_port()
        actions.append(motcua_serve(f"actions{n}", "actions", a_port, env, work / f"actions{n}.log"))
        rasas.append(motcua_serve(f"rasa{n}", "rasa", free_port(),
                                  {**env, "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{a_port}/webhook"},
                                  work / f"rasa{n}.log"))
    procs = actions + rasas
    for p in procs:
        p.start()
    try:
        try:
            for p in rasas:
                p.wait_ready(f"/status?token={RASA_TOKEN}", 300, rasa_ready)
            for p in actions:
                p.wait_ready("/health", 60)
        except NotReady as exc:
            pytest.fail(f"The cluster did not start: {exc}")
        yield {"env": env, "work": work, "store_dsn": pg_url(names['store'], "postgresql"),
               "rasa_dsn": pg_url(names['rasa'], "postgresql"), "rasas": rasas, "actions": actions,
               "models": models, "model": trained_model.name, "store_url": store_url}
    finally:
        stop_all(procs, grace=20)
        for name in names.values():
            asyncio.run(drop_pg_database(name))


# --- gateways and citizens, per test -------------------------------------------------------------

class Gateways:
    """Two gateway processes (`motcua serve gateway`) in front of both Rasa servers."""

    def __init__(self, cluster: dict, fake: FakeTelegram, dead_after: float = 60) -> None:
        rasa_urls = ",".join(p.url for p in cluster["rasas"])
        self.procs = []
        for n in (1, 2):
            port = free_port()
            env = {**cluster["env"], "PORT": str(port), "GATEWAY_ID": f"gw{n}", "RASA_URLS": rasa_urls,
                   "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
                   "TELEGRAM_WEBHOOK_URL": "https://bot.example.invalid/telegram/webhook",
                   "TELEGRAM_API_BASE_URL": fake.base_url, "DOSSIER_WATCH_SECONDS": "0",
                   "ESCALATION_CHECK_SECONDS": "0", "OUTBOX_SECONDS": "2",
                   "GATEWAY_DEAD_AFTER_SECONDS": str(dead_after)}
            self.procs.append(motcua_serve(f"gw{n}", "gateway", port, env, cluster["work"] / f"gw{n}.log"))

    async def start(self, *which: int) -> None:
        for i in which or range(len(self.procs)):
            self.procs[i].start()
        for i in which or range(len(self.procs)):
            await self.procs[i].ready("/healthz", 90)

    def stop(self) -> None:
        stop_all(self.procs, grace=20)


@pytest.fixture
async def gateways(cluster, fake_tg):
    gws = Gateways(cluster, fake_tg)
    await gws.start()
    yield gws
    gws.stop()


@dataclass
class Chat:
    chat_id: int
    kind: str
    steps: list[dict]  # Telegram updates, in order
    texts: list[str]  # what each update says (a button's payload for a callback)
    replies: list[list[dict]] = field(default_factory=list)  # per step, the messages sent back


def new_chat(kind: str) -> Chat:
    chat_id = next(_chats)
    if kind == "procedure":
        texts = ["lam giay khai sinh can giay to gi", "bn ngày thì xong", "có nộp online dc ko"]
    elif kind == "dossier":
        texts = ["tra cứu hồ sơ 000.00.24.H08-261101-0003", "3333"]
    else:
        texts = ["tôi muốn gửi phản ánh", f"Đèn đường hỏng trước nhà số {chat_id} đã một tuần",
                 '/inform{"complaint_category": "ha_tang_giao_thong"}', "thôn Gia Đẳng, xã Ân Tường", "/deny",
                 "Nguyễn Văn An", "0905 123 456", "/affirm"]
    steps = [callback_update(chat_id, t) if t.startswith("/") else text_update(chat_id, t) for t in texts]
    return Chat(chat_id, kind, steps, texts)


def mixed_chats(n: int, kinds=("procedure", "dossier", "complaint")) -> list[Chat]:
    return [new_chat(kinds[k % len(kinds)]) for k in range(n)]


class Citizens:
    """Plays chats through the gateways; a citizen waits for the answer before writing again."""

    def __init__(self, gws: Gateways, fake: FakeTelegram, store_dsn: str) -> None:
        self.gws, self.fake, self.store_dsn = gws, fake, store_dsn
        self.acknowledged: dict[int, str] = {}  # update_id → gateway that answered 200
        self.turns = 0

    async def __aenter__(self) -> "Citizens":
        self.http = aiohttp.ClientSession()
        self.pool = await asyncpg.create_pool(self.store_dsn, min_size=1, max_size=10)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.http.close()
        await self.pool.close()

    async def deliver(self, update: dict, first: int) -> None:
        """Like Telegram: deliver until a gateway says 200 (another one if this one is down)."""
        deadline = time.monotonic() + 180
        i = first
        while time.monotonic() < deadline:
            gw = self.gws.procs[i % len(self.gws.procs)]
            try:
                async with self.http.post(f"{gw.url}/telegram/webhook", json=update,
                                          headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
                                          timeout=aiohttp.ClientTimeout(total=30)) as r:
                    if r.status == 200:
                        self.acknowledged[update["update_id"]] = gw.name
                        return
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            i += 1
            await asyncio.sleep(0.5)
        raise AssertionError(f"update {update['update_id']} was never acknowledged")

    async def done(self, update_id: int, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                status = await self.pool.fetchval(
                    "SELECT status FROM inbox WHERE channel = 'telegram' AND update_id = $1", str(update_id))
                if status in ("done", "failed"):
                    assert status == "done", f"update {update_id} failed"
                    return
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError):
                pass  # PostgreSQL restarting: ask again
            await asyncio.sleep(0.1)
        raise AssertionError(f"update {update_id} was acknowledged but never answered")

    async def play(self, chat: Chat, first_gateway: int = 0) -> None:
        for i, update in enumerate(chat.steps):
            before = len(self.fake.sent(chat.chat_id))
            await self.deliver(update, first_gateway + i)  # alternate: gw1, gw2, gw1, …
            await self.done(update["update_id"])
            chat.replies.append(self.fake.sent(chat.chat_id)[before:])
            self.turns += 1

    async def play_all(self, chats: list[Chat]) -> float:
        started = time.monotonic()
        await asyncio.gather(*(self.play(c, k % 2) for k, c in enumerate(chats)))
        return time.monotonic() - started


# --- what must hold afterwards -----------------------------------------------------------------

def is_busy(reply: dict) -> bool:
    return any(w in reply["text"] for w in BUSY_WORDS)


def check_answers(chat: Chat) -> Optional[str]:
    """The ticket of a complaint chat; asserts each kind of chat reached its answer."""
    for step, replies in zip(chat.texts, chat.replies):
        assert replies, f"chat {chat.chat_id}: no reply to {step!r}"
        for reply in replies:
            assert "Traceback" not in reply["text"] and "Error" not in reply["text"]
    last = chat.replies[-1][-1]["text"]
    if chat.kind == "procedure":
        assert "khai sinh" in " ".join(r["text"] for r in chat.replies[0]).lower()
    elif chat.kind == "dossier":
        assert "bổ sung" in last.lower(), last
    else:
        found = re.search(r"PA-\d{4}-\d{6}", last)
        assert found, f"chat {chat.chat_id}: no ticket in {last!r}"
        return found.group(0)
    return None


async def stored_messages(store: asyncpg.Connection, chat: Chat) -> list:
    """The chat's messages in the bot's store, in order (direction, text)."""
    return await store.fetch(
        "SELECT m.direction, m.text FROM messages m JOIN conversations c ON c.id = m.conversation_id "
        "WHERE c.channel = 'telegram' AND c.chat_id = $1 ORDER BY m.id", str(chat.chat_id))


async def rasa_heard(rasa: asyncpg.Connection, chat: Chat) -> list[str]:
    """What Rasa's tracker store holds as the chat's user messages, in order."""
    users = await rasa.fetch("SELECT data FROM events WHERE sender_id = $1 AND type_name = 'user' ORDER BY id",
                             f"telegram:{chat.chat_id}")
    return [json.loads(r["data"])["text"] for r in users]


async def check_store_and_trackers(cluster: dict, fake: FakeTelegram, chats: list[Chat], resent_ok: bool = False) -> int:
    """Each message once and in order in the store and in Rasa's tracker; each stored reply sent
    once — or, when a gateway was killed (`resent_ok`), at least once: a reply sent in the instant
    between sendMessage and marking the update done is sent again by the next process (Telegram
    has no idempotency key). Returns how many replies were sent twice."""
    resent = 0
    store = await asyncpg.connect(cluster["store_dsn"])
    rasa = await asyncpg.connect(cluster["rasa_dsn"])
    try:
        for chat in chats:
            rows = await stored_messages(store, chat)
            incoming = [r["text"] for r in rows if r["direction"] == "in"]
            assert len(incoming) == len(chat.texts), (chat.chat_id, incoming)
            for sent, stored in zip(chat.texts, incoming):
                assert sent.startswith("/") or stored == sent, (chat.chat_id, incoming)
            # "Please wait" while Rasa or the store was down is sent without being stored.
            sent = [m["text"] for m in fake.sent(chat.chat_id) if m["text"] != messages.BUSY_WAIT]
            stored = [r["text"] for r in rows if r["direction"] == "out"]
            if resent_ok:
                assert set(sent) == set(stored) and len(sent) >= len(stored), (chat.chat_id, stored, sent)
                resent += len(sent) - len(stored)
            else:
                assert len(stored) == len(sent), (chat.chat_id, stored, sent)
            said = await rasa_heard(rasa, chat)
            # What the gateway sent Rasa: every message once, in the citizen's order (busy turns
            # during a fault were not sent, and were sent later, once).
            assert said == [t for t in chat.texts if t in said] and len(said) == len(set(said)), (chat.chat_id, said)
            assert len(said) == len(chat.texts), (chat.chat_id, said)
    finally:
        await store.close()
        await rasa.close()
    return resent


async def check_tickets(cluster: dict, chats: list[Chat]) -> None:
    store = await asyncpg.connect(cluster["store_dsn"])
    try:
        for chat in chats:
            ticket = check_answers(chat)
            if ticket:
                content = await store.fetchval("SELECT content FROM complaints WHERE ticket = $1", ticket)
                assert content == chat.texts[1], (ticket, content)
    finally:
        await store.close()


# --- tests -------------------------------------------------------------------------------------

async def test_100_chats_alternating_between_two_gateways_lose_duplicate_and_reorder_nothing(
        cluster, gateways, fake_tg):
    chats = mixed_chats(100)
    async with Citizens(gateways, fake_tg, cluster["store_dsn"]) as citizens:
        seconds = await citizens.play_all(chats)
    print(f"\n100 chats, {citizens.turns} turns through 2 gateways / 2 Rasa / 2 action servers in {seconds:.1f} s "
          f"({citizens.turns / seconds:.1f} turns/s)")
    assert set(citizens.acknowledged.values()) == {"gw1", "gw2"}
    await check_tickets(cluster, chats)
    await check_store_and_trackers(cluster, fake_tg, chats)


async def test_a_promoted_model_reaches_every_rasa_replica_and_conversations_carry_on(cluster, gateways, fake_tg):
    from motcua.retrain import Retrainer, Workspace

    chat = new_chat("complaint")
    half = Chat(chat.chat_id, chat.kind, chat.steps[:3], chat.texts[:3])
    rest = Chat(chat.chat_id, chat.kind, chat.steps[3:], chat.texts[3:])
    candidate = cluster["models"] / f"promoted-{cluster['model']}"
    shutil.copy2(cluster["models"] / cluster["model"], candidate)
    async with Citizens(gateways, fake_tg, cluster["store_dsn"]) as citizens, aiohttp.ClientSession() as http:
        await citizens.play(half)  # a complaint form half filled in…
        retrainer = Retrainer(None, http, [p.url for p in cluster["rasas"]], RASA_TOKEN,
                              Workspace(cluster["models"]), persistent_trackers=True)
        before = await retrainer.serving_names()
        assert set(before.values()) == {cluster["model"]}
        seconds = await retrainer.swap(candidate)  # …the admins promote a model…
        assert await retrainer.serving_names() == {p.url: candidate.name for p in cluster["rasas"]}
        await citizens.play(rest, first_gateway=1)  # …and the form goes on, on either replica
        chat.replies = half.replies + rest.replies
        await retrainer.swap(cluster["models"] / cluster["model"])
    print(f"\npromoted on 2 replicas, slowest swap {seconds:.2f} s")
    await check_tickets(cluster, [chat])
    await check_store_and_trackers(cluster, fake_tg, [chat])


async def test_a_gateway_killed_under_load_loses_no_acknowledged_update_and_drains_its_inbox_on_restart(
        cluster, gateways, fake_tg):
    chats = mixed_chats(30, kinds=("complaint", "dossier"))
    gw1 = gateways.procs[0]
    async with Citizens(gateways, fake_tg, cluster["store_dsn"]) as citizens:
        load = asyncio.ensure_future(citizens.play_all(chats))
        while citizens.turns < 40:
            await asyncio.sleep(0.05)
        gw1.kill()  # SIGKILL: updates it acknowledged and had not answered are in its inbox
        killed_at = time.time()
        stranded = await citizens.pool.fetchval(
            "SELECT count(*) FROM inbox WHERE owner = 'gw1' AND status = 'received'")
        await asyncio.sleep(3)
        await gateways.start(0)  # the same GATEWAY_ID comes back and answers them
        await load
        drained = await citizens.pool.fetchval(
            "SELECT count(*) FROM inbox WHERE owner = 'gw1' AND received_at < to_timestamp($1) "
            "AND processed_at > to_timestamp($1)", killed_at)
    assert stranded >= 1 and drained >= stranded
    await check_tickets(cluster, chats)
    resent = await check_store_and_trackers(cluster, fake_tg, chats, resent_ok=True)
    print(f"\nSIGKILL with {stranded} acknowledged updates unanswered; {drained} answered after the restart; "
          f"{resent} replies sent twice")


async def test_a_gateway_that_does_not_come_back_has_its_updates_taken_up_by_the_other(cluster, fake_tg):
    gws = Gateways(cluster, fake_tg, dead_after=6)
    await gws.start()
    try:
        chats = mixed_chats(20, kinds=("complaint", "dossier"))
        async with Citizens(gws, fake_tg, cluster["store_dsn"]) as citizens:
            load = asyncio.ensure_future(citizens.play_all(chats))
            while citizens.turns < 20:
                await asyncio.sleep(0.05)
            gws.procs[0].kill()
            # What gw1 had stored and not answered. (Some of it gw1 may never have acknowledged: killed
            # between its commit and its 200, the update was delivered again to gw2 — still gw1's row.)
            stranded_ids = [r["update_id"] for r in await citizens.pool.fetch(
                "SELECT update_id FROM inbox WHERE owner = 'gw1' AND status = 'received'")]
            await load
            adopted = await citizens.pool.fetchval(
                "SELECT count(*) FROM inbox WHERE owner = 'gw2' AND update_id = ANY($1::text[])",
                stranded_ids)
        stranded = len(stranded_ids)
        assert stranded >= 1 and adopted == stranded
        await check_tickets(cluster, chats)
        resent = await check_store_and_trackers(cluster, fake_tg, chats, resent_ok=True)
        print(f"\n{stranded} updates stranded in the killed gateway; {adopted} taken up by the other; "
              f"{resent} replies sent twice")
    finally:
        gws.stop()


async def test_a_rasa_server_killed_under_load_loses_nothing_and_comes_back(cluster, gateways, fake_tg):
    chats = mixed_chats(30)
    rasa1 = cluster["rasas"][0]
    async with Citizens(gateways, fake_tg, cluster["store_dsn"]) as citizens:
        load = asyncio.ensure_future(citizens.play_all(chats))
        while citizens.turns < 30:
            await asyncio.sleep(0.05)
        rasa1.kill()  # turns in flight there are redone; new turns go to rasa2
        await load
        rasa1.start()
        await rasa1.ready(f"/status?token={RASA_TOKEN}", 300, rasa_ready)
        after = mixed_chats(6)
        await citizens.play_all(after)  # both servers again
    await check_tickets(cluster, chats + after)
    await check_store_and_trackers(cluster, fake_tg, chats + after)


def _restart_postgresql() -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True,
                   capture_output=True, timeout=120)


async def test_postgresql_restarted_under_load_the_service_recovers_with_polite_replies(
        cluster, gateways, fake_tg):
    if not shutil.which("pg_ctlcluster") or os.geteuid() != 0:
        pytest.fail("restarting PostgreSQL needs pg_ctlcluster and root (as on the CI machine)")
    chats = mixed_chats(24)
    async with Citizens(gateways, fake_tg, cluster["store_dsn"]) as citizens:
        load = asyncio.ensure_future(citizens.play_all(chats))
        while citizens.turns < 25:
            await asyncio.sleep(0.05)
        await asyncio.to_thread(_restart_postgresql)
        await load
        after = mixed_chats(6)
        await citizens.play_all(after)  # and afterwards, as usual
    waits = 0
    for chat in chats:  # during the restart a citizen may be asked to wait; every turn is answered
        for replies in chat.replies:
            assert replies and all("Traceback" not in r["text"] and "Error" not in r["text"] for r in replies)
            waits += sum(is_busy(r) for r in replies)
    print(f"\nPostgreSQL restarted under {len(chats)} chats: {citizens.turns} turns answered, "
          f"{waits} polite 'please wait' replies")
    await check_tickets(cluster, after)
    await check_store_and_trackers(cluster, fake_tg, after)


async def test_a_citizen_writing_twice_quickly_through_both_gateways_is_answered_in_order(cluster, gateways, fake_tg):
    """The second message is delivered to the other gateway right after the first one was
    acknowledged, before it is answered: it waits for the first (inbox rows know their chat)."""
    await asyncio.sleep(6)  # the gateways have seen each other's heartbeat (every 5 s at most)
    chats = mixed_chats(40, kinds=("complaint",))
    async with Citizens(gateways, fake_tg, cluster["store_dsn"]) as citizens:
        async def two_at_once(chat: Chat, k: int) -> None:
            await citizens.deliver(chat.steps[0], k)
            await citizens.deliver(chat.steps[1], k + 1)
            for update in chat.steps[:2]:
                await citizens.done(update["update_id"])

        await asyncio.gather(*(two_at_once(c, k) for k, c in enumerate(chats)))
    store = await asyncpg.connect(cluster["store_dsn"])
    rasa = await asyncpg.connect(cluster["rasa_dsn"])
    try:
        for chat in chats:
            stored = await stored_messages(store, chat)
            assert [r["text"] for r in stored if r["direction"] == "in"] == chat.texts[:2]
            assert await rasa_heard(rasa, chat) == chat.texts[:2]
            # …so the form took the second message as the complaint's content and asks for its category
            assert "lĩnh vực" in fake_tg.sent(chat.chat_id)[-1]["text"].lower()
    finally:
        await store.close()
        await rasa.close()
