"""Messages the bot sends on its own (notifications, officials' replies, handoff lines): stored
first as pushed messages — the web chat collects them from /webchat/updates — then pushed through
the channel registry (bot/channels.py) to channels that can receive them.

A pushed message is stored in the transaction of what caused it (`stage`: a ticket's reply, a
dossier's change claimed), naming the gateway that will send it, and sent once that commits
(`send`); what the platform accepts is recorded at once. If the gateway dies in between, its next
incarnation or another gateway sends it through the outbox (bot/outbox.py); an update of the
officials' group processed again finds its message stored and pushes nothing twice."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional, Sequence

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox, receipts
from bot.channels import deliver, may_push, registered
from bot.replies import Reply
from bot.state import DB, SETTINGS
from motcua.store.conversations import record_message
from motcua.store.deliveries import pushed_for

log = logging.getLogger(__name__)


class Repeated(Exception):
    """This update of the officials' group pushed its message before: it is being processed again
    (its gateway died), and what it did is not done twice."""


@dataclass(frozen=True)
class Staged:
    """A pushed message stored in its cause's transaction, to send once that commits."""

    channel: str
    chat_id: str
    reply: Reply
    allowed: bool  # false: stored as outside the platform's window, not sent


async def check_repeated(session: AsyncSession, inbox_id: Optional[int]) -> None:
    """Raises Repeated when this update already pushed its message (read at the start of its transaction)."""
    if inbox_id is not None and await pushed_for(session, inbox_id):
        raise Repeated(inbox_id)


async def stage(session: AsyncSession, app: web.Application, sender_id: str, text: str,
                buttons: Optional[Sequence[dict]] = None, inbox_id: Optional[int] = None) -> Optional[Staged]:
    """Store a message to the chat behind a Rasa sender id ("channel:chat id") in the caller's
    transaction; None when there is no chat (a complaint filed through Open311). `inbox_id` names the
    officials' update that pushes it: a second one for the same update raises Repeated (and the
    caller's transaction is rolled back)."""
    channel, _, chat_id = sender_id.partition(":")
    if not chat_id:
        return None
    allowed = await may_push(app, channel, chat_id)
    # Named when this gateway will send it: if it dies first, the outbox sends it (the web chat's
    # messages are collected by its page, not sent).
    sender = app[SETTINGS].instance_id if allowed and registered(app, channel) else None
    message_id = await record_message(session, channel, chat_id, "out", text, buttons, push=True,
                                      inbox_id=inbox_id, delivery=None if allowed else "outside_window",
                                      claimed_by=sender)
    if message_id is None:
        raise Repeated(inbox_id)
    return Staged(channel, chat_id, Reply(text, list(buttons or []), message_id=message_id), allowed)


async def send(app: web.Application, staged: Optional[Staged]) -> bool:
    """Push a staged message after its transaction committed: whether it went out (or will be
    collected, for the web chat). Refused: it goes to the outbox. Never raises."""
    if staged is None or not staged.allowed:
        return False
    try:
        await deliver(app, staged.channel, staged.chat_id, staged.reply, receipts.recorder(app))
        return True
    except Exception as exc:
        log.warning("could not push a message to a %s chat (%s)", staged.channel, exc)
    try:
        await outbox.defer(app, [staged.reply.message_id])
    except Exception:
        log.exception("could not put a pushed message in the outbox")
    return False


async def tell_citizen(app: web.Application, sender_id: str, text: str,
                       buttons: Optional[Sequence[dict]] = None) -> bool:
    """Store and deliver one message to the chat behind a Rasa sender id ("channel:chat id").
    Returns whether it was delivered (or will be collected, for the web chat)."""
    async with app[DB].session() as session, session.begin():
        staged = await stage(session, app, sender_id, text, buttons)
    if staged is None:
        return False
    await send(app, staged)
    return staged.allowed
