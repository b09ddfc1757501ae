"""A local fake of the Zalo Bot Platform API (its JSON shapes), for channel tests, and of the
server a photo a citizen sent is downloaded from (Bot Platform and OA alike)."""
from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import random
import time

from aiohttp import web

from tests.support.fake_telegram import Taken
from tests.support.serving import served

# A 1×1 PNG: what the photo server serves in the tests.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")


def serve_files(app: web.Application, files: dict[str, tuple[bytes, str]], fetched: list[str]) -> None:
    """GET /files/{name}: `files[name]` (body, content type), as Zalo's image server would; 404 for
    an unknown name. Every request's name is appended to `fetched`."""
    async def get_file(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        fetched.append(name)
        if name not in files:
            return web.Response(status=404, text="Not Found")
        body, content_type = files[name]
        return web.Response(body=body, content_type=content_type)

    app.router.add_get("/files/{name}", get_file)


def running(token: str, latency: tuple[float, float] = (0.0, 0.0)) -> contextlib.AbstractAsyncContextManager["FakeZalo"]:
    """A FakeZalo served on a free local port; `base_url` is where the bot should call it."""
    return served(FakeZalo(token, latency))


class FakeZalo:
    def __init__(self, token: str, latency: tuple[float, float] = (0.0, 0.0)) -> None:
        self.token = token
        self.calls: list[tuple[str, dict]] = []
        self.fail_next_ok_false = 0  # coming sendMessage calls answered HTTP 200 with ok: false (429)
        # As FakeTelegram's: each sendMessage answered after a time drawn from `latency`, and taken then.
        self.latency = latency
        self.accepted: list[Taken] = []
        self.base_url = ""
        self.files: dict[str, tuple[bytes, str]] = {}  # photos citizens sent, by name under /files/
        self.fetched: list[str] = []
        self.app = web.Application()
        self.app.router.add_post("/bot{token}/{method}", self.handle)
        serve_files(self.app, self.files, self.fetched)

    def sent(self, chat_id: str) -> list[str]:
        return [p["text"] for m, p in self.calls if m == "sendMessage" and p["chat_id"] == chat_id]

    async def handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"})
        method = request.match_info["method"]
        params = await request.json()
        arrived = time.monotonic()
        if method == "sendMessage" and self.latency[1] > 0:
            await asyncio.sleep(random.uniform(*self.latency))
        if method == "sendMessage" and self.fail_next_ok_false > 0:
            self.fail_next_ok_false -= 1
            self.calls.append(("sendMessage:fail", params))
            return web.json_response({"ok": False, "error_code": 429, "description": "Too many requests"})
        self.calls.append((method, params))
        if method == "sendMessage":
            message_id = f"m{len(self.calls)}"
            self.accepted.append(Taken(params["chat_id"], params["text"], message_id, arrived, time.monotonic()))
            return web.json_response({"ok": True, "result": {"message_id": message_id,
                                                             "date": int(time.time() * 1000)}})
        if method == "getUpdates":
            return web.json_response({"ok": False, "error_code": 408, "description": "Request timeout"})
        return web.json_response({"ok": True, "result": True})


_ids = itertools.count(1)
# The bot the tests' gateway is configured with, and its webhook secret.
TOKEN = "9876:zalo-test"
SECRET = "zalo-s3cret"


def text_event(chat_id: str, text: str, message_id: str | None = None) -> dict:
    return {"ok": True, "result": {"event_name": "message.text.received", "message": {
        "message_id": message_id or f"zm{next(_ids)}", "date": int(time.time() * 1000), "text": text,
        "from": {"id": chat_id, "display_name": "Công dân", "is_bot": False},
        "chat": {"id": chat_id, "chat_type": "PRIVATE"}}}}


def sticker_event(chat_id: str) -> dict:
    return {"ok": True, "result": {"event_name": "message.sticker.received", "message": {
        "message_id": f"zm{next(_ids)}", "date": int(time.time() * 1000), "sticker": "s1",
        "from": {"id": chat_id}, "chat": {"id": chat_id, "chat_type": "PRIVATE"}}}}


def image_event(chat_id: str, url: str, caption: str | None = None, field: str = "photo_url") -> dict:
    """A photo a citizen sent; its URL in `photo_url` or (older shape) `photo`."""
    message = {"message_id": f"zm{next(_ids)}", "date": int(time.time() * 1000), field: url,
               "from": {"id": chat_id, "display_name": "Công dân", "is_bot": False},
               "chat": {"id": chat_id, "chat_type": "PRIVATE"}}
    if caption is not None:
        message["caption"] = caption
    return {"ok": True, "result": {"event_name": "message.image.received", "message": message}}
