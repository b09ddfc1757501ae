"""Handoff on the gateway: while a chat is handed to officials its messages skip Rasa and go to
them (dashboard, officials' Telegram group); officials' messages go to the citizen; the chat goes
back to the bot when the citizen or an official ends it, or after a quiet spell."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages, notify, officials
from bot.replies import Reply
from bot.state import DB
from motcua.store import handoffs as store
from motcua.store.models import Handoff
from nlu.text import fold

log = logging.getLogger(__name__)
# What a citizen types to go back to the bot (folded: no diacritics, lower case).
END_WORDS = {"ket thuc", "/ket_thuc", "/restart", "/huy", "huy", "thoat", "ket thuc tro chuyen"}


@dataclass(frozen=True)
class HandedOff:
    replies: list[Reply]  # empty while the officials answer: the bot stays silent
    relay_to: Optional[int]  # the handoff whose officials should see the citizen's message


async def check(session: AsyncSession, sender_id: str, text: str) -> Optional[HandedOff]:
    """None when the bot should answer. Runs inside the transaction that stores the citizen's
    message, so a turn pays no extra round trip for it."""
    handoff = await store.open_for(session, sender_id)
    if handoff is None:
        return None
    if fold(text) in END_WORDS or text.strip() in END_WORDS:
        await store.end(session, handoff.id, "công dân")
        return HandedOff([Reply(messages.HANDOFF_ENDED_BY_CITIZEN)], None)
    await store.touch(session, handoff)
    return HandedOff([], handoff.id)


async def relay(app: web.Application, handed_off: HandedOff, text: str) -> None:
    """After the message is stored: the officials see it in their group."""
    if handed_off.relay_to is not None:
        await officials.handoff_note(app, handed_off.relay_to, f"Công dân: {text[:3500]}")


async def official_says(app: web.Application, handoff_id: int, official: str, text: str,
                        inbox_id: Optional[int] = None) -> bool:
    """An official's line to the citizen, stored with the handoff touched; `inbox_id` names the
    officials' group update it came in (processed again: notify.Repeated, not a second line)."""
    async with app[DB].session() as session, session.begin():
        await notify.check_repeated(session, inbox_id)
        handoff = await session.get(Handoff, handoff_id)
        if handoff is None or handoff.status not in store.OPEN:
            return False
        await store.touch(session, handoff, official=official)
        staged = await notify.stage(session, app, handoff.sender_id,
                                    messages.HANDOFF_OFFICIAL_SAYS.format(name=official, text=text[:3500]),
                                    inbox_id=inbox_id)
    await notify.send(app, staged)
    return True


async def end(app: web.Application, handoff_id: int, by: str, notice: str = messages.HANDOFF_ENDED_BY_OFFICIAL,
              inbox_id: Optional[int] = None) -> bool:
    async with app[DB].session() as session, session.begin():
        await notify.check_repeated(session, inbox_id)
        if not await store.end(session, handoff_id, by):
            return False
        sender_id = (await session.get(Handoff, handoff_id)).sender_id
        staged = await notify.stage(session, app, sender_id, notice, inbox_id=inbox_id)
    await notify.send(app, staged)
    return True


async def check_once(app: web.Application, now: Optional[datetime] = None) -> int:
    """Post new handoffs to the officials' feeds; end those that timed out. Returns how many ended."""
    await officials.post_new_handoffs(app)
    async with app[DB].session() as session:
        stale = [h.id for h in await store.timed_out(session, now)]
    ended = 0
    for handoff_id in stale:
        if await end(app, handoff_id, "hết thời gian", messages.HANDOFF_TIMED_OUT):
            await officials.handoff_note(app, handoff_id, "Đã kết thúc do lâu không có trao đổi.")
            ended += 1
    return ended
