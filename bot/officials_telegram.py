"""The officials' Telegram group (TELEGRAM_OFFICIALS_CHAT_ID): each new feedback ticket is posted
there with buttons (Nhận xử lý, Chuyển, Đã xử lý); an official's reply to a post about a ticket is
relayed to the citizen; the citizen's later messages about the ticket are posted back.

The group is the access control: its members are officials (the admin manages membership).
An official whose Telegram account is linked (officials.telegram_user_id) is assigned by name."""
from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone
from typing import Optional

from aiohttp import web
from telegram import Bot, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update, User
from telegram.error import BadRequest

from bot import complaint_workflow as workflow
from bot import handoff, notify
from bot.state import DB, SETTINGS, TELEGRAM
from bot.turn import Turn
from motcua.catalogue import load_catalogue
from motcua.store import officials_posts as posts
from motcua.store.cases import as_utc
from motcua.store.complaints import TICKET, by_ticket, events_of, record_event
from motcua.store.models import Complaint, Handoff, Official
from motcua.workdays import VIETNAM

log = logging.getLogger(__name__)
# Only tickets this recent are posted when the group is first configured (no flood of old ones).
POST_WINDOW = timedelta(days=2)
POSTING = posts.POSTING
RESOLVED_BY_TELEGRAM = "Cơ quan đã xử lý xong nội dung phản ánh."


def group_id(app: web.Application) -> Optional[int]:
    chat = app[SETTINGS].telegram_officials_chat_id
    return int(chat) if chat and TELEGRAM in app and chat.lstrip("-").isdigit() else None


def keyboard(ticket: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("Nhận xử lý", callback_data=f"of:take:{ticket}"),
                                  InlineKeyboardButton("Chuyển", callback_data=f"of:fwd:{ticket}"),
                                  InlineKeyboardButton("Đã xử lý", callback_data=f"of:done:{ticket}")]])


def agency_choices(ticket: str) -> InlineKeyboardMarkup:
    """The post's buttons while an official picks where to forward the ticket ("Chuyển")."""
    rows = [[InlineKeyboardButton(a["name"][:60], callback_data=f"of:to:{ticket}:{a['id']}")]
            for a in load_catalogue().locality.agencies]
    return InlineKeyboardMarkup([*rows, [InlineKeyboardButton("« Quay lại", callback_data=f"of:back:{ticket}")]])


async def _show_buttons(bot: Bot, query: CallbackQuery, markup: InlineKeyboardMarkup) -> None:
    """The pressed post's buttons replaced: an edit, not a new message, so that the update processed
    again after a crash changes nothing twice (Telegram refuses the same edit; that is fine)."""
    if query.message is None:  # the post is too old for Telegram to say which it is
        return
    try:
        await bot.edit_message_reply_markup(query.message.chat.id, query.message.message_id, reply_markup=markup)
    except BadRequest as exc:
        log.info("the post's buttons were not changed (%s)", exc.message)


def post_text(c: Complaint) -> str:
    """What the group sees: no phone number (the dashboard shows it after sign-in)."""
    locality = load_catalogue().locality
    categories = {x["id"]: x["name"] for x in locality.complaint_categories}
    lines = [f"Phản ánh mới {c.ticket}",
             f"Lĩnh vực: {categories.get(c.category, c.category)}",
             f"Cơ quan xử lý: {locality.agency_name(c.agency)}",
             f"Hạn xử lý: {as_utc(c.deadline_at).astimezone(VIETNAM):%d/%m/%Y}",
             f"Nội dung: {c.content}"]
    if c.place:
        lines.append(f"Địa điểm: {c.place}")
    if c.latitude is not None:
        lines.append(f"Vị trí: {c.latitude:.5f}, {c.longitude:.5f}")
    lines.append(f"Người gửi: {c.name or 'ẩn danh'}{' (có số điện thoại liên hệ)' if c.phone else ''}")
    lines.append("Trả lời tin nhắn này để gửi phản hồi cho công dân.")
    return "\n".join(lines)


async def post_new(app: web.Application, now: Optional[datetime] = None) -> int:
    """Post tickets not yet in the group. Each is claimed first (compare-and-set), so with several
    gateways each ticket is posted once; a failed post is released for the next pass."""
    chat = group_id(app)
    if chat is None:
        return 0
    since = (now or datetime.now(timezone.utc)) - POST_WINDOW
    async with app[DB].session() as session:
        pending = await posts.unposted_complaints(session, since)
    posted = 0
    for c in pending:
        posted += await _post_once(app, Complaint, c.id, post_text(c), keyboard(c.ticket))
    return posted


