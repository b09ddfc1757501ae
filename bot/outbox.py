"""The outbox: stored replies that a platform would not take (5xx, 429 beyond the channel's own
retries, network down) are marked `delivery = "retry"` and sent again by a background pass, in
each chat's order, until they go through or are too old."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Optional, Sequence

from aiohttp import web

from bot.channels import deliver
from bot.replies import Reply
from bot.state import DB
from motcua.store import outbox as store
from motcua.store.cases import as_utc

log = logging.getLogger(__name__)
GIVE_UP_AFTER = timedelta(hours=24)
BATCH = 200


async def defer(app: web.Application, message_ids: Sequence[Optional[int]]) -> None:
    """These stored messages are sent again by the outbox (an id of None: not stored, nothing to do)."""
    stored = [i for i in message_ids if i is not None]
    if not stored:
        return
    async with app[DB].session() as session, session.begin():
        await store.mark_for_retry(session, stored)


async def _mark(app: web.Application, message_id: int, delivery: str, expect: Optional[str]) -> bool:
    async with app[DB].session() as session, session.begin():
        return await store.set_delivery(session, message_id, delivery, expect)


async def flush_once(app: web.Application, now: Optional[datetime] = None) -> int:
    """One pass; returns how many messages went out. A chat whose send fails waits for the next
    pass with the rest of its messages (order kept); other chats go on."""
    now = now or datetime.now(timezone.utc)
    async with app[DB].session() as session:
        rows = await store.waiting(session, BATCH)
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
