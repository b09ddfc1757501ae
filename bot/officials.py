"""The officials' feeds: where officials hear, outside the dashboard, of chats handed over to them,
deadlines, and what citizens add to their tickets. The Telegram group (bot/officials_telegram.py)
is one and registers itself when it starts; with none registered these calls do nothing and
officials work from the dashboard."""
from __future__ import annotations

from typing import Protocol

from aiohttp import web


class OfficialsFeed(Protocol):
    async def post_new_handoffs(self) -> int:
        """Posts the handoffs not posted yet; how many."""

    async def handoff_note(self, handoff_id: int, text: str) -> None:
        """A line of a handed-off conversation, under its post."""

    async def ticket_note(self, ticket: str, text: str) -> None:
        """A note about a ticket, under its post."""

    async def citizen_wrote(self, sender_id: str, text: str) -> None:
        """A citizen's message, shown under their ticket when it names one they filed."""


# A list (the app is frozen once started; feeds register while starting).
FEEDS = web.AppKey("officials_feeds", list)


def setup(app: web.Application) -> None:
    app[FEEDS] = []


def register(app: web.Application, feed: OfficialsFeed) -> None:
    app[FEEDS].append(feed)


async def post_new_handoffs(app: web.Application) -> int:
    return sum([await feed.post_new_handoffs() for feed in app[FEEDS]])


async def handoff_note(app: web.Application, handoff_id: int, text: str) -> None:
    for feed in app[FEEDS]:
        await feed.handoff_note(handoff_id, text)


async def ticket_note(app: web.Application, ticket: str, text: str) -> None:
    for feed in app[FEEDS]:
        await feed.ticket_note(ticket, text)


async def citizen_wrote(app: web.Application, sender_id: str, text: str) -> None:
    for feed in app[FEEDS]:
        await feed.citizen_wrote(sender_id, text)
