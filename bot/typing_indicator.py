""""typing…" in a chat only while an answer is slow: Telegram's guidance is to send a chat action
only when the answer will take noticeable time, and a quick answer then costs one platform call
less (issue 18)."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncIterator, Awaitable, Callable, Optional

from bot.receipts import Accepted
from bot.replies import Reply

log = logging.getLogger(__name__)

Send = Callable[[Reply, Optional[Accepted]], Awaitable[None]]


class SlowTyping:
    """Calls `show` once `after` seconds have passed, unless stopped before (the first reply is
    going out). A `show` already under way is awaited, not cancelled, so "typing…" never arrives
    after the reply. A failure to show is logged: the indicator is a courtesy."""

    def __init__(self, show: Callable[[], Awaitable[object]], after: float) -> None:
        self._started = False
        self._task = asyncio.ensure_future(self._run(show, after))

    async def _run(self, show: Callable[[], Awaitable[object]], after: float) -> None:
        await asyncio.sleep(after)
        self._started = True
        try:
            await show()
        except Exception as exc:  # noqa: BLE001 - any failure: the answer goes on without it
            log.info("the typing indicator was not shown (%s)", type(exc).__name__)

    async def stop(self) -> None:
        if not self._started:
            self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


@contextlib.asynccontextmanager
async def typing_while_slow(show: Callable[[], Awaitable[object]], after: float, send: Send) -> AsyncIterator[Send]:
    """`send` wrapped so that the first reply stops the pending "typing…" (`async with … as send`)."""
    typing = SlowTyping(show, after)

    async def send_reply(reply: Reply, accepted: Optional[Accepted]) -> None:
        await typing.stop()
        await send(reply, accepted)

    try:
        yield send_reply
    finally:
        await typing.stop()
