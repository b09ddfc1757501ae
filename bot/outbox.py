"""The outbox: stored replies that a platform would not take (5xx, 429 beyond the channel's own
retries, network down) are marked `delivery = "retry"` and sent again by a background pass, in
each chat's order, until they go through or are too old."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Optional, Sequence

from aiohttp import web
from sqlalchemy import select, update

from bot.channels import deliver
from bot.replies import Reply
from bot.state import DB
from motcua.store.cases import as_utc
from motcua.store.models import Conversation, Message

log = logging.getLogger(__name__)
GIVE_UP_AFTER = timedelta(hours=24)
BATCH = 200


async def defer(app: web.Application, message_ids: Sequence[Optional[int]]) -> None:
    """These stored messages are sent again by the outbox (an id of None: not stored, nothing to do)."""
    message_ids = [i for i in message_ids if i is not None]
    if not message_ids:
        return
    async with app[DB].session() as session, session.begin():
        await session.execute(update(Message).where(Message.id.in_(list(message_ids)))
                              .values(delivery="retry").execution_options(synchronize_session=False))


async def _mark(app: web.Application, message_id: int, delivery: str, expect: Optional[str]) -> bool:
    async with app[DB].session() as session, session.begin():
        result = await session.execute(update(Message).where(Message.id == message_id, Message.delivery == expect)
                                       .values(delivery=delivery).execution_options(synchronize_session=False))
        return result.rowcount == 1


async def flush_once(app: web.Application, now: Optional[datetime] = None) -> int:
    """One pass; returns how many messages went out. A chat whose send fails waits for the next
    pass with the rest of its messages (order kept); other chats go on."""
    now = now or datetime.now(timezone.utc)
    async with app[DB].session() as session:
        rows = (await session.execute(
            select(Message.id, Message.text, Message.buttons, Message.created_at, Conversation.channel,
                   Conversation.chat_id)
            .join(Conversation).where(Message.delivery == "retry").order_by(Message.id).limit(BATCH))).all()
    sent, blocked = 0, set()
    for message_id, text, buttons, created_at, channel, chat_id in rows:
        if (channel, chat_id) in blocked:
            continue
        if as_utc(created_at) < now - GIVE_UP_AFTER:
            await _mark(app, message_id, "failed", "retry")
            log.error("outbox: gave up on a %s message after %s", channel, GIVE_UP_AFTER)
            continue
        # Claimed first (compare-and-set): with several gateways, one sends it.
        if not await _mark(app, message_id, "sending", "retry"):
            continue
        try:
            await deliver(app, channel, chat_id, Reply(text, list(buttons or [])))
        except Exception as exc:
            await _mark(app, message_id, "retry", "sending")
            blocked.add((channel, chat_id))
            log.warning("outbox: a %s message is still refused (%s)", channel, exc)
            continue
        await _mark(app, message_id, "sent", "sending")
        sent += 1
    return sent
