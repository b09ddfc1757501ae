"""A local fake of the Telegram Bot API (the real JSON shapes), for channel tests."""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from dataclasses import dataclass

from aiohttp import web

from tests.support.serving import served

# The bot's token at the fake, and the secret "Telegram" sends with each webhook update.
TOKEN = "123456:TEST-token"
WEBHOOK_SECRET = "s3cret-webhook"


@dataclass(frozen=True)
class Taken:
    """A message the fake platform took: when its request arrived and when it answered (time.monotonic())."""

    chat_id: str
    text: str
    platform_id: str
    arrived: float
    answered: float


def running(token: str, latency: tuple[float, float] = (0.0, 0.0)) -> contextlib.AbstractAsyncContextManager["FakeTelegram"]:
    """A FakeTelegram served on a free local port; `base_url` is where the bot should call it."""
    return served(FakeTelegram(token, latency))


class FakeTelegram:
    def __init__(self, token: str, latency: tuple[float, float] = (0.0, 0.0)) -> None:
        self.token = token
        self.calls: list[tuple[str, dict]] = []
        # Each sendMessage takes a time drawn from `latency` (seconds) before it is answered, as the
        # real servers' round trip does, and the message is taken when it is answered. A request
        # whose sender is gone by then is dropped (aiohttp's test server cancels its handler): the
        # fake takes only what its sender could hear accepted. (A real platform may take a message
        # whose answer never reaches a sender that died meanwhile.)
        self.latency = latency
        self.accepted: list[Taken] = []
        self.rate_limit_next = 0  # how many coming sendMessage calls get a 429
        self.fail_next = 0  # how many coming sendMessage calls get a 502 (Telegram having trouble)
        self.hold: asyncio.Event | None = None  # while set to an unset Event, `hold_method` hangs
        self.hold_method = "sendMessage"
        self.held = 0  # calls that arrived while holding
        self._ids = itertools.count(1000)
        self.app = web.Application()
        self.app.router.add_post("/bot{token}/{method}", self.handle)
        self.app.router.add_get("/bot{token}/{method}", self.handle)
        self.app.router.add_get("/file/bot{token}/{path:.+}", self.download)
        self.files: dict[str, bytes] = {}  # file_id → content, for getFile and the download

    def sent(self, chat_id: int) -> list[dict]:
        return [p for m, p in self.calls if m == "sendMessage" and int(p["chat_id"]) == chat_id]

    def methods(self) -> list[str]:
        return [m for m, _ in self.calls]

    async def download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        file_id = request.match_info["path"].rsplit("/", 1)[-1].removesuffix(".jpg")
        return web.Response(body=self.files[file_id], content_type="image/jpeg") if file_id in self.files \
            else web.Response(status=404)

    async def handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        if request.content_type == "application/json":
            params = await request.json()
        else:
            params = dict(await request.post())
        if method == "sendMessage" and self.rate_limit_next > 0:
            self.rate_limit_next -= 1
            self.calls.append(("sendMessage:429", params))
            return web.json_response({"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                                      "parameters": {"retry_after": 1}}, status=429)
        if method == self.hold_method and self.hold is not None and not self.hold.is_set():
            self.held += 1
            await self.hold.wait()
        arrived = time.monotonic()
        if method == "sendMessage" and self.latency[1] > 0:
            await asyncio.sleep(random.uniform(*self.latency))
        if method == "sendMessage" and self.fail_next > 0:
            self.fail_next -= 1
            self.calls.append(("sendMessage:502", params))
            return web.json_response({"ok": False, "error_code": 502, "description": "Bad Gateway"}, status=502)
        self.calls.append((method, params))
        if method == "sendMessage":
            message = {"message_id": next(self._ids), "date": int(time.time()),
                       "chat": {"id": int(params["chat_id"]), "type": "private"}, "text": params["text"]}
            self.accepted.append(Taken(str(params["chat_id"]), params["text"], str(message["message_id"]), arrived,
                                          time.monotonic()))
            return web.json_response({"ok": True, "result": message})
        if method == "getMe":
            return web.json_response({"ok": True, "result": {"id": 42, "is_bot": True, "first_name": "Một Cửa Bot",
                                                             "username": "motcua_bot"}})
        if method == "getFile":
            file_id = params["file_id"]
            if file_id not in self.files:
                return web.json_response({"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"},
                                         status=400)
            return web.json_response({"ok": True, "result": {"file_id": file_id, "file_unique_id": f"u{file_id}",
                                                             "file_size": len(self.files[file_id]),
                                                             "file_path": f"photos/{file_id}.jpg"}})
        if method == "getUpdates":
            return web.json_response({"ok": True, "result": []})
        return web.json_response({"ok": True, "result": True})


_update_ids = itertools.count(500_000)


def text_update(chat_id: int, text: str, update_id: int | None = None) -> dict:
    return {"update_id": update_id or next(_update_ids),
            "message": {"message_id": next(_update_ids), "date": int(time.time()), "text": text,
                        "chat": {"id": chat_id, "type": "private", "first_name": "An"},
                        "from": {"id": chat_id, "is_bot": False, "first_name": "An"}}}


def callback_update(chat_id: int, data: str) -> dict:
    return {"update_id": next(_update_ids),
            "callback_query": {"id": str(next(_update_ids)), "chat_instance": "ci", "data": data,
                               "from": {"id": chat_id, "is_bot": False, "first_name": "An"},
                               "message": {"message_id": 1, "date": int(time.time()), "text": "…",
                                           "chat": {"id": chat_id, "type": "private"}}}}


def sticker_update(chat_id: int) -> dict:
    return {"update_id": next(_update_ids),
            "message": {"message_id": next(_update_ids), "date": int(time.time()),
                        "chat": {"id": chat_id, "type": "private"},
                        "sticker": {"file_id": "f", "file_unique_id": "u", "width": 512, "height": 512,
                                    "is_animated": False, "is_video": False, "type": "regular"}}}


def group_callback(group_id: int, user_id: int, data: str, message_id: int = 1) -> dict:
    """An official pressed a button on a bot's post in the officials' group."""
    return {"update_id": next(_update_ids),
            "callback_query": {"id": str(next(_update_ids)), "chat_instance": "g", "data": data,
                               "from": {"id": user_id, "is_bot": False, "first_name": "Cán bộ", "last_name": "Lâm"},
                               "message": {"message_id": message_id, "date": int(time.time()), "text": "…",
                                           "chat": {"id": group_id, "type": "supergroup", "title": "Cán bộ"}}}}


def group_reply(group_id: int, user_id: int, text: str, to_message_id: int, to_text: str) -> dict:
    """An official's message in the group, sent as a reply to one of the bot's messages."""
    return {"update_id": next(_update_ids),
            "message": {"message_id": next(_update_ids), "date": int(time.time()), "text": text,
                        "chat": {"id": group_id, "type": "supergroup", "title": "Cán bộ"},
                        "from": {"id": user_id, "is_bot": False, "first_name": "Cán bộ", "last_name": "Lâm"},
                        "reply_to_message": {"message_id": to_message_id, "date": int(time.time()), "text": to_text,
                                             "chat": {"id": group_id, "type": "supergroup", "title": "Cán bộ"},
                                             "from": {"id": 42, "is_bot": True, "first_name": "Một Cửa Bot"}}}}


def photo_update(chat_id: int, file_id: str) -> dict:
    sizes = [{"file_id": f"{file_id}-small", "file_unique_id": "s", "width": 90, "height": 90},
             {"file_id": file_id, "file_unique_id": "b", "width": 1280, "height": 960}]
    return {"update_id": next(_update_ids),
            "message": {"message_id": next(_update_ids), "date": int(time.time()), "photo": sizes,
                        "chat": {"id": chat_id, "type": "private"}, "from": {"id": chat_id, "is_bot": False,
                                                                               "first_name": "An"}}}


def location_update(chat_id: int, latitude: float, longitude: float) -> dict:
    return {"update_id": next(_update_ids),
            "message": {"message_id": next(_update_ids), "date": int(time.time()),
                        "location": {"latitude": latitude, "longitude": longitude},
                        "chat": {"id": chat_id, "type": "private"}, "from": {"id": chat_id, "is_bot": False,
                                                                               "first_name": "An"}}}
