"""The web chat channel: the page at `/` and its JSON endpoint (Rasa REST channel shape)."""
from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from bot import messages
from bot.gateway import converse
from bot.remote import client_address, client_key
from bot.state import DB, SETTINGS
from motcua.store import rate_limits
from motcua.store.conversations import last_pushed_id, pushed_messages

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
# The sender id is the conversation's only key: a random UUID made by the page (crypto.randomUUID or
# crypto.getRandomValues); anything else is refused. It never travels in a URL (proxy logs).
_SENDER = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SENDER_HEADER = "X-Webchat-Sender"


def _error(status: int, text: str) -> web.Response:
    return web.json_response([{"text": text}], status=status)


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "webchat.html", headers={"Cache-Control": "no-cache"})


def _from_elsewhere(request: web.Request) -> bool:
    """A browser on another site posting here (its Origin is not this host)."""
    origin = request.headers.get("Origin")
    return origin is not None and urlsplit(origin).netloc.lower() != request.host.lower()


async def post_message(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if request.content_type != "application/json":
        return _error(415, messages.BAD_REQUEST)
    if _from_elsewhere(request):
        return _error(403, messages.BAD_REQUEST)
    # Read at most the limit: a 256 KB body is refused before it is read, cleaned or stored.
    if (request.content_length or 0) > settings.webchat_max_body:
        return _error(413, messages.TOO_LONG.format(limit=settings.max_message_chars))
    raw = await request.content.read(settings.webchat_max_body + 1)
    if len(raw) > settings.webchat_max_body:
        return _error(413, messages.TOO_LONG.format(limit=settings.max_message_chars))
    if settings.webchat_rate_per_minute > 0:
        async with request.app[DB].session() as session, session.begin():
            allowed = await rate_limits.allow(session, f"webchat:{client_address(request)}",
                                              settings.webchat_rate_per_minute)
        if not allowed:
            return _error(429, messages.TOO_FAST)
    try:
        body = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, messages.BAD_REQUEST)
    if not isinstance(body, dict):
        return _error(400, messages.BAD_REQUEST)
    sender, text = body.get("sender"), body.get("message")
    if not isinstance(sender, str) or not _SENDER.match(sender.lower()) or not isinstance(text, (str, type(None))):
        return _error(400, messages.BAD_REQUEST)
    sender = sender.lower()
    replies = await converse(request.app, "web", sender, text or "", {"client": client_key(request)})
    return web.json_response([r.as_json(can_share_location=False) for r in replies])


async def get_updates(request: web.Request) -> web.Response:
    """Messages the bot sent on its own (dossier notifications) since `after`; the page polls this,
    naming its chat in the X-Webchat-Sender header. Without `after`, only the newest id is
    returned, so a new page starts from now; a malformed `after` is a 400."""
    sender = request.headers.get(SENDER_HEADER, "").lower()
    if not _SENDER.match(sender):
        return _error(400, messages.BAD_REQUEST)
    async with request.app[DB].session() as session:
        after = request.query.get("after", "")
        if not after:
            return web.json_response({"last": await last_pushed_id(session, "web", sender), "messages": []})
        if not (after.isascii() and after.isdigit() and len(after) <= 18):  # "²" or 30 digits: not an id
            return _error(400, messages.BAD_REQUEST)
        rows = await pushed_messages(session, "web", sender, int(after))
    return web.json_response({"last": rows[-1].id if rows else int(after),
                              "messages": [{"text": m.text, "buttons": m.buttons or []} for m in rows]})
