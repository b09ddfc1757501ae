"""A local fake of the Rasa server the gateway talks to (REST webhook, tracker, status), for tests
of the gateway's own machinery that need no model: every message gets the same few replies,
naming it, and is kept in its sender's tracker with its metadata as Rasa keeps it (a gateway
that processes an update again reads its answer back from there)."""
from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Callable

from aiohttp import web

from tests.support.serving import served


def numbered_replies(text: str, count: int = 3) -> list[str]:
    """The default answer: "1/3 <text>", "2/3 <text>", "3/3 <text>"."""
    return [f"{i}/{count} {text}" for i in range(1, count + 1)]


class FakeRasa:
    def __init__(self, answer: Callable[[str], list[str]] = numbered_replies,
                 latency: tuple[float, float] = (0.0, 0.0)) -> None:
        self.answer = answer
        self.latency = latency
        self.trackers: dict[str, list[dict]] = {}
        self.turns = 0
        self.base_url = ""
        self.app = web.Application()
        self.app.router.add_post("/webhooks/rest/webhook", self.webhook)
        self.app.router.add_get("/conversations/{sender}/tracker", self.tracker)
        self.app.router.add_get("/status", self.status)

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.latency[1] > 0:
            await asyncio.sleep(random.uniform(*self.latency))
        texts = self.answer(body["message"])
        events = self.trackers.setdefault(body["sender"], [])
        events.append({"event": "user", "text": body["message"], "metadata": body.get("metadata") or {}})
        events.extend({"event": "bot", "text": t, "data": {}} for t in texts)
        self.turns += 1
        return web.json_response([{"recipient_id": body["sender"], "text": t} for t in texts])

    async def tracker(self, request: web.Request) -> web.Response:
        sender = request.match_info["sender"]
        return web.json_response({"sender_id": sender, "events": self.trackers.get(sender, [])})

    async def status(self, request: web.Request) -> web.Response:
        return web.json_response({"model_file": "fake.tar.gz", "model_id": "fake"})


def running(**kwargs) -> contextlib.AbstractAsyncContextManager["FakeRasa"]:
    """A FakeRasa on a free local port; `base_url` is its RASA_URL."""
    return served(FakeRasa(**kwargs))
