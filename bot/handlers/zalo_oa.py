"""A district's Zalo Official Account (OA API v3).

Webhook events (`user_send_text`, …) are verified by X-ZEvent-Signature =
"mac=" + sha256(app id + raw body + timestamp + OA secret key), deduplicated on the message id
through the shared inbox, and answered with customer-service messages
(POST {base}/v3.0/oa/message/cs, token in the `access_token` header). An expired access token is
refreshed with the refresh token (OAuth v4), and the new pair is kept in the store, since Zalo
invalidates a refresh token once used. Messages the bot sends on its own outside the reply window
are not sent and are recorded as such.

A photo (`user_send_image`) and a shared location (`user_send_location`, coordinates as strings)
are handed to Rasa as the complaint form's photo and place, as Telegram's are."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import math
import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

import aiohttp
from aiohttp import web

from bot import channels, inbox
from bot.gateway import answer
from bot.handlers.zalo import BAD_PHOTO, BAD_PHOTO_KEPT, choice_payload, inform, photo_ref, render, web_url
from bot.messages import NOT_TEXT, NOT_TEXT_KEPT, split_text
from bot.receipts import Accepted, send_parts
from bot.replies import Reply
from bot.state import DB, HTTP, SETTINGS
from bot.turn import Turn
from motcua.store.cases import as_utc
from motcua.store.conversations import last_message_in
from motcua.store.models import OaToken
from motcua.store.sql import upsert

log = logging.getLogger(__name__)

CHANNEL = "zalo_oa"
# How far an event's timestamp may be from our clock (OA timestamps are milliseconds).
REPLAY_WINDOW_MS = 5 * 60 * 1000
MESSAGE_LIMIT = 2000
# OA API errors that mean "the access token is no longer valid".
TOKEN_ERRORS = {-216, -124, -118}
BAD_LOCATION = ("Tôi chưa đọc được vị trí anh/chị vừa gửi. Anh/chị vui lòng gửi lại vị trí, "
                "hoặc nhập địa chỉ bằng chữ (thôn, xã, đường).")
BAD_LOCATION_KEPT = "[Vị trí không đọc được]"  # what the conversation keeps of it
# Zalo sends coordinates as strings: plain decimal numbers only (float() would also take "nan",
# "1e2" and digits of other scripts).
COORDINATE = re.compile(r"-?\d{1,3}(?:\.\d{1,20})?", re.ASCII)


class BadInput(Exception):
    """An event whose content cannot be read; the citizen is told `reply`, the conversation keeps `kept`."""

    def __init__(self, reply: str, kept: str) -> None:
        super().__init__(reply)
        self.reply, self.kept = reply, kept


class OaError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class OaClient:
    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.settings = app[SETTINGS]
        self.http: aiohttp.ClientSession = app[HTTP]
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        async with self.app[DB].session() as session:
            row = await session.get(OaToken, self.settings.zalo_oa_app_id or "")
        return row.access_token if row else (self.settings.zalo_oa_access_token or "")

    async def refresh(self, stale: str) -> str:
        """One refresh at a time; a caller that waited finds the new token already there."""
        async with self._lock:
            current = await self.token()
            if current != stale:
                return current
            async with self.app[DB].session() as session:
                row = await session.get(OaToken, self.settings.zalo_oa_app_id or "")
            refresh_token = (row.refresh_token if row else None) or self.settings.zalo_oa_refresh_token
            if not refresh_token or not self.settings.zalo_oa_app_secret:
                raise OaError(-216, "access token expired and no refresh token or app secret is configured")
            async with self.http.post(f"{self.settings.zalo_oa_oauth_base_url}/v4/oa/access_token",
                                      headers={"secret_key": self.settings.zalo_oa_app_secret},
                                      data={"refresh_token": refresh_token, "app_id": self.settings.zalo_oa_app_id,
                                            "grant_type": "refresh_token"}) as resp:
                body = await resp.json(content_type=None)
            if not body.get("access_token"):
                raise OaError(int(body.get("error") or -1), str(body.get("error_description") or body))
            expires = datetime.now(timezone.utc) + timedelta(seconds=int(body.get("expires_in") or 0))
            async with self.app[DB].session() as session, session.begin():
                await upsert(session, OaToken.__table__, [{
                    "app_id": self.settings.zalo_oa_app_id or "", "access_token": body["access_token"],
                    "refresh_token": body.get("refresh_token") or refresh_token, "expires_at": expires,
                    "updated_at": datetime.now(timezone.utc)}], key=["app_id"])
            log.info("Zalo OA access token refreshed")
            return body["access_token"]

    async def send_text(self, user_id: str, text: str) -> str:
        """The message's id at Zalo once it is accepted."""
        token = await self.token()
        for attempt in (1, 2):
            async with self.http.post(f"{self.settings.zalo_oa_api_base_url}/v3.0/oa/message/cs",
                                      headers={"access_token": token},
                                      json={"recipient": {"user_id": user_id}, "message": {"text": text}}) as resp:
                body = await resp.json(content_type=None)
            code = int(body.get("error") or 0)
            if code == 0:
                data = body.get("data")
                return str(data.get("message_id") or "") if isinstance(data, dict) else ""
            if code in TOKEN_ERRORS and attempt == 1:
                token = await self.refresh(token)
                continue
            raise OaError(code, str(body.get("message")))
        raise OaError(-1, "unreachable")  # the loop returns or raises


OA = web.AppKey("zalo_oa", OaClient)


def signature(app_id: str, raw_body: str, timestamp: str, secret: str) -> str:
    return "mac=" + hashlib.sha256(f"{app_id}{raw_body}{timestamp}{secret}".encode()).hexdigest()


