"""Zalo Official Account through the gateway: signed webhooks, CS messages, token refresh, photos
and locations in the complaint form."""
import asyncio
import itertools
import json
import re
import time

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.handlers.zalo_oa import signature
from bot.inbox import TASKS
from bot.state import SETTINGS
from motcua.store import Database
from motcua.store.models import Complaint, OaToken
from motcua.store.officials import create_official

from tests.support.fake_zalo import PNG, serve_files
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
        self.files: dict[str, tuple[bytes, str]] = {}  # photos citizens sent, by name under /files/
        self.fetched: list[str] = []
        self.base_url = ""
        self.app = web.Application()
        self.app.router.add_post("/v3.0/oa/message/cs", self.cs)
        self.app.router.add_post("/v4/oa/access_token", self.oauth)
        serve_files(self.app, self.files, self.fetched)

    def said(self, user: str) -> list[str]:
        return [text for to, text in self.sent if to == user]

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


def attachment_event(user: str, event_name: str, attachment: dict) -> str:
    return json.dumps({"app_id": APP_ID, "user_id_by_app": "u", "event_name": event_name,
                       "timestamp": str(int(time.time() * 1000)), "sender": {"id": user}, "recipient": {"id": "oa"},
                       "message": {"msg_id": f"m{next(_ids)}", "attachments": [attachment]}}, ensure_ascii=False)


def image_event(user: str, url: str) -> str:
    return attachment_event(user, "user_send_image", {"type": "image", "payload": {"thumbnail": url, "url": url}})


def location_event(user: str, latitude, longitude) -> str:
    """Zalo sends the coordinates as strings."""
    return attachment_event(user, "user_send_location", {"type": "location", "payload": {
        "coordinates": {"latitude": latitude, "longitude": longitude}}})


async def start_oa(rasa_servers, database_url: str, access_token: str):
    fake = FakeOA()
    server = TestServer(fake.app)
    await server.start_server()
    fake.base_url = base = str(server.make_url("")).rstrip("/")
    client = await start_gateway(make_settings(
        database_url=database_url, rasa_url=rasa_servers["rasa_url"],
        case_database_url=rasa_servers["case_database_url"], dossier_watch_seconds=0,
        zalo_oa_app_id=APP_ID, zalo_oa_secret_key=OA_SECRET, zalo_oa_access_token=access_token,
        zalo_oa_app_secret=APP_SECRET, zalo_oa_refresh_token="refresh-1",
        zalo_oa_api_base_url=base, zalo_oa_oauth_base_url=base))
    return client, fake, server


@pytest.fixture
async def oa(rasa_servers, tmp_path):
    client, fake, server = await start_oa(rasa_servers, f"sqlite+aiosqlite:///{tmp_path / 'store.db'}", "token-expired")
    yield client, fake
    await client.close()
    await server.close()


@pytest.fixture
async def oa_shared(rasa_servers):
    """The OA on the store the action server files complaints in, as in production (the dashboard
    shows them)."""
    client, fake, server = await start_oa(rasa_servers, rasa_servers["database_url"], "token-1")
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


async def test_an_oa_complaint_with_a_shared_location_and_a_photo(oa_shared, rasa_servers):
    """Issue 19: on the OA, a location shared at the place question and a photo at the photo
    question are the complaint's coordinates and photo; the dashboard serves the photo it fetches
    from Zalo's URL."""
    client, fake = oa_shared
    user = f"oa-user-{next(_ids)}"
    fake.files["cay-do.png"] = (PNG, "image/png")
    url = f"{fake.base_url}/files/cay-do.png"

    async def say(raw: str) -> str:
        assert await post(client, raw) == 200
        return fake.said(user)[-1]

    await say(event(user, "tôi muốn gửi phản ánh"))
    await say(event(user, "Cây xanh bị đổ chắn ngang đường vào trường tiểu học"))
    asked = await say(event(user, "1"))
    assert "ở đâu" in asked and "bản đồ" in asked  # the OA takes a shared place: the question offers it
    assert "ảnh hiện trường" in await say(location_event(user, "14.356789", "108.998765"))
    assert "họ tên" in await say(image_event(user, url))
    await say(event(user, "Võ Thị Lan"))
    summary = await say(event(user, "0905 444 555"))
    assert "Vị trí đã chia sẻ: 14.35679, 108.99877" in summary and "Ảnh hiện trường: có" in summary
    ticket = re.search(r"PA-\d{4}-\d{6}", await say(event(user, "1"))).group(0)

    db = Database(rasa_servers["database_url"])
    async with db.session() as s, s.begin():
        c = await s.scalar(select(Complaint).where(Complaint.ticket == ticket))
        await create_official(s, f"sup-{user}", "mat-khau-anh-1234", role="supervisor")
    await db.dispose()
    assert isinstance(c.latitude, float) and isinstance(c.longitude, float)
    assert (round(c.latitude, 5), round(c.longitude, 5)) == (14.35679, 108.99877)
    assert re.fullmatch(r"zalo_oa:[0-9a-f]{16}:" + re.escape(url), c.photo)
    await client.post("/officials/login", data={"username": f"sup-{user}", "password": "mat-khau-anh-1234"})
    resp = await client.get(f"/officials/complaints/{ticket}/photo")
    assert resp.status == 200 and resp.content_type == "image/png" and await resp.read() == PNG
    page = await (await client.get(f"/officials/complaints/{ticket}")).text()
    assert 'id="photo"' in page and "openstreetmap" in page


@pytest.mark.parametrize("latitude, longitude", [
    ("abc", "108.99"), ("14.35", ""), ("95.0", "108.99"), ("14.35", "-181"), ("nan", "108.99"), ("1e1", "108.99"),
    ("١٤", "108.99"), (None, "108.99"), ("14.35; DROP TABLE complaints", "108.99")])
async def test_bad_oa_coordinates_get_a_polite_reply_and_the_place_is_still_asked(oa, latitude, longitude):
    client, fake = oa
    user = f"oa-user-{next(_ids)}"
    await post(client, event(user, "tôi muốn gửi phản ánh"))
    await post(client, event(user, "Cây xanh bị đổ chắn ngang đường vào trường tiểu học"))
    await post(client, event(user, "1"))
    assert "ở đâu" in fake.said(user)[-1]
    assert await post(client, location_event(user, latitude, longitude)) == 200
    reply = fake.said(user)[-1]
    assert reply.startswith("Tôi chưa đọc được vị trí") and "Traceback" not in reply
    # The form still waits for the place: a good location is taken.
    await post(client, location_event(user, "14.1", "108.9"))
    assert "ảnh hiện trường" in fake.said(user)[-1]


async def test_oa_events_without_a_readable_photo_or_location(oa):
    """No coordinates object, no image URL, a non-http one: polite replies, nothing fetched."""
    client, fake = oa
    user = f"oa-user-{next(_ids)}"
    await post(client, attachment_event(user, "user_send_location", {"type": "location", "payload": {}}))
    assert fake.said(user)[-1].startswith("Tôi chưa đọc được vị trí")
    for url in ("", "javascript:alert(1)", "file:///etc/passwd"):
        await post(client, image_event(user, url))
        assert fake.said(user)[-1].startswith("Tôi chưa mở được ảnh")
    await post(client, location_event(user, "14.1", "108.9"))  # outside the form: acknowledged
    assert "đã nhận được vị trí" in fake.said(user)[-1]
    assert fake.fetched == []
