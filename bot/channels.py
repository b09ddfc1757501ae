"""The channels that carry a message the citizen did not just ask for (notifications, officials'
replies, the outbox). Each channel registers itself on the app when it starts; the rest of the
gateway delivers through this registry and names no channel. The web chat registers nothing: its
page collects pushed messages itself (/webchat/updates)."""
from __future__ import annotations

from typing import Optional, Protocol

from aiohttp import web

from bot.receipts import Accepted
from bot.replies import Reply


class Channel(Protocol):
    async def send(self, chat_id: str, reply: Reply, accepted: Optional[Accepted] = None) -> None:
        """Sends the parts of `reply` not in reply.sent_parts, calling `accepted` as the platform
        takes each; raises when the platform refuses after the channel's own retries."""

    async def may_push(self, chat_id: str) -> bool:
        """Whether the platform lets the bot write to this chat unasked now."""


# name → Channel (a dict: the app is frozen once started, channels register while starting).
CHANNELS = web.AppKey("channels", dict)


def setup(app: web.Application) -> None:
    app[CHANNELS] = {}


def register(app: web.Application, name: str, channel: Channel) -> None:
    app[CHANNELS][name] = channel


def registered(app: web.Application, name: str) -> bool:
    """Whether this gateway sends to the named channel (the web chat's page collects its own)."""
    return name in app[CHANNELS]


async def may_push(app: web.Application, name: str, chat_id: str) -> bool:
    channel = app[CHANNELS].get(name)
    return True if channel is None else await channel.may_push(chat_id)


async def deliver(app: web.Application, name: str, chat_id: str, reply: Reply,
                  accepted: Optional[Accepted] = None) -> None:
    """Send on the named channel when it is running (a chat of a channel not configured here, or
    the web chat, has nothing to send to); raises when the platform refuses."""
    channel = app[CHANNELS].get(name)
    if channel is not None:
        await channel.send(chat_id, reply, accepted)
