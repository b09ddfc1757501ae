"""A local fake of the Zalo Bot Platform API (its JSON shapes), for channel tests."""
from __future__ import annotations

import itertools
import time

from aiohttp import web


class FakeZalo:
    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[tuple[str, dict]] = []
        self.fail_next_ok_false = 0  # coming sendMessage calls answered HTTP 200 with ok: false (429)
        self.app = web.Application()
        self.app.router.add_post("/bot{token}/{method}", self.handle)

    def sent(self, chat_id: str) -> list[str]:
        return [p["text"] for m, p in self.calls if m == "sendMessage" and p["chat_id"] == chat_id]

    async def handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"})
        method = request.match_info["method"]
        params = await request.json()
        if method == "sendMessage" and self.fail_next_ok_false > 0:
            self.fail_next_ok_false -= 1
            self.calls.append(("sendMessage:fail", params))
            return web.json_response({"ok": False, "error_code": 429, "description": "Too many requests"})
        self.calls.append((method, params))
        if method == "sendMessage":
            return web.json_response({"ok": True, "result": {"message_id": f"m{len(self.calls)}",
                                                             "date": int(time.time() * 1000)}})
        if method == "getUpdates":
            return web.json_response({"ok": False, "error_code": 408, "description": "Request timeout"})
        return web.json_response({"ok": True, "result": True})


_ids = itertools.count(1)


def text_event(chat_id: str, text: str, message_id: str | None = None) -> dict:
    return {"ok": True, "result": {"event_name": "message.text.received", "message": {
        "message_id": message_id or f"zm{next(_ids)}", "date": int(time.time() * 1000), "text": text,
        "from": {"id": chat_id, "display_name": "Công dân", "is_bot": False},
        "chat": {"id": chat_id, "chat_type": "PRIVATE"}}}}


def sticker_event(chat_id: str) -> dict:
    return {"ok": True, "result": {"event_name": "message.sticker.received", "message": {
        "message_id": f"zm{next(_ids)}", "date": int(time.time() * 1000), "sticker": "s1",
        "from": {"id": chat_id}, "chat": {"id": chat_id, "chat_type": "PRIVATE"}}}}
