"""The Telegram channel (python-telegram-bot 22): webhook with its secret checked, or long polling.

Every update is stored in the inbox before it is processed (a retried delivery is answered once;
one left unfinished by a crash is processed at the next start). Rasa's buttons become inline
keyboards; a pressed button comes back as a callback query whose data is the payload."""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Awaitable, Callable, Optional

from aiohttp import web
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatAction
from telegram.error import NetworkError, RetryAfter, TelegramError

from bot import channels, inbox, officials, officials_telegram
from bot.gateway import answer, require_secret
from bot.messages import NOT_TEXT, NOT_TEXT_KEPT, split_text
from bot.periodic import every
from bot.receipts import Accepted, send_parts
from bot.replies import Reply
from bot.state import DB, HTTP, SETTINGS, TELEGRAM
from bot.telegram_request import AiohttpRequest
from bot.turn import Turn
from bot.typing_indicator import typing_while_slow
from motcua.store.inbox import full_payload, short_payload

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MESSAGE_LIMIT = 4096
SEND_ATTEMPTS = 5
# Commands are the bot's menu; each stands for a message to Rasa.
COMMANDS = {"/start": "/greet", "/help": "/ask_help", "/huy": "/restart"}
# Said before the answer to a shared place or phone number (and the keyboard that asked for it removed).
GOT_LOCATION = "Đã nhận vị trí."
GOT_PHONE = "Đã nhận số điện thoại."


def make_bot(app: web.Application) -> Bot:
    settings = app[SETTINGS]
    assert settings.telegram_bot_token, "the Telegram channel starts only with a token"
    return Bot(settings.telegram_bot_token, base_url=f"{settings.telegram_api_base_url}/bot",
               base_file_url=f"{settings.telegram_api_base_url}/file/bot", request=AiohttpRequest(app[HTTP]))


# --- receiving -------------------------------------------------------------------------------

async def webhook(request: web.Request) -> web.Response:
    app = request.app
    require_secret(request, "X-Telegram-Bot-Api-Secret-Token", app[SETTINGS].telegram_webhook_secret)
    if TELEGRAM not in app:
        raise web.HTTPForbidden()
    try:
        data = await request.json()
        update_id = int(data["update_id"])
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        raise web.HTTPBadRequest()
    await receive(app, update_id, data)
    return web.Response(text="ok")


async def receive(app: web.Application, update_id: int, data: dict[str, Any]) -> None:
    """Store, then process in the background: Telegram gets its 200 as soon as the update is safe."""
    await inbox.receive(app, CHANNEL, str(update_id), data, handle_data, chat_key=_chat_of(data))


def _chat_of(data: dict[str, Any]) -> Optional[str]:
    """The chat an update belongs to, from the raw JSON (before python-telegram-bot parses it)."""
    message = data.get("message") or (data.get("callback_query") or {}).get("message") or {}
    chat_id = (message.get("chat") or {}).get("id") if isinstance(message, dict) else None
    return str(chat_id) if chat_id is not None else None


async def handle_data(app: web.Application, data: dict[str, Any], turn: Turn) -> None:
    await handle_update(app, Update.de_json(data, app[TELEGRAM]), turn)


async def handle_update(app: web.Application, update: Update, turn: Turn) -> None:
    bot: Bot = app[TELEGRAM]
    if officials_telegram.is_group_update(app, update):
        await officials_telegram.handle_group_update(app, update, turn)
        return
    # Stored and sent with the answer (once, like it), ahead of it: e.g. "Đã nhận vị trí."
    lead: list[Reply] = []
    canned: Optional[list[Reply]] = None  # the answer, when the bot does not read the message
    if update.callback_query is not None:
        query = update.callback_query
        await answer_callback(app, query.id)
        if query.message is None:
            return
        chat_id = query.message.chat.id
        async with app[DB].session() as session:
            text = await full_payload(session, query.data or "") or ""
    elif update.message is not None:
        message = update.message
        chat_id = message.chat.id
        if message.location is not None:
            # A place shared on the map: the complaint form takes it as the place.
            text = f'/inform{{"location": "{message.location.latitude:.6f},{message.location.longitude:.6f}"}}'
            lead = [Reply(GOT_LOCATION, custom={"remove_keyboard": True})]
        elif message.photo:
            # The largest size's file id; the dashboard fetches the picture through the Bot API.
            text = f'/inform{{"photo": "telegram:{message.photo[-1].file_id}"}}'
        elif message.contact is not None:
            text = message.contact.phone_number
            lead = [Reply(GOT_PHONE, custom={"remove_keyboard": True})]
        elif message.text is not None:
            text = COMMANDS.get(message.text.split("@")[0].strip(), message.text)
        else:  # a sticker, a voice message, a file…
            text, canned = NOT_TEXT_KEPT, [Reply(NOT_TEXT)]
    else:
        return  # edited messages, channel posts, …: nothing to answer
    # One chat's messages are answered in the order they came.
    async with inbox.chat_lock(app, CHANNEL, chat_id):
        async with typing_while_slow(lambda: with_retry(lambda: bot.send_chat_action(chat_id, ChatAction.TYPING)),
                                     app[SETTINGS].typing_after_seconds,
                                     lambda reply, accepted: send(app, chat_id, reply, accepted)) as send_reply:
            await answer(app, CHANNEL, str(chat_id), text, send_reply, turn, lead=lead, canned=canned)


