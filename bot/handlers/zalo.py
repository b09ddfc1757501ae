"""The Zalo Bot Platform channel (Telegram-like API: {base}/bot{token}/{method}).

Webhook deliveries carry {"ok": true, "result": {"event_name": ..., "message": {...}}} and the
secret in X-Bot-Api-Secret-Token; without ZALO_WEBHOOK_URL the bot long-polls getUpdates.
Zalo has no buttons: choices are sent as a numbered list and a number is taken as the choice.
Deliveries are deduplicated on event name + message id through the shared inbox.

A photo (`message.image.received`) is handed to Rasa as the complaint form's photo, as Telegram's
is; the Bot Platform has no location event (its events are text, image, sticker and
"unsupported"), so a place is typed there."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from typing import Any, Optional, TypeGuard
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from bot import channels, inbox
from bot.gateway import answer, require_secret
from bot.messages import NOT_TEXT, NOT_TEXT_KEPT, split_text
from bot.receipts import Accepted, send_parts
from bot.replies import Reply
from bot.state import DB, HTTP, SETTINGS
from bot.turn import Turn
from bot.typing_indicator import typing_while_slow
from motcua.settings import Settings
from motcua.store.conversations import recent_messages

log = logging.getLogger(__name__)

CHANNEL = "zalo"
MESSAGE_LIMIT = 2000
SEND_ATTEMPTS = 5
CHOICES_HEADER = "Anh/chị trả lời bằng số:"
BAD_PHOTO = "Tôi chưa mở được ảnh anh/chị vừa gửi. Anh/chị vui lòng gửi lại ảnh, hoặc mô tả sự việc bằng chữ."
BAD_PHOTO_KEPT = "[Ảnh không mở được]"  # what the conversation keeps of it
TEXT_EVENT, IMAGE_EVENT = "message.text.received", "message.image.received"
# A photo's URL rides in a message of at most 2000 characters (settings.max_message_chars).
MAX_PHOTO_URL = 1000
PHOTO_MAC_CHARS = 16


class ZaloError(Exception):
    def __init__(self, description: str, code: Optional[int] = None) -> None:
        super().__init__(description)
        self.code = code


class ZaloBot:
    """A small client of the Bot Platform API on the gateway's shared aiohttp session."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, token: str) -> None:
        self.http, self.base = http, f"{base_url}/bot{token}"

    async def call(self, method: str, http_timeout: float = 40, **params: Any) -> Any:
        """`ok: false` can come with HTTP 200: the body decides, not the status."""
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                async with self.http.post(f"{self.base}/{method}", json=params,
                                          timeout=aiohttp.ClientTimeout(total=http_timeout)) as resp:
                    body = await resp.json(content_type=None)
                    status = resp.status
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                if attempt == SEND_ATTEMPTS:
                    raise ZaloError(f"{method}: {exc!r}") from exc
                await asyncio.sleep(0.5 * attempt)
                continue
            if isinstance(body, dict) and body.get("ok"):
                return body.get("result")
            code = (body or {}).get("error_code") if isinstance(body, dict) else None
            description = (body or {}).get("description", "") if isinstance(body, dict) else str(body)
            if (code == 429 or status == 429 or status >= 500) and attempt < SEND_ATTEMPTS:
                await asyncio.sleep(float(((body or {}).get("parameters") or {}).get("retry_after", attempt)))
                continue
            raise ZaloError(f"{method}: {description or status}", code)


BOT = web.AppKey("zalo_bot", ZaloBot)


# --- photos --------------------------------------------------------------------------------
# Zalo gives a photo as a URL, which the dashboard fetches server-side. A citizen can type
# `/inform{"photo": "zalo:…"}` as well as send a photo, so the reference carries a MAC of the URL
# under the channel's own secret: the dashboard fetches only URLs that came in a verified event.

def photo_key(settings: Settings, channel: str) -> Optional[str]:
    """The secret a channel's photo references are signed with (None: the channel is not set up)."""
    return {"zalo": settings.zalo_bot_token, "zalo_oa": settings.zalo_oa_secret_key}.get(channel)


def _mac(key: str, channel: str, url: str) -> str:
    return hmac.new(key.encode(), f"motcua-photo\n{channel}\n{url}".encode(), hashlib.sha256).hexdigest()[:PHOTO_MAC_CHARS]


def web_url(url: Any) -> TypeGuard[str]:
    """An http(s) URL with a host, short enough to travel in a message."""
    if not isinstance(url, str) or len(url) > MAX_PHOTO_URL or any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def photo_ref(settings: Settings, channel: str, url: str) -> str:
    """"channel:MAC:URL", what Complaint.photo keeps for a photo received on a Zalo channel."""
    return f"{channel}:{_mac(photo_key(settings, channel) or '', channel, url)}:{url}"


def photo_url(settings: Settings, ref: str) -> Optional[str]:
    """The URL of a photo reference this gateway made; None for a forged or foreign one."""
    channel, _, rest = ref.partition(":")
    mac, _, url = rest.partition(":")
    key = photo_key(settings, channel)
    if not key or not web_url(url) or not hmac.compare_digest(mac.encode(), _mac(key, channel, url).encode()):
        return None
    return url


def inform(entity: str, value: str) -> str:
    """The message that hands Rasa an entity, as a pressed button would (`/inform{"photo": …}`)."""
    return "/inform" + json.dumps({entity: value}, ensure_ascii=False)


# --- receiving -------------------------------------------------------------------------------

