"""What every messaging channel does with an incoming update: store it in the inbox first
(deduplicated by channel and update id), answer the platform at once, process it in the
background in chat order, and mark it done; updates left unfinished are redone at start."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any, Awaitable, Callable, Optional

from aiohttp import web

from bot.state import DB, SETTINGS
from bot.turn import Deferred, Turn
from motcua.store.inbox import accept, beat, claim_unfinished, earlier_unanswered, finish

log = logging.getLogger(__name__)

# A channel's processing of one stored update: (app, the update as received, its turn).
Handler = Callable[[web.Application, dict[str, Any], Turn], Awaitable[None]]


class ChatLocks:
    """One lock per chat, forgotten as soon as nobody holds or waits for it: chats are countless,
    and a lock kept for each one ever seen would grow without bound."""

    def __init__(self) -> None:
        self.locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._users: dict[tuple[str, str], int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: tuple[str, str]):
        lock = self.locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self.locks[key]


# While Rasa is down a deferred update is tried again this often, for at most this long.
RETRY_SECONDS = 10.0
RETRY_ATTEMPTS = 180
# Marking an update done is retried for about 5 minutes.
FINISH_RETRY_DELAYS = (0.5, 1, 2, 3, 5) + (10,) * 28
TASKS = web.AppKey("channel_tasks", set)
LOCKS = web.AppKey("chat_locks", ChatLocks)
HANDLERS = web.AppKey("inbox_handlers", dict)
# How long a chat's update waits for the chat's earlier updates on other gateways.
ORDER_WAIT_SECONDS = 30.0


def setup(app: web.Application) -> None:
    app[TASKS] = set()
    app[LOCKS] = ChatLocks()
    app[HANDLERS] = {}


def chat_lock(app: web.Application, channel: str, chat_id: Any):
    """One chat's messages are answered in the order they came (`async with chat_lock(…)`)."""
    return app[LOCKS].hold((channel, str(chat_id)))


def spawn(app: web.Application, coro: Awaitable) -> None:
    task = asyncio.ensure_future(coro)
    app[TASKS].add(task)
    task.add_done_callback(app[TASKS].discard)


async def receive(app: web.Application, channel: str, update_id: str, data: dict[str, Any],
                  handler: Handler, chat_key: Optional[str] = None) -> bool:
    """False when this update was delivered before (it is not processed again). `chat_key` names
    the chat, so that another gateway's later update of it waits for this one."""
    async with app[DB].begin() as conn:
        row_id = await accept(conn, channel, update_id, data, owner=app[SETTINGS].instance_id, chat_key=chat_key)
        # Asked in the same transaction: most updates find none, and then need no wait (below).
        behind = (row_id is not None and chat_key is not None
                  and await earlier_unanswered(conn, channel, chat_key, row_id))
    if row_id is None:
        log.info("%s update %s was delivered again; already handled", channel, update_id)
        return False
    spawn(app, process(app, channel, row_id, data, handler, chat_key=chat_key if behind else None))
    return True


async def process(app: web.Application, channel: str, row_id: int, data: dict[str, Any], handler: Handler,
                  attempt: int = 1, chat_key: Optional[str] = None) -> None:
    """`chat_key` set: the update first waits for its chat's earlier updates (_after_earlier_updates)."""
    status = "done"
    if attempt == 1 and chat_key is not None:
        await _after_earlier_updates(app, channel, chat_key, row_id)
    turn = Turn(inbox_id=row_id, attempt=attempt)
    try:
        await handler(app, data, turn)
    except Deferred:
        if attempt < RETRY_ATTEMPTS:
            # Still "received" in the inbox: also picked up at the next start if we stop now.
            spawn(app, _later(RETRY_SECONDS, process(app, channel, row_id, data, handler, attempt + 1,
                                                     chat_key=chat_key)))
            return
        log.error("%s update %s: Rasa or the store did not come back in time", channel, row_id)
        status = "failed"
    except Exception:
        log.exception("%s update %s failed", channel, row_id)
        status = "failed"
    await _finish(app, channel, row_id, status)


