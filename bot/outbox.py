"""The outbox: stored replies that a platform would not take (5xx, 429 beyond the channel's own
retries, network down) are marked `delivery = "retry"` and sent again by a background pass, in
each chat's order, until they go through or are too old. Each is claimed by one gateway first
(compare-and-set) and marked sent, with the platform's ids, as soon as the platform takes it, so
no pass and no gateway sends it again. Pushed messages a gateway was sending when it died come
here too: its own at its next start (`recover`), another gateway's once it stops beating."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Optional, Sequence

from aiohttp import web

from bot.channels import deliver
from bot.receipts import receipt
from bot.replies import Reply
from bot.state import DB, SETTINGS
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


async def recover(app: web.Application) -> int:
    """At start, before anything is sent: what this gateway's previous incarnation was sending
    when it stopped goes to the outbox."""
    async with app[DB].session() as session, session.begin():
        taken = await store.reclaim(session, app[SETTINGS].instance_id)
    if taken:
        log.info("outbox: %d message(s) left in flight by this gateway's previous run", taken)
    return taken


async def _adopt(app: web.Application) -> None:
    """What gateways that stopped beating were sending goes to the outbox."""
    dead_after = timedelta(seconds=app[SETTINGS].gateway_dead_after_seconds)
    async with app[DB].session() as session, session.begin():
        taken = await store.reclaim(session, app[SETTINGS].instance_id, dead_after)
    if taken:
        log.info("outbox: %d message(s) left in flight by a silent gateway", taken)


async def _in_tx(app: web.Application, move, *args) -> bool:
    async with app[DB].session() as session, session.begin():
        return await move(session, *args)


async def _send(app: web.Application, row: store.Waiting, me: str) -> None:
    """Send a claimed message; each part the platform takes is recorded at once (the last with
    `sent`). Raises when the platform refuses."""
    reply = Reply(row.text, list(row.buttons or []), message_id=row.id, sent_parts=list(row.platform_ids))
    done = False

    async def accepted(reply: Reply, whole: bool) -> None:
        nonlocal done
        done = done or whole
        r = receipt(reply, whole)
        try:
            if r is not None and not await _in_tx(app, store.record_sent, r, me):
                log.warning("outbox: a sent message was no longer this gateway's claim")
        except Exception as exc:  # noqa: BLE001 - it went out: not a refusal, whatever the store says
            log.warning("outbox: could not record a sent message (%s)", type(exc).__name__)

    await deliver(app, row.channel, row.chat_id, reply, accepted)
    if not done:  # no channel here sends to this chat (e.g. the web chat's)
        await _in_tx(app, store.nothing_to_send, row.id, me)


async def flush_once(app: web.Application, now: Optional[datetime] = None) -> int:
    """One pass; returns how many messages went out. A chat whose send fails waits for the next
    pass with the rest of its messages (order kept); other chats go on."""
    now = now or datetime.now(timezone.utc)
    me = app[SETTINGS].instance_id
    await _adopt(app)
    async with app[DB].session() as session:
        rows = await store.waiting(session, BATCH)
    sent, blocked = 0, set()
    for row in rows:
        if (row.channel, row.chat_id) in blocked:
            continue
        if as_utc(row.created_at) < now - GIVE_UP_AFTER:
            await _in_tx(app, store.give_up, row.id)
            log.error("outbox: gave up on a %s message after %s", row.channel, GIVE_UP_AFTER)
            continue
        # Claimed first (compare-and-set): with several gateways, one sends it.
        if not await _in_tx(app, store.claim, row.id, me):
            continue
        try:
            await _send(app, row, me)
        except Exception as exc:
            await _in_tx(app, store.release, row.id, me)
            blocked.add((row.channel, row.chat_id))
            log.warning("outbox: a %s message is still refused (%s)", row.channel, exc)
            continue
        sent += 1
    return sent
