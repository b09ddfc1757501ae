"""Zalo Official Account through the gateway: signed webhooks, CS messages, token refresh."""
import asyncio
import itertools
import json
import time

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.handlers.zalo_oa import signature
from bot.inbox import TASKS
from bot.state import SETTINGS
from motcua.store import Database
from motcua.store.models import OaToken

from tests.support.gateway import make_settings, start_gateway

APP_ID, OA_SECRET, APP_SECRET = "1234567890", "oa-secret-key", "app-secret"
_ids = itertools.count(1)


class FakeOA:
    """OA API v3 customer-service messages and OAuth v4 token refresh, in their JSON shapes."""

    def __init__(self) -> None:
        self.valid_token = "token-1"
        self.refresh_tokens = {"refresh-1": 2}  # refresh token → number of the token pair it gives
        self.sent: list[tuple[str, str]] = []
        self.refreshes: list[str] = []
        self.app = web.Application()
        self.app.router.add_post("/v3.0/oa/message/cs", self.cs)
        self.app.router.add_post("/v4/oa/access_token", self.oauth)

    async def cs(self, request):
        if request.headers.get("access_token") != self.valid_token:
            return web.json_response({"error": -216, "message": "Access token is invalid"})
        body = await request.json()
        self.sent.append((body["recipient"]["user_id"], body["message"]["text"]))
        return web.json_response({"error": 0, "message": "Success", "data": {"message_id": f"oa{len(self.sent)}"}})

    async def oauth(self, request):
        form = await request.post()
        n = self.refresh_tokens.pop(form.get("refresh_token"), None)
        if request.headers.get("secret_key") != APP_SECRET or form.get("app_id") != APP_ID or n is None:
            return web.json_response({"error": -14014, "error_description": "Invalid refresh token"})
        self.refreshes.append(form["refresh_token"])
        self.valid_token = f"token-{n}"
        self.refresh_tokens[f"refresh-{n}"] = n + 1  # a used refresh token is gone; the new one works once
        return web.json_response({"access_token": f"token-{n}", "refresh_token": f"refresh-{n}", "expires_in": "90000"})


def event(user: str, text: str, msg_id: str | None = None) -> str:
    return json.dumps({"app_id": APP_ID, "user_id_by_app": "u", "event_name": "user_send_text",
                       "timestamp": str(int(time.time() * 1000)), "sender": {"id": user}, "recipient": {"id": "oa"},
                       "message": {"text": text, "msg_id": msg_id or f"m{next(_ids)}"}}, ensure_ascii=False)


@pytest.fixture
async def oa(rasa_servers, tmp_path):
    fake = FakeOA()
    server = TestServer(fake.app)
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    client = await start_gateway(make_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}", rasa_url=rasa_servers["rasa_url"],
        case_database_url=rasa_servers["case_database_url"], dossier_watch_seconds=0,
        zalo_oa_app_id=APP_ID, zalo_oa_secret_key=OA_SECRET, zalo_oa_access_token="token-expired",
        zalo_oa_app_secret=APP_SECRET, zalo_oa_refresh_token="refresh-1",
        zalo_oa_api_base_url=base, zalo_oa_oauth_base_url=base))
    yield client, fake
    await client.close()
    await server.close()


async def post(client, raw: str, signed=True):
    ts = json.loads(raw)["timestamp"]
    headers = {"Content-Type": "application/json"}
    if signed:
        headers["X-ZEvent-Signature"] = signature(APP_ID, raw, ts, OA_SECRET)
    resp = await client.post("/zalo-oa/webhook", data=raw.encode(), headers=headers)
    await asyncio.gather(*list(client.server.app[TASKS]))
    return resp.status


async def test_forged_or_unsigned_events_get_403(oa):
    client, fake = oa
    raw = event("user-a", "xin chào")
    assert await post(client, raw, signed=False) == 403
    tampered = raw.replace("xin chào", "giờ làm việc")
    ts = json.loads(raw)["timestamp"]
    resp = await client.post("/zalo-oa/webhook", data=tampered.encode(),
                             headers={"X-ZEvent-Signature": signature(APP_ID, raw, ts, OA_SECRET)})
    assert resp.status == 403 and fake.sent == []


async def test_a_signed_event_replayed_later_gets_403(oa):
    """Issue 15 (low): a captured, correctly signed event sent again minutes later is refused."""
    client, fake = oa
    old = json.loads(event("user-r", "xin chào"))
    for minutes in (6, -6):
        old["timestamp"] = str(int((time.time() - minutes * 60) * 1000))
        assert await post(client, json.dumps(old, ensure_ascii=False)) == 403
    assert fake.sent == []


async def test_a_signed_message_is_answered_after_refreshing_an_expired_token(oa):
    client, fake = oa
    raw = event("user-b", "xin chào", msg_id="dup-1")
    assert await post(client, raw) == 200
    assert await post(client, raw) == 200  # a retried delivery is answered once
    (user, text), = fake.sent
    assert user == "user-b" and text.startswith("Xin chào anh/chị") and "1. Hỏi thủ tục hành chính" in text
    assert fake.refreshes == ["refresh-1"]
    db = Database(client.server.app[SETTINGS].database_url)
    async with db.session() as s:
        row = (await s.scalars(select(OaToken))).one()
    await db.dispose()
    assert (row.access_token, row.refresh_token) == ("token-2", "refresh-2")  # the new pair is kept
    # The token expires again: the stored refresh token (not the configured, used one) works.
    fake.valid_token = "token-x"
    fake.refresh_tokens["refresh-2"] = 3
    await post(client, event("user-b", "cảm ơn"))
    assert fake.refreshes == ["refresh-1", "refresh-2"] and len(fake.sent) == 2


async def test_reply_window(oa):
    from datetime import datetime, timedelta, timezone

    from bot.handlers.zalo_oa import in_reply_window

    client, fake = oa
    app = client.server.app
    assert not await in_reply_window(app, "never-wrote")
    await post(client, event("user-c", "giờ làm việc"))
    assert await in_reply_window(app, "user-c")
    assert not await in_reply_window(app, "user-c", now=datetime.now(timezone.utc) + timedelta(days=8))
