"""Citizens chatting with an in-process gateway (tests.support.gateway): web chat turns and polls,
Telegram webhook updates."""
from __future__ import annotations

import asyncio
import uuid
from typing import Optional

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.inbox import TASKS
from motcua.store import Database
from motcua.store.models import Appointment

from tests.support.fake_telegram import WEBHOOK_SECRET


def web_id(name: str) -> str:
    """The web chat's sender id for a test's readable chat name: a UUID, as the page makes (the
    same name, the same id, so a test can look its chat up in the store as "web:" + web_id(name))."""
    try:
        return str(uuid.UUID(name))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"motcua-test:{name}"))


def address_of(sender: str) -> str:
    """A chat's own client address (10.x.y.z, the same for the same chat): citizens are not all
    behind one address, so the per-address lookup lock of one test does not hold for the others."""
    digest = uuid.uuid5(uuid.NAMESPACE_URL, f"motcua-test-address:{sender}").bytes
    return f"10.{digest[0]}.{digest[1]}.{digest[2]}"


async def say(client: TestClient, text: str, sender: str = "tester", address: Optional[str] = None) -> list[dict]:
    """One web chat turn: the replies as the page receives them. The chat's client address goes in
    X-Forwarded-For (believed from a trusted proxy, as the `gateway` fixture's 127.0.0.1 is)."""
    resp = await client.post("/webchat/messages", json={"sender": web_id(sender), "message": text},
                             headers={"X-Forwarded-For": address or address_of(sender)})
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def updates(client: TestClient, sender: str, after=None) -> dict:
    """What the page's poll gets: the chat named in the X-Webchat-Sender header, never in the URL."""
    params = {} if after is None else {"after": str(after)}
    resp = await client.get("/webchat/updates", params=params, headers={"X-Webchat-Sender": web_id(sender)})
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def deliver(client: TestClient, update: dict, secret: Optional[str] = WEBHOOK_SECRET) -> int:
    """A Telegram update posted to the webhook, as Telegram does (with the secret header unless
    `secret` is None); returns the HTTP status once the gateway has answered the update."""
    resp = await client.post("/telegram/webhook", json=update,
                             headers={"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {})
    await asyncio.gather(*list(client.server.app[TASKS]))
    return resp.status


async def stored_appointment(rasa_servers: dict, code: str) -> Appointment:
    """A booking as the store holds it (the session's store, shared with the action server)."""
    db = Database(rasa_servers["database_url"])
    try:
        async with db.session() as s:
            return await s.scalar(select(Appointment).where(Appointment.code == code))
    finally:
        await db.dispose()
