"""Sent once: a channel sends a message part by part (long replies are split) and reports each part
the platform accepts; what was accepted is written to the store at once, the fast way
(motcua/store/receipt_writer.py), so that a message sent again after a crash skips what the
citizen already received. What is left is the instant between the platform's answer and that write."""
from __future__ import annotations

import logging
from typing import Awaitable, Callable, Optional, Sequence

from aiohttp import web

from bot.replies import Reply
from bot.state import RECEIPTS
from motcua.store import deliveries

log = logging.getLogger(__name__)

# Called by a channel when the platform accepted a part of `reply` (its id is now the last of
# reply.sent_parts); `whole` when it was the last part.
Accepted = Callable[[Reply, bool], Awaitable[None]]
# A channel's sending of one part (its index, its text): the id the platform gave it.
SendPart = Callable[[int, str], Awaitable[str]]


async def send_parts(reply: Reply, parts: Sequence[str], send_part: SendPart, accepted: Optional[Accepted]) -> None:
    """Send the parts the platform has not taken yet (reply.sent_parts), in order, reporting each."""
    for i, part in enumerate(parts):
        if i < len(reply.sent_parts):
            continue  # taken before the gateway died
        platform_id = await send_part(i, part)
        reply.sent_parts.append(str(platform_id or "?").replace(" ", "") or "?")
        if accepted is not None:
            await accepted(reply, i == len(parts) - 1)


def receipt(reply: Reply, whole: bool) -> Optional[deliveries.Receipt]:
    if reply.message_id is None:
        return None  # not stored (e.g. "please wait"): nothing to record
    return deliveries.Receipt(reply.message_id, tuple(reply.sent_parts), whole)


async def record(app: web.Application, receipts: Sequence[deliveries.Receipt]) -> None:
    """Write receipts now. A failure is logged, not raised: the message did go out, and the cost of
    a lost receipt is that it is sent again if its update is processed again."""
    if not receipts:
        return
    try:
        await app[RECEIPTS].write(receipts)
    except Exception as exc:  # noqa: BLE001 - any store error: the send itself succeeded
        log.warning("could not record %d delivered message(s) (%s)", len(receipts), type(exc).__name__)


def recorder(app: web.Application) -> Accepted:
    """Each accepted part of a stored message written at once: a turn's replies and pushed messages."""
    async def accepted(reply: Reply, whole: bool) -> None:
        if (r := receipt(reply, whole)) is not None:
            await record(app, [r])
    return accepted
