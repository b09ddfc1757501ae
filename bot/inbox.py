"""What every messaging channel does with an incoming update: store it in the inbox first
(deduplicated by channel and update id), answer the platform at once, process it in the
background in chat order, and mark it done; updates left unfinished are redone at start."""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any, Awaitable, Callable, Optional

from aiohttp import web

from bot.gateway import CURRENT_INBOX_ID, Deferred
from bot.state import DB
from motcua.store.inbox import accept, finish, unfinished

log = logging.getLogger(__name__)

Handler = Callable[[web.Application, dict[str, Any]], Awaitable[None]]
# While Rasa is down a deferred update is tried again this often, for at most this long.
RETRY_SECONDS = 10.0
RETRY_ATTEMPTS = 180
TASKS = web.AppKey("channel_tasks", set)
LOCKS = web.AppKey("chat_locks", defaultdict)


def setup(app: web.Application) -> None:
    app[TASKS] = set()
    app[LOCKS] = defaultdict(asyncio.Lock)


def chat_lock(app: web.Application, channel: str, chat_id: Any) -> asyncio.Lock:
    """One chat's messages are answered in the order they came."""
    return app[LOCKS][(channel, str(chat_id))]


def spawn(app: web.Application, coro: Awaitable) -> None:
    task = asyncio.ensure_future(coro)
    app[TASKS].add(task)
    task.add_done_callback(app[TASKS].discard)


async def receive(app: web.Application, channel: str, update_id: str, data: dict[str, Any],
                  handler: Handler) -> bool:
    """False when this update was delivered before (it is not processed again)."""
    async with app[DB].session() as session, session.begin():
        row_id = await accept(session, channel, update_id, data)
    if row_id is None:
        log.info("%s update %s was delivered again; already handled", channel, update_id)
        return False
    spawn(app, process(app, channel, row_id, data, handler))
    return True


async def process(app: web.Application, channel: str, row_id: int, data: dict[str, Any], handler: Handler,
                  attempt: int = 1) -> None:
    status = "done"
    token = CURRENT_INBOX_ID.set(row_id)
    try:
        await handler(app, data)
    except Deferred:
        if attempt < RETRY_ATTEMPTS:
            # Still "received" in the inbox: also picked up at the next start if we stop now.
            spawn(app, _later(RETRY_SECONDS, process(app, channel, row_id, data, handler, attempt + 1)))
            return
        log.error("%s update %s: Rasa did not come back in time", channel, row_id)
        status = "failed"
    except Exception:
        log.exception("%s update %s failed", channel, row_id)
        status = "failed"
    finally:
        CURRENT_INBOX_ID.reset(token)
    async with app[DB].session() as session, session.begin():
        await finish(session, row_id, status)


async def _later(seconds: float, coro: Awaitable) -> None:
    await asyncio.sleep(seconds)
    await coro


async def recover(app: web.Application, channel: str, handler: Handler) -> None:
    """Updates stored by a process that died before answering them."""
    async with app[DB].session() as session:
        rows = await unfinished(session, channel)
    for row in rows:
        spawn(app, process(app, channel, row.id, row.payload, handler))


async def drain(app: web.Application, poller: Optional[asyncio.Future] = None) -> None:
    """At shutdown: stop a channel's long polling, then let updates in progress finish."""
    if poller is not None:
        poller.cancel()
        await asyncio.gather(poller, return_exceptions=True)
    await asyncio.gather(*list(app[TASKS]), return_exceptions=True)