async def _finish(app: web.Application, channel: str, row_id: int, status: str) -> None:
    """Marks the update done; while the store is unreachable (a database restart), tries again, so
    that a live gateway does not leave an answered update looking unanswered."""
    for delay in FINISH_RETRY_DELAYS:
        try:
            async with app[DB].begin() as conn:
                await finish(conn, row_id, status)
            return
        except Exception as exc:  # noqa: BLE001 - any store error: wait and try again
            log.warning("%s update %s: could not mark it %s (%s); trying again in %.0f s",
                        channel, row_id, status, type(exc).__name__, delay)
            await asyncio.sleep(delay)
    # Left "received": taken up again at the next start, where Rasa's tracker tells it was answered.
    log.error("%s update %s: could not be marked %s", channel, row_id, status)


async def _after_earlier_updates(app: web.Application, channel: str, chat_key: str, row_id: int) -> None:
    """A chat's update waits (up to ORDER_WAIT_SECONDS) until the chat's earlier updates are
    answered, wherever they were delivered: a citizen who writes twice quickly, through two
    gateways, is answered in the order they wrote. Always asked, whether or not another gateway is
    alive (known only as of the last heartbeat, seconds old): for a new update in the transaction
    that stores it (receive), and only an update stored behind an unanswered one waits here. While
    the store does not answer, the update keeps waiting rather than overtake an earlier one."""
    deadline = asyncio.get_running_loop().time() + ORDER_WAIT_SECONDS
    pause = 0.02
    while True:
        try:
            async with app[DB].session() as session:
                if not await earlier_unanswered(session, channel, chat_key, row_id):
                    return
        except Exception as exc:  # noqa: BLE001 - the store is down: wait as for an earlier update
            log.debug("%s update %s: order check failed (%s)", channel, row_id, type(exc).__name__)
        if asyncio.get_running_loop().time() > deadline:
            log.warning("%s update %s: an earlier update of its chat is still unanswered; going on", channel, row_id)
            return
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.5)


async def _later(seconds: float, coro: Awaitable) -> None:
    await asyncio.sleep(seconds)
    await coro


async def heartbeat(app: web.Application) -> None:
    """This gateway is alive: the updates it owns are left to it (see claim_unfinished)."""
    async with app[DB].session() as session, session.begin():
        await beat(session, app[SETTINGS].instance_id)


async def recover(app: web.Application, channel: str, handler: Handler, at_start: bool = True) -> int:
    """Updates stored by a process that died before answering them: at start, this gateway's own
    (same GATEWAY_ID) and ownerless ones; at any time, those of gateways that stopped beating."""
    app[HANDLERS][channel] = handler
    dead_after = timedelta(seconds=app[SETTINGS].gateway_dead_after_seconds)
    async with app[DB].session() as session, session.begin():
        rows = await claim_unfinished(session, channel, app[SETTINGS].instance_id, dead_after, include_own=at_start)
    for row in rows:
        spawn(app, process(app, channel, row.id, row.payload, handler, chat_key=row.chat_key))
    return len(rows)


async def heartbeat_and_adopt(app: web.Application) -> int:
    """Background pass: beat, and take up the unfinished updates of gateways that went silent."""
    await heartbeat(app)
    adopted = 0
    for channel, handler in list(app[HANDLERS].items()):
        adopted += await recover(app, channel, handler, at_start=False)
    return adopted


async def drain(app: web.Application, poller: Optional[asyncio.Future] = None) -> None:
    """At shutdown: stop a channel's long polling, then let updates in progress finish."""
    if poller is not None:
        poller.cancel()
        await asyncio.gather(poller, return_exceptions=True)
    tasks: set[asyncio.Future] = app[TASKS]
    await asyncio.gather(*tasks, return_exceptions=True)