async def _post_once(app: web.Application, model, row_id: int, text: str, markup: InlineKeyboardMarkup) -> int:
    """Post about a ticket or handoff once: the row is claimed first (compare-and-set), so with
    several gateways it is posted once; a failed post is released for the next pass."""
    chat = group_id(app)
    if chat is None or not await _set_post(app, model, row_id, POSTING, expect=None):
        return 0
    try:
        message = await app[TELEGRAM].send_message(chat, text, reply_markup=markup)
    except Exception:
        log.exception("could not post to the officials' group")
        await _set_post(app, model, row_id, None, expect=POSTING)
        return 0
    await _set_post(app, model, row_id, message.message_id, expect=POSTING)
    return 1


async def _set_post(app: web.Application, model, row_id: int, value: Optional[int], expect: Optional[int]) -> bool:
    async with app[DB].session() as session, session.begin():
        return await posts.set_post(session, model, row_id, value, expect)


# --- handoffs: a citizen talking with officials through the group ---------------------------------

# The bot starts every handoff post and note with its tag: only there is it read, so a citizen's
# "#H12" inside a relayed message cannot send officials' replies to another chat.
HANDOFF_TAG = re.compile(r"#H(\d+)\b")


async def post_new_handoffs(app: web.Application) -> int:
    if group_id(app) is None:
        return 0
    async with app[DB].session() as session:
        waiting = await posts.unposted_handoffs(session)
    posted = 0
    for h in waiting:
        channel = h.sender_id.partition(":")[0]
        text = (f"#H{h.id} Công dân cần trao đổi với cán bộ (kênh {channel}).\n"
                "Trả lời tin nhắn này (hoặc các tin #H của cuộc trò chuyện) để nhắn cho công dân.")
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Kết thúc trò chuyện", callback_data=f"ho:end:{h.id}")]])
        posted += await _post_once(app, Handoff, h.id, text, markup)
    return posted


async def handoff_note(app: web.Application, handoff_id: int, text: str) -> None:
    """A line of a handed-off conversation in the group, under its post and tagged #H<id>."""
    chat = group_id(app)
    if chat is None:
        return
    async with app[DB].session() as session:
        h = await session.get(Handoff, handoff_id)
    reply_to = h.officials_post_id if h is not None and h.officials_post_id and h.officials_post_id > 0 else None
    try:
        await app[TELEGRAM].send_message(chat, f"#H{handoff_id} {text}", reply_to_message_id=reply_to)
    except Exception:
        log.exception("could not write to the officials' group about handoff %s", handoff_id)


async def say_in_group(app: web.Application, text: str, ticket: str) -> None:
    """A note in the group, threaded under the ticket's post when there is one."""
    chat = group_id(app)
    if chat is None:
        return
    async with app[DB].session() as session:
        c = await by_ticket(session, ticket)
    reply_to = c.officials_post_id if c is not None and c.officials_post_id and c.officials_post_id > 0 else None
    try:
        await app[TELEGRAM].send_message(chat, text, reply_to_message_id=reply_to)
    except Exception:
        log.exception("could not write to the officials' group about %s", ticket)


def is_group_update(app: web.Application, update: Update) -> bool:
    chat = group_id(app)
    if chat is None:
        return False
    message = update.callback_query.message if update.callback_query else update.message
    return message is not None and message.chat.id == chat


async def handle_group_update(app: web.Application, update: Update, turn: Turn) -> None:
    """An update of the group, from the inbox. Processed again after a crash, one whose action was
    done (its message to the citizen is stored with it) stops there: nothing is done or said twice."""
    try:
        if update.callback_query is not None:
            await _button(app, update.callback_query, turn.inbox_id)
        elif update.message is not None and update.message.reply_to_message is not None and update.message.text:
            await _reply(app, update.message, turn.inbox_id)
        # Other chatter in the group is the officials' own business.
    except notify.Repeated:
        log.info("an officials' update processed again had been acted on; not acted on twice")


def _actor(user: Optional[User]) -> str:
    if user is None:
        return "Telegram"
    return f"{user.full_name} (Telegram {user.id})"


async def _linked_official(app: web.Application, user: Optional[User]) -> Optional[Official]:
    if user is None:
        return None
    async with app[DB].session() as session:
        return await posts.official_of_telegram_user(session, user.id)


