"""Messages the bot sends on its own (notifications, officials' replies): stored first as pushed
messages — the web chat collects them from /webchat/updates — then pushed through the channel
registry (bot/channels.py) to channels that can receive them."""
from __future__ import annotations

import logging
from typing import Optional, Sequence

from aiohttp import web

from bot import outbox
from bot.channels import deliver, may_push
from bot.replies import Reply
from bot.state import DB
from motcua.store.conversations import record_message

log = logging.getLogger(__name__)


async def tell_citizen(app: web.Application, sender_id: str, text: str,
                       buttons: Optional[Sequence[dict]] = None) -> bool:
    """Store and deliver one message to the chat behind a Rasa sender id ("channel:chat id").
    Returns whether it was delivered (or will be collected, for the web chat)."""
    channel, _, chat_id = sender_id.partition(":")
    if not chat_id:
        return False  # e.g. a complaint filed through Open311: there is no chat to tell
    allowed = await may_push(app, channel, chat_id)
    async with app[DB].session() as session, session.begin():
        message_id = await record_message(session, channel, chat_id, "out", text, buttons, push=True,
                                          delivery=None if allowed else "outside_window")
    if allowed and not await push(app, channel, chat_id, Reply(text, list(buttons or []))):
        await outbox.defer(app, [message_id])
    return allowed


async def push(app: web.Application, channel: str, chat_id: str, reply: Reply) -> bool:
    """deliver(), reporting failure instead of raising: one chat's failure must not stop others."""
    try:
        await deliver(app, channel, chat_id, reply)
        return True
    except Exception as exc:
        log.warning("could not push a message to a %s chat (%s)", channel, exc)
        return False
