"""Sent once (issue 20): a real gateway process is killed (SIGKILL) 20 times while replies go out
to 12 Telegram and 12 Zalo chats, and started again each time (as systemd would), on each store
(SQLite, PostgreSQL). The fake Bot
API and Zalo answer each sendMessage after 100–300 ms, as the real servers' round trips take, and
take the message when they answer (tests/support/fake_telegram.py). Then for every chat: every
message the gateway acknowledged is answered, in order; a reply part reaches the citizen twice
only when the kill fell between the platform's answer and the gateway's write of it — never a
part the gateway had written down, so at most one part per chat and kill, and never the earlier
replies of the turn, which the gateway used to send again. How many, and how far from the kill,
is printed. Rasa is a fake too (three replies per message, the third long on every third message,
so that it goes out in parts): the gateway's own machinery is what is under test."""
from __future__ import annotations

import asyncio
import itertools
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from sqlalchemy import func, select

from bot.handlers import telegram as tg_channel
from bot.handlers import zalo as zalo_channel
from bot.messages import split_text
from motcua.store import Database
from motcua.store.models import InboxUpdate

from tests.support import fake_rasa, fake_telegram, fake_zalo
from tests.support.fake_telegram import TOKEN, WEBHOOK_SECRET, Taken, text_update
from tests.support.fake_zalo import text_event
from tests.support.processes import GATEWAY_PYTHON, Process, free_port

KILLS = 20
CHATS = 12  # per channel, each with a message in flight at every kill
LATENCY = (0.1, 0.3)  # seconds per sendMessage, as Telegram's and Zalo's servers answer
ZALO_TOKEN, ZALO_SECRET = "9876:zalo-test", "zalo-s3cret"
LONG = "\n".join(f"Dòng {i}: " + "chữ " * 60 for i in range(25))  # ~6,500 characters: parts on both


def answer(text: str) -> list[str]:
    """The fake Rasa's replies: three, the third long on every third message ("… dài")."""
    return [f"1/3 {text}", f"2/3 {text}", f"3/3 {text}" + (f"\n{LONG}" if text.endswith("dài") else "")]


@dataclass
class Chat:
    channel: str
    chat_id: str
    limit: int
    acknowledged: list[str] = field(default_factory=list)  # texts the gateway answered 200 for
    pending: list[tuple[str, dict]] = field(default_factory=list)  # deliveries to try again

    def expected(self) -> list[tuple[int, str]]:
        """Every part of every reply to what was acknowledged, in order, with its message's number."""
        return [(n, part) for n, text in enumerate(self.acknowledged) for reply in answer(text)
                for part in split_text(reply, self.limit)]