async def _button(app: web.Application, query: CallbackQuery, inbox_id: Optional[int]) -> None:
    bot: Bot = app[TELEGRAM]
    parts = (query.data or "").split(":")
    if len(parts) < 3 or parts[0] not in ("of", "ho"):
        await bot.answer_callback_query(query.id)
        return
    verb, ticket = parts[1], parts[2]
    actor = _actor(query.from_user)
    if parts[0] == "ho":
        ended = verb == "end" and ticket.isdigit() and await handoff.end(app, int(ticket), actor, inbox_id=inbox_id)
        await bot.answer_callback_query(query.id, text="Đã kết thúc." if ended else "Cuộc trò chuyện đã kết thúc.")
        if ended:
            await handoff_note(app, int(ticket), f"{query.from_user.full_name if query.from_user else 'Cán bộ'} "
                                                 "đã kết thúc cuộc trò chuyện.")
        return
    try:
        if verb == "take":
            official = await _linked_official(app, query.from_user)
            await workflow.act(app, ticket, "assign", actor, assignee_id=official.id if official else None,
                               assignee_name=actor, inbox_id=inbox_id)
            note = f"{query.from_user.full_name if query.from_user else 'Cán bộ'} đã nhận xử lý {ticket}."
        elif verb in ("fwd", "back"):
            await bot.answer_callback_query(query.id)
            await _show_buttons(bot, query, agency_choices(ticket) if verb == "fwd" else keyboard(ticket))
            return
        elif verb == "to" and len(parts) == 4:
            done = await workflow.act(app, ticket, "forward", actor, agency=parts[3], inbox_id=inbox_id)
            await _show_buttons(bot, query, keyboard(ticket))
            note = f"{ticket} đã chuyển đến {load_catalogue().locality.agency_name(done.agency)}."
        elif verb == "done":
            await workflow.act(app, ticket, "resolve", actor, text=await _last_reply(app, ticket), inbox_id=inbox_id)
            note = f"{ticket} đã được đánh dấu xử lý xong; công dân đã được thông báo."
        else:
            await bot.answer_callback_query(query.id)
            return
    except workflow.Refused as refused:
        await bot.answer_callback_query(query.id, text=str(refused), show_alert=True)
        return
    except LookupError:
        await bot.answer_callback_query(query.id, text="Không tìm thấy phản ánh này.", show_alert=True)
        return
    await bot.answer_callback_query(query.id, text="Đã cập nhật.")
    await say_in_group(app, note, ticket)


async def _last_reply(app: web.Application, ticket: str) -> str:
    """The result the citizen is told on "Đã xử lý": the officials' last reply, if any."""
    async with app[DB].session() as session:
        c = await by_ticket(session, ticket)
        events = await events_of(session, c.id) if c else []
    replies = [e.detail for e in events if e.action == "replied"]
    return replies[-1] if replies else RESOLVED_BY_TELEGRAM


async def _reply(app: web.Application, message: Message, inbox_id: Optional[int]) -> None:
    """An official answered a post (or a note) about a ticket or a handoff: relay it to the citizen."""
    replied, text = message.reply_to_message, message.text
    if not (replied and replied.from_user and replied.from_user.is_bot) or not text:
        return  # not an answer to the bot's post, or no words (a sticker, a photo)
    tag = HANDOFF_TAG.match(replied.text or "")
    if tag is not None:
        name = message.from_user.full_name if message.from_user else "Cán bộ"
        if await handoff.official_says(app, int(tag.group(1)), name, text, inbox_id=inbox_id):
            await app[TELEGRAM].send_message(message.chat.id, "Đã gửi đến công dân.",
                                             reply_to_message_id=message.message_id)
        return
    match = TICKET.search(replied.text or "")
    if match is None:
        return
    try:
        await workflow.act(app, match.group(0).upper(), "reply", _actor(message.from_user), text=text,
                           inbox_id=inbox_id)
    except (workflow.Refused, LookupError):
        return
    await app[TELEGRAM].send_message(message.chat.id, "Đã gửi phản hồi đến công dân.",
                                     reply_to_message_id=message.message_id)


async def relay_citizen_message(app: web.Application, sender_id: str, text: str) -> None:
    """A citizen wrote about their own ticket: the officials see it under the ticket's post."""
    match = TICKET.search(text or "")
    if match is None or group_id(app) is None:
        return
    ticket = match.group(0).upper()
    async with app[DB].session() as session, session.begin():
        c = await by_ticket(session, ticket)
        if c is None or c.sender_id != sender_id:
            return  # only the chat that filed it; anyone else learns nothing here
        await record_event(session, c, "công dân", "citizen_message", text[:4000])
    await say_in_group(app, f"Công dân nhắn thêm về {ticket}:\n{text[:3500]}", ticket)


class TelegramGroup:
    """The officials' Telegram group as an officials' feed (bot/officials.py)."""

    def __init__(self, app: web.Application) -> None:
        self.app = app

    async def post_new_handoffs(self) -> int:
        return await post_new_handoffs(self.app)

    async def handoff_note(self, handoff_id: int, text: str) -> None:
        await handoff_note(self.app, handoff_id, text)

    async def ticket_note(self, ticket: str, text: str) -> None:
        await say_in_group(self.app, text, ticket)

    async def citizen_wrote(self, sender_id: str, text: str) -> None:
        await relay_citizen_message(self.app, sender_id, text)