async def webhook(request: web.Request) -> web.Response:
    app = request.app
    require_secret(request, "X-Bot-Api-Secret-Token", app[SETTINGS].zalo_webhook_secret)
    if BOT not in app:
        raise web.HTTPForbidden()
    try:
        body = await request.json()
    except (ValueError, json.JSONDecodeError):
        raise web.HTTPBadRequest()
    event = body.get("result", body) if isinstance(body, dict) else None
    if not isinstance(event, dict) or not event.get("event_name"):
        raise web.HTTPBadRequest()
    await receive(app, event)
    return web.json_response({"ok": True})


async def receive(app: web.Application, event: dict[str, Any]) -> None:
    message = event.get("message") or {}
    key = f"{event.get('event_name')}:{message.get('message_id', '')}"
    await inbox.receive(app, CHANNEL, key[:64], event, handle_event, chat_key=_chat_of(event) or None)


def _chat_of(event: dict[str, Any]) -> str:
    message = event.get("message") or {}
    return str((message.get("chat") or {}).get("id") or (message.get("from") or {}).get("id") or "")


async def handle_event(app: web.Application, event: dict[str, Any], turn: Turn) -> None:
    message = event.get("message") or {}
    chat_id = _chat_of(event)
    if not chat_id:
        return
    bot = app[BOT]
    name = event.get("event_name")
    photo = _photo_of(app, message) if name == IMAGE_EVENT else None
    # What the bot does not read: the conversation keeps `kept`, and `canned` is the answer.
    kept, canned = None, None
    if name == IMAGE_EVENT and photo is None:
        kept, canned = BAD_PHOTO_KEPT, [Reply(BAD_PHOTO)]
    elif photo is None and (name != TEXT_EVENT or not isinstance(message.get("text"), str)):
        kept, canned = NOT_TEXT_KEPT, [Reply(NOT_TEXT)]  # a sticker…
    async with inbox.chat_lock(app, CHANNEL, chat_id):
        text = kept or photo or await choice_payload(app, chat_id, message["text"]) or message["text"]
        async with typing_while_slow(lambda: bot.call("sendChatAction", chat_id=chat_id, action="typing"),
                                     app[SETTINGS].typing_after_seconds,
                                     lambda reply, accepted: send(app, chat_id, reply, accepted)) as send_reply:
            await answer(app, CHANNEL, chat_id, text, send_reply, turn, canned=canned)


def _photo_of(app: web.Application, message: dict[str, Any]) -> Optional[str]:
    """An image event's photo as the complaint form takes it. Its caption is not read: the photo is
    what the form waits for (the caption stays in the inbox's copy of the event)."""
    url = message.get("photo_url") or message.get("photo")
    return inform("photo", photo_ref(app[SETTINGS], CHANNEL, url)) if web_url(url) else None


async def choice_payload(app: web.Application, chat_id: str, text: str, channel: str = CHANNEL) -> Optional[str]:
    """A bare number answers the numbered list of the bot's last message, if it had one."""
    match = re.fullmatch(r"\s*(\d{1,2})\s*[.)]?\s*", text)
    if not match:
        return None
    async with app[DB].session() as session:
        last = [m for m in await recent_messages(session, channel, chat_id, limit=5) if m.direction == "out"]
    buttons = (last[-1].buttons or []) if last else []
    n = int(match.group(1))
    return buttons[n - 1]["payload"] if 1 <= n <= len(buttons) else None


# --- sending ---------------------------------------------------------------------------------

def render(reply: Reply, can_share_location: bool = False) -> str:
    """The reply as one text: buttons become a numbered list. The Bot Platform has no location
    event, so a question offering to send one is asked without that offer."""
    text = reply.shown_text(can_share_location) or ""
    if reply.buttons:
        choices = "\n".join(f"{i}. {b['title']}" for i, b in enumerate(reply.buttons, 1))
        text = f"{text}\n\n{CHOICES_HEADER}\n{choices}".strip()
    return text


async def send(app: web.Application, chat_id: str, reply: Reply, accepted: Optional[Accepted] = None) -> None:
    """The reply's parts not sent yet, each recorded through `accepted` as Zalo takes it."""
    async def send_part(i: int, part: str) -> str:
        result = await app[BOT].call("sendMessage", chat_id=chat_id, text=part or "…")
        return str(result.get("message_id") or "") if isinstance(result, dict) else ""

    await send_parts(reply, split_text(render(reply), MESSAGE_LIMIT), send_part, accepted)


class ZaloChannel:
    """Zalo Bot Platform in the channel registry: any chat may be written to at any time."""

    def __init__(self, app: web.Application) -> None:
        self.app = app

    async def send(self, chat_id: str, reply: Reply, accepted: Optional[Accepted] = None) -> None:
        await send(self.app, chat_id, reply, accepted)

    async def may_push(self, chat_id: str) -> bool:
        return True


# --- start and stop --------------------------------------------------------------------------

async def poll(app: web.Application) -> None:
    while True:
        try:
            result = await app[BOT].call("getUpdates", http_timeout=45, timeout=30)
        except ZaloError as exc:
            log.warning("zalo polling failed: %s", exc)
            await asyncio.sleep(3)
            continue
        for event in result if isinstance(result, list) else [result] if result else []:
            await receive(app, event)


async def zalo_ctx(app: web.Application):
    settings = app[SETTINGS]
    if not settings.zalo_bot_token:
        yield
        return
    app[BOT] = ZaloBot(app[HTTP], settings.zalo_api_base_url, settings.zalo_bot_token)
    channels.register(app, CHANNEL, ZaloChannel(app))
    await inbox.recover(app, CHANNEL, handle_event)
    poller = None
    try:
        if settings.zalo_webhook_url:
            await app[BOT].call("setWebhook", url=settings.zalo_webhook_url, secret_token=settings.zalo_webhook_secret)
        else:
            poller = asyncio.ensure_future(poll(app))
    except ZaloError as exc:
        log.error("could not set up Zalo: %s", exc)
    yield
    await inbox.drain(app, poller)