class Citizens:
    def __init__(self, gateway: Process) -> None:
        self.gateway = gateway
        self.chats = ([Chat("telegram", str(7_300_000 + i), tg_channel.MESSAGE_LIMIT) for i in range(CHATS)]
                      + [Chat("zalo", f"zalo-kill-{i}", zalo_channel.MESSAGE_LIMIT) for i in range(CHATS)])
        self._ids = itertools.count(800_000)

    def write(self, round_no: int) -> None:
        for chat in self.chats:
            text = f"tin {round_no} của {chat.chat_id}" + (" dài" if round_no % 3 == 2 else "")
            if chat.channel == "telegram":
                chat.pending.append((text, text_update(int(chat.chat_id), text, update_id=next(self._ids))))
            else:
                chat.pending.append((text, text_event(chat.chat_id, text)))

    async def deliver(self, http: aiohttp.ClientSession) -> None:
        """Every pending delivery, each chat's in order, chats at once; one not acknowledged (the
        gateway died) stays pending and is delivered again, as the platforms do."""
        async def one(chat: Chat) -> None:
            while chat.pending:
                text, body = chat.pending[0]
                path, header, secret = (("/telegram/webhook", "X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET)
                                        if chat.channel == "telegram"
                                        else ("/zalo/webhook", "X-Bot-Api-Secret-Token", ZALO_SECRET))
                try:
                    async with http.post(self.gateway.url + path, json=body, headers={header: secret},
                                         timeout=aiohttp.ClientTimeout(total=5)) as r:
                        if r.status != 200:
                            return
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    return
                chat.acknowledged.append(text)
                chat.pending.pop(0)

        await asyncio.gather(*(one(chat) for chat in self.chats))


def cpu_seconds(pid: int) -> float:
    """CPU time a process used so far (user + system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def unfinished(db: Database) -> int:
    async with db.session() as session:
        return await session.scalar(select(func.count()).select_from(InboxUpdate).where(InboxUpdate.status == "received"))


@dataclass
class Double:
    chat: Chat
    first: Taken
    kill: float  # the kill it fell at

    @property
    def in_flight(self) -> bool:
        """The platform answered after the kill: it took a part whose sender was dying."""
        return self.first.answered >= self.kill


def check(chat: Chat, taken: list[Taken], kills: list[float]) -> tuple[list[Double], list[tuple[int, Taken]]]:
    """The chat got every expected part in order: the doubles, each at the kill it fell at, and each
    part's first copy with its message's number."""
    expected, doubles, firsts, i = chat.expected(), [], [], 0
    for n, t in enumerate(taken):
        if i < len(expected) and t.text == expected[i][1]:
            firsts.append((expected[i][0], t))
            i += 1
            continue
        # Not the next part: only the part just sent may come again, after the restart.
        assert i > 0 and t.text == expected[i - 1][1], (chat.chat_id, n, t.text[:40], i and expected[i - 1][1][:40])
        previous = taken[n - 1]  # the copy before (a part may be cut off again after the restart)
        kill = next((k for k in kills if k > previous.arrived), None)
        assert kill is not None and kill < t.arrived, (chat.chat_id, t.text[:40], "sent twice with no kill between")
        doubles.append(Double(chat, previous, kill))
    assert i == len(expected), (chat.chat_id, f"{i} of {len(expected)} parts", expected[i][1][:40])
    return doubles, firsts


def before_this_change(firsts: list[tuple[int, Taken]], kills: list[float]) -> int:
    """About what the gateway sent twice before this change, when it sent every stored reply of an
    update cut off again: at each kill, every part of the chat's message then going out that had
    reached the platform, unless its last part was back already (the turn was done)."""
    total = 0
    for kill in kills:
        reached = [(m, t) for m, t in firsts if t.arrived < kill]
        if not reached:
            continue
        going = reached[-1][0]
        last = [t for m, t in firsts if m == going][-1]
        if last.answered >= kill:
            total += sum(1 for m, _ in reached if m == going)
    return total


async def test_a_gateway_killed_20_times_while_replies_go_out_sends_each_reply_once(store_url, tmp_path):
    random.seed(20)  # the kills' moments and the fakes' latencies (the machine's timing varies anyway)
    db = Database(store_url)
    async with fake_rasa.running(answer=answer, latency=(0.01, 0.05)) as rasa, \
            fake_telegram.running(TOKEN, latency=LATENCY) as tg, \
            fake_zalo.running(ZALO_TOKEN, latency=LATENCY) as zalo:
        port = free_port()
        env = {"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1", "PORT": str(port), "GATEWAY_ID": "gw-kill",
               "DATABASE_URL": store_url, "CASE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cases.db'}",
               "RASA_URL": rasa.base_url, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
               "TELEGRAM_WEBHOOK_URL": "https://bot.example.invalid/telegram/webhook",
               "TELEGRAM_API_BASE_URL": tg.base_url, "ZALO_BOT_TOKEN": ZALO_TOKEN, "ZALO_WEBHOOK_SECRET": ZALO_SECRET,
               "ZALO_WEBHOOK_URL": "https://bot.example.invalid/zalo/webhook", "ZALO_API_BASE_URL": zalo.base_url,
               "DOSSIER_WATCH_SECONDS": "0", "ESCALATION_CHECK_SECONDS": "0", "OUTBOX_SECONDS": "0",
               "OFFICIALS_FEED_SECONDS": "0"}
        gateway = Process("gateway", [GATEWAY_PYTHON, "-m", "bot"], env, tmp_path / "gw.log", f"http://127.0.0.1:{port}")
        citizens = Citizens(gateway)
        kills: list[float] = []
        busy = []  # the gateway's CPU share while replies went out, per round
        t0 = time.monotonic()
        await gateway.start().ready("/healthz", 60)
        try:
            async with aiohttp.ClientSession() as http:
                for round_no in range(KILLS):
                    citizens.write(round_no)
                    cpu0, wall0 = cpu_seconds(gateway.pid), time.monotonic()
                    await citizens.deliver(http)
                    await asyncio.sleep(random.uniform(0.05, 1.2))  # replies are going out…
                    kills.append(time.monotonic())
                    busy.append((cpu_seconds(gateway.pid) - cpu0) / (kills[-1] - wall0))
                    gateway.kill()  # …SIGKILL
                    await gateway.start().ready("/healthz", 60)
                await citizens.deliver(http)  # what the last kill left unacknowledged
                for _ in range(600):
                    if await unfinished(db) == 0:
                        break
                    await asyncio.sleep(0.1)
                await asyncio.sleep(0.5)
        finally:
            gateway.stop()
        seconds = time.monotonic() - t0

        left = await unfinished(db)
        await db.dispose()
    assert left == 0, gateway.tail()
    taken: dict[str, list[Taken]] = {}
    for t in tg.accepted + zalo.accepted:
        taken.setdefault(t.chat_id, []).append(t)
    for parts in taken.values():
        parts.sort(key=lambda t: t.answered)
    doubles, old = [], 0
    for chat in citizens.chats:
        mine, firsts = check(chat, taken.get(chat.chat_id, []), kills)
        doubles += mine
        old += before_this_change(firsts, kills)
    # Never more than the one part a chat had with the platform when the gateway died.
    per_kill = [(d.chat.chat_id, d.kill) for d in doubles]
    assert len(per_kill) == len(set(per_kill)), "a chat got more than one part twice at one kill"
    in_flight = [d for d in doubles if d.in_flight]
    written_late = [d for d in doubles if not d.in_flight]  # answered before the kill, not yet written
    gaps = sorted(1000 * (d.kill - d.first.answered) for d in written_late)
    # Before, every reply already sent for an update cut off went again: many times more.
    assert len(doubles) * 4 <= old, (len(doubles), old)
    parts = sum(len(c.expected()) for c in citizens.chats)
    for channel in ("telegram", "zalo"):
        chats = [c for c in citizens.chats if c.channel == channel]
        mine = [d for d in doubles if d.chat.channel == channel]
        print(f"\n{store_url.split(':')[0]}, {channel}: {KILLS} kills, {len(chats)} chats, "
              f"{sum(len(c.acknowledged) for c in chats)} messages "
              f"acknowledged and answered, {sum(len(c.expected()) for c in chats)} reply parts; sent twice: "
              f"{sum(not d.in_flight for d in mine)} answered before the kill and not yet written, "
              f"{sum(d.in_flight for d in mine)} with the platform when the gateway died")
    print(f"all: {parts} parts, {len(written_late)} doubles in the write window (gaps ms: "
          f"{[round(g, 1) for g in gaps]}), {len(in_flight)} in flight; before this change about {old} would have been "
          f"sent twice; gateway CPU while replies went out {100 * sum(busy) / len(busy):.0f} % of a core; {seconds:.0f} s")