async def webhook(request: web.Request) -> web.Response:
    app = request.app
    settings = app[SETTINGS]
    raw = await request.text()
    try:
        event = json.loads(raw)
        timestamp = str(event.get("timestamp", ""))
    except (ValueError, AttributeError):
        event, timestamp = None, ""
    given = request.headers.get("X-ZEvent-Signature", "")
    if OA not in app or not settings.zalo_oa_secret_key or not isinstance(event, dict):
        raise web.HTTPForbidden()
    expected = signature(settings.zalo_oa_app_id or "", raw, timestamp, settings.zalo_oa_secret_key)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise web.HTTPForbidden()
    # A signed event replayed later: refused when its time is more than a few minutes from ours.
    if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > REPLAY_WINDOW_MS:
        raise web.HTTPForbidden()
    message = event.get("message") or {}
    key = f"{event.get('event_name')}:{message.get('msg_id') or timestamp}"
    await inbox.receive(app, CHANNEL, key[:64], event, handle_event,
                        chat_key=str((event.get("sender") or {}).get("id") or "") or None)
    return web.json_response({"error": 0})


async def handle_event(app: web.Application, event: dict[str, Any], turn: Turn) -> None:
    user_id = str((event.get("sender") or {}).get("id") or "")
    if not user_id or not str(event.get("event_name", "")).startswith("user_send_"):
        return  # follows, reactions, the OA's own messages…: nothing to answer
    canned = None  # the answer, when the bot does not read the message
    try:
        sent = _sent_content(app, event)
    except BadInput as bad:
        sent, canned = (bad.kept, False), [Reply(bad.reply)]
    if sent is None:  # a sticker, a file…
        sent, canned = (NOT_TEXT_KEPT, False), [Reply(NOT_TEXT)]
    text, typed = sent
    async with inbox.chat_lock(app, CHANNEL, user_id):
        text = (await choice_payload(app, user_id, text, channel=CHANNEL) if typed else None) or text
        await answer(app, CHANNEL, user_id, text, lambda reply, accepted: send(app, user_id, reply, accepted), turn,
                     canned=canned)


def _sent_content(app: web.Application, event: dict[str, Any]) -> Optional[tuple[str, bool]]:
    """What the citizen's event says to Rasa, and whether they typed it; None for what the bot does
    not read (stickers, files, …). An image's caption is not read: the photo is what the complaint
    form waits for (the caption stays in the inbox's copy of the event)."""
    name, message = event.get("event_name"), event.get("message") or {}
    if name == "user_send_text":
        return (message["text"], True) if isinstance(message.get("text"), str) else None
    if name == "user_send_image":
        url = _attachment(message, "image").get("url")
        if not web_url(url):
            raise BadInput(BAD_PHOTO, BAD_PHOTO_KEPT)
        return inform("photo", photo_ref(app[SETTINGS], CHANNEL, url)), False
    if name == "user_send_location":
        lat, lon = coordinates(_attachment(message, "location").get("coordinates"))
        return inform("location", f"{lat:.6f},{lon:.6f}"), False
    return None


def _attachment(message: dict[str, Any], kind: str) -> dict[str, Any]:
    """The payload of the message's first attachment of that type (several photos: the first)."""
    for attachment in message.get("attachments") or []:
        if isinstance(attachment, dict) and attachment.get("type") == kind and isinstance(attachment.get("payload"), dict):
            return attachment["payload"]
    return {}


def coordinates(given: Any) -> tuple[float, float]:
    """Latitude and longitude from Zalo's {"latitude": "14.35", "longitude": "108.99"}."""
    given = given if isinstance(given, dict) else {}
    lat, lon = _coordinate(given.get("latitude")), _coordinate(given.get("longitude"))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise BadInput(BAD_LOCATION, BAD_LOCATION_KEPT)
    return lat, lon


def _coordinate(value: Any) -> Optional[float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str) and COORDINATE.fullmatch(value.strip()):
        return float(value.strip())
    return None


async def send(app: web.Application, user_id: str, reply: Reply, accepted: Optional[Accepted] = None) -> None:
    """The reply's parts not sent yet, each recorded through `accepted` as Zalo takes it."""
    async def send_part(i: int, part: str) -> str:
        return await app[OA].send_text(user_id, part or "…")

    await send_parts(reply, split_text(render(reply, can_share_location=True), MESSAGE_LIMIT), send_part,
                     accepted)


async def in_reply_window(app: web.Application, user_id: str, now: Optional[datetime] = None) -> bool:
    """Whether the citizen wrote recently enough for the OA to message them."""
    async with app[DB].session() as session:
        last = await last_message_in(session, CHANNEL, user_id)
    window = timedelta(hours=app[SETTINGS].zalo_oa_reply_window_hours)
    return last is not None and as_utc(last) >= (now or datetime.now(timezone.utc)) - window


class ZaloOaChannel:
    """A Zalo Official Account in the channel registry: it may write to a citizen only within the
    reply window after their last message."""

    def __init__(self, app: web.Application) -> None:
        self.app = app

    async def send(self, chat_id: str, reply: Reply, accepted: Optional[Accepted] = None) -> None:
        await send(self.app, chat_id, reply, accepted)

    async def may_push(self, chat_id: str) -> bool:
        return await in_reply_window(self.app, chat_id)


async def zalo_oa_ctx(app: web.Application):
    settings = app[SETTINGS]
    if not (settings.zalo_oa_app_id and (settings.zalo_oa_access_token or settings.zalo_oa_refresh_token)):
        yield
        return
    app[OA] = OaClient(app)
    channels.register(app, CHANNEL, ZaloOaChannel(app))
    await inbox.recover(app, CHANNEL, handle_event)
    yield
    await inbox.drain(app)
