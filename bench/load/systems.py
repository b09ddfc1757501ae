"""The two systems under load, one turn at a time: ours through the Telegram webhook, its replies
read at the fake Bot API (which notes when each sendMessage arrives); the baseline over Rasa's REST
channel."""
from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Optional

import aiohttp
from aiohttp import web

from bench.load.common import SECRET
from bench.load.scripts import Ctx, Script, Step, markup_buttons, resolve
from tests.support.fake_telegram import FakeTelegram, callback_update, text_update


class FakeBotAPI(FakeTelegram):
    """tests/support/fake_telegram.py's fake, recording when each sendMessage arrives, per chat."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.inbox: dict[int, list[tuple[float, dict]]] = defaultdict(list)
        self.signals: dict[int, asyncio.Event] = {}
        self.keep_calls = True

    async def handle(self, request: web.Request) -> web.Response:
        resp = await super().handle(request)
        # No await between the parent's append to self.calls and here: calls[-1] is this request's.
        if request.match_info["method"] == "sendMessage" and resp.status == 200:
            t = time.perf_counter()
            params = self.calls[-1][1]
            chat = int(params["chat_id"])
            self.inbox[chat].append((t, params))
            event = self.signals.get(chat)
            if event is not None:
                event.set()
        if not self.keep_calls:
            self.calls.clear()
        return resp

    async def wait_count(self, chat: int, n: int, deadline: float) -> bool:
        """Until chat has at least n sendMessages (True) or the deadline passes (False)."""
        event = self.signals.setdefault(chat, asyncio.Event())
        while len(self.inbox[chat]) < n:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return False
            event.clear()
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except asyncio.TimeoutError:
                return len(self.inbox[chat]) >= n
        return True

    async def wait_quiet(self, chat: int, start: int, quiet: float, deadline: float) -> int:
        """Calibration: how many sendMessages came after `start` before `quiet` s of silence."""
        if not await self.wait_count(chat, start + 1, deadline):
            return 0
        while True:
            n = len(self.inbox[chat])
            last = self.inbox[chat][-1][0]
            await asyncio.sleep(max(0.0, last + quiet - time.perf_counter()))
            if len(self.inbox[chat]) == n:
                return n - start

@dataclass
class Turn:
    ok: bool
    latency: Optional[float] = None
    wrong: bool = False
    replies: int = 0
    last_text: str = ""
    error: str = ""


class OurSystem:
    """The whole bot, through the Telegram webhook, replies read at the fake Bot API."""

    name = "ours"

    def __init__(self, bases: list[str], fake: FakeBotAPI, http: aiohttp.ClientSession, timeout: float) -> None:
        self.urls = [f"{base}/telegram/webhook" for base in bases]
        self.posts = [0] * len(self.urls)  # updates sent to each gateway
        self.fake = fake
        self.http = http
        self.timeout = timeout
        self.counts: dict[tuple[str, Any], int] = {}  # replies per (script, step), from calibration
        self.inconsistent: list[str] = []
        self._chats = itertools.count(10_000_001)

    def new_chat(self) -> int:
        return next(self._chats)

    async def turn(self, script: Script, step: Step, key: Any, ctx: Ctx, quiet: Optional[float] = None) -> Turn:
        if step.press:
            button = next((b for p in ctx.last for b in markup_buttons(p)
                           if b.get("text", "").startswith(step.press)), None)
            typed = next((b["text"] for p in ctx.last for b in markup_buttons(p, "keyboard")
                          if b.get("text", "").startswith(step.press)), None)
            if button is not None:
                update = callback_update(ctx.chat, button["callback_data"])
            elif typed is not None:
                update = text_update(ctx.chat, typed)
            else:
                titles = [b.get("text") for p in ctx.last for b in markup_buttons(p) + markup_buttons(p, "keyboard")]
                return Turn(ok=False, error=f"no button {step.press!r} among {titles}")
        else:
            update = text_update(ctx.chat, resolve(step.say, ctx))
        # Like a round-robin proxy in front of the gateways: a chat's updates alternate between
        # them, so consecutive turns of one conversation are taken in by different gateways.
        gw = (ctx.first + ctx.posts) % len(self.urls)
        ctx.posts += 1
        self.posts[gw] += 1
        start = len(self.fake.inbox[ctx.chat])
        t0 = time.perf_counter()
        deadline = t0 + self.timeout
        try:
            async with self.http.post(self.urls[gw], json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                                      timeout=aiohttp.ClientTimeout(total=self.timeout)) as r:
                await r.read()
                if r.status != 200:
                    return Turn(ok=False, error=f"webhook HTTP {r.status}")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            return Turn(ok=False, error=f"webhook {type(exc).__name__}")
        if quiet is not None:  # calibration
            n = await self.fake.wait_quiet(ctx.chat, start, quiet, deadline)
            if n == 0:
                return Turn(ok=False, error="no reply")
            previous = self.counts.setdefault((script.name, key), n)
            if previous != n:
                self.inconsistent.append(f"{script.name} step {key}: {previous} then {n} replies")
        else:
            n = self.counts.get((script.name, key))
            if n is None:
                return Turn(ok=False, error=f"step {key!r} was not seen in calibration")
            if not await self.fake.wait_count(ctx.chat, start + n, deadline):
                return Turn(ok=False, error="timeout", replies=len(self.fake.inbox[ctx.chat]) - start)
        got = self.fake.inbox[ctx.chat][start:start + n]
        ctx.last = [p for _, p in got]
        text = ctx.last[-1].get("text", "")
        expect = resolve(step.expect, ctx)
        return Turn(ok=True, latency=got[-1][0] - t0, wrong=bool(expect) and expect not in text, replies=n,
                    last_text=text)

    def extra_replies(self, chats: dict[Any, int]) -> int:
        """Replies beyond the calibrated counts, per chat that ended without error."""
        return sum(max(0, len(self.fake.inbox[c]) - n) for c, n in chats.items())


class BaselineSystem:
    """A Rasa server over its REST channel: the answer carries all the turn's replies."""

    name = "baseline"

    def __init__(self, base: str, http: aiohttp.ClientSession, timeout: float) -> None:
        self.url = f"{base}/webhooks/rest/webhook"
        self.http = http
        self.timeout = timeout
        self._chats = itertools.count(1)
        self.counts: dict = {}

    def new_chat(self) -> str:
        return f"bench-{next(self._chats)}"

    async def turn(self, script: Script, step: Step, key: Any, ctx: Ctx, quiet: Optional[float] = None) -> Turn:
        t0 = time.perf_counter()
        try:
            async with self.http.post(self.url, json={"sender": ctx.chat, "message": resolve(step.say, ctx)},
                                      timeout=aiohttp.ClientTimeout(total=self.timeout)) as r:
                body = await r.json(content_type=None) if r.status == 200 else None
                latency = time.perf_counter() - t0
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            return Turn(ok=False, error=type(exc).__name__)
        if not body:
            return Turn(ok=False, error=f"HTTP {r.status}" if body is None else "no reply")
        ctx.last = body
        text = str(body[-1].get("text", ""))
        expect = resolve(step.expect, ctx)
        return Turn(ok=True, latency=latency, replies=len(body), last_text=text, wrong=bool(expect) and expect not in text)

    def extra_replies(self, chats: dict[Any, int]) -> int:
        return 0