async def answer_callback(app: web.Application, query_id: str) -> None:
    """Stops the pressed button's spinner: a courtesy. Telegram takes one answer per query, within
    seconds, so an update processed again after a crash gets an error here, and goes on."""
    try:
        await with_retry(lambda: app[TELEGRAM].answer_callback_query(query_id))
    except TelegramError as exc:
        log.info("a callback query was not answered (%s)", type(exc).__name__)


# --- sending ---------------------------------------------------------------------------------

class TelegramChannel:
    """Telegram in the channel registry: any chat may be written to at any time."""

    def __init__(self, app: web.Application) -> None:
        self.app = app

    async def send(self, chat_id: str, reply: Reply, accepted: Optional[Accepted] = None) -> None:
        await send(self.app, int(chat_id), reply, accepted)

    async def may_push(self, chat_id: str) -> bool:
        return True


async def send(app: web.Application, chat_id: int, reply: Reply, accepted: Optional[Accepted] = None) -> None:
    """The reply's parts not sent yet, each recorded through `accepted` as Telegram takes it."""
    bot: Bot = app[TELEGRAM]
    markup: Any = None
    if reply.custom.get("remove_keyboard"):
        markup = ReplyKeyboardRemove()
    elif reply.custom.get("request_contact"):
        # Telegram's own button that sends the citizen's phone number, so it need not be typed.
        markup = ReplyKeyboardMarkup([[KeyboardButton("Chia sẻ số điện thoại", request_contact=True)]],
                                     one_time_keyboard=True, resize_keyboard=True)
    elif reply.custom.get("request_location"):
        # Telegram's own button that sends the phone's location; "Bỏ qua" is typed as text.
        markup = ReplyKeyboardMarkup([[KeyboardButton("Gửi vị trí hiện tại", request_location=True)],
                                      [KeyboardButton("Bỏ qua")]], one_time_keyboard=True, resize_keyboard=True)
    elif reply.buttons:
        async with app[DB].session() as session, session.begin():
            rows = [[InlineKeyboardButton(b["title"][:64], callback_data=await short_payload(session, b["payload"]))]
                    for b in reply.buttons]
        markup = InlineKeyboardMarkup(rows)
    parts = split_text(reply.text or "", MESSAGE_LIMIT)

    async def send_part(i: int, part: str) -> str:
        last = i == len(parts) - 1
        sent = await with_retry(lambda: bot.send_message(chat_id, part or "…", reply_markup=markup if last else None))
        return str(sent.message_id)

    await send_parts(reply, parts, send_part, accepted)


async def with_retry(call: Callable[[], Awaitable[Any]], attempts: int = SEND_ATTEMPTS) -> Any:
    """Telegram's 429 says how long to wait; network errors and 5xx get a short backoff."""
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except RetryAfter as exc:
            wait = exc.retry_after.total_seconds() if hasattr(exc.retry_after, "total_seconds") else exc.retry_after
            if attempt == attempts:
                raise
            await asyncio.sleep(float(wait))
        except NetworkError:
            if attempt == attempts:
                raise
            await asyncio.sleep(0.5 * attempt)


# --- start and stop --------------------------------------------------------------------------

async def poll(app: web.Application) -> None:
    """Long polling, when no webhook URL is set."""
    bot: Bot = app[TELEGRAM]
    offset = 0
    while True:
        try:
            updates = await bot.get_updates(offset=offset, timeout=25, allowed_updates=["message", "callback_query"])
        except TelegramError as exc:
            log.warning("telegram polling failed: %s", exc)
            await asyncio.sleep(3)
            continue
        for update in updates:
            offset = max(offset, update.update_id + 1)
            await receive(app, update.update_id, update.to_dict())


async def telegram_ctx(app: web.Application):
    """cleanup_ctx: the bot, unfinished updates, webhook registration or polling."""
    settings = app[SETTINGS]
    if not settings.telegram_bot_token:
        yield
        return
    app[TELEGRAM] = make_bot(app)
    channels.register(app, CHANNEL, TelegramChannel(app))
    if officials_telegram.group_id(app) is not None:
        officials.register(app, officials_telegram.TelegramGroup(app))
    await inbox.recover(app, CHANNEL, handle_data)
    poller = None
    try:
        if settings.telegram_webhook_url:
            await app[TELEGRAM].set_webhook(settings.telegram_webhook_url, secret_token=settings.telegram_webhook_secret,
                                            allowed_updates=["message", "callback_query"])
        else:
            await app[TELEGRAM].delete_webhook()
            poller = asyncio.ensure_future(poll(app))
    except TelegramError as exc:
        log.error("could not set up Telegram: %s", exc)
    feed = None
    if officials_telegram.group_id(app) is not None and settings.officials_feed_seconds > 0:
        feed = asyncio.ensure_future(every(app, settings.officials_feed_seconds, officials_telegram.post_new,
                                           "officials' feed"))
    yield
    if feed is not None:
        feed.cancel()
        await asyncio.gather(feed, return_exceptions=True)
    await inbox.drain(app, poller)
