"""Zalo Bot Platform through the gateway, against a local fake API and the session's real Rasa."""
import asyncio
import itertools
import json
import re

import pytest
from sqlalchemy import select

from bot.inbox import TASKS
from bot.messages import NOT_TEXT, NOT_TEXT_KEPT
from bot.state import DB
from motcua.store import Database
from motcua.store.models import Complaint, Conversation, Message
from motcua.store.officials import create_official

from tests.support.fake_zalo import PNG, SECRET, image_event, sticker_event, text_event

_chats = itertools.count(1)


def chat() -> str:
    return f"zalo-user-{next(_chats)}"


async def deliver(client, event, secret=SECRET):
    resp = await client.post("/zalo/webhook", json=event, headers={"X-Bot-Api-Secret-Token": secret} if secret else {})
    await asyncio.gather(*list(client.server.app[TASKS]))
    return resp.status


async def test_webhook_registered_and_forgeries_refused(zalo):
    client, fake = zalo
    assert ("setWebhook", {"url": "https://bot.example.invalid/zalo/webhook", "secret_token": SECRET}) in fake.calls
    c = chat()
    assert await deliver(client, text_event(c, "xin chào"), secret=None) == 403
    assert await deliver(client, text_event(c, "xin chào"), secret="nope") == 403
    assert fake.sent(c) == []


async def test_choices_are_a_numbered_list_and_a_number_answers(zalo):
    client, fake = zalo
    c = chat()
    assert await deliver(client, text_event(c, "xin chào")) == 200
    (greeting,) = fake.sent(c)
    assert greeting.startswith("Xin chào anh/chị") and "Anh/chị trả lời bằng số:\n1. Hỏi thủ tục hành chính" in greeting
    await deliver(client, text_event(c, "2"))  # "Tra cứu hồ sơ"
    assert "mã hồ sơ" in fake.sent(c)[-1]


async def test_a_retried_event_is_answered_once_and_ok_false_is_retried(zalo):
    client, fake = zalo
    c = chat()
    fake.fail_next_ok_false = 1
    event = text_event(c, "giờ làm việc", message_id="same-id")
    await deliver(client, event)
    await deliver(client, event)
    assert len(fake.sent(c)) == 1 and ("sendMessage:fail" in [m for m, _ in fake.calls])


async def test_long_replies_are_split_and_non_text_gets_a_polite_reply(zalo):
    client, fake = zalo
    c = chat()
    await deliver(client, text_event(c, "thủ tục cấp sổ đỏ cần giấy tờ gì"))
    assert all(len(t) <= 2000 for t in fake.sent(c))
    await deliver(client, sticker_event(c))
    assert fake.sent(c)[-1].startswith("Hiện tôi chỉ đọc được tin nhắn chữ")
    async with client.server.app[DB].session() as s:  # kept, answered, recorded
        kept = (await s.execute(select(Message.direction, Message.text, Message.delivered_at).join(Conversation)
                                .where(Conversation.chat_id == c).order_by(Message.id.desc()).limit(2))).all()
    assert [(d, t) for d, t, _ in kept] == [("out", NOT_TEXT), ("in", NOT_TEXT_KEPT)] and kept[0][2] is not None


async def test_a_zalo_citizen_asks_a_procedure_looks_up_a_dossier_and_files_a_complaint(zalo):
    import re

    client, fake = zalo
    c = chat()

    async def say(text: str) -> str:
        assert await deliver(client, text_event(c, text)) == 200
        return fake.sent(c)[-1]

    assert "tờ khai" in (await say("dang ky khai sinh can giay to gi")).lower()
    assert "4 số cuối" in await say("tra cứu hồ sơ 000.00.24.H08-261101-0001")
    assert "Đang xử lý" in await say("1111")
    await say("tôi muốn gửi phản ánh")
    categories = await say("Rác thải đổ trộm ven suối Kim Sơn gây mùi hôi")
    assert "1. Hạ tầng – giao thông" in categories and "2. Môi trường" in categories
    asked = await say("2")
    assert "ở đâu" in asked and "bản đồ" not in asked  # the Bot Platform has no location event
    assert "ảnh hiện trường" in await say("ven suối Kim Sơn")  # Zalo sends photos (issue 19)
    assert "họ tên" in await say("1")  # "1. Bỏ qua"
    await say("Trần Văn Hùng")
    summary = await say("0912 345 678")
    assert "Môi trường" in summary and "1. Gửi" in summary
    assert re.search(r"PA-\d{4}-\d{6}", await say("1"))


@pytest.mark.parametrize("text", ["", "x" * 10_000, "😀😀😀", "\x00\x07\x1b", "'; DROP TABLE complaints;--"])
async def test_bad_input_on_zalo_gets_a_polite_vietnamese_reply(zalo, text):
    client, fake = zalo
    c = chat()
    assert await deliver(client, text_event(c, text)) == 200
    (reply,) = fake.sent(c)[-1:]
    assert reply and "Traceback" not in reply and "anh/chị" in reply.lower()


async def login_supervisor(client, rasa_servers, username: str) -> None:
    db = Database(rasa_servers["database_url"])
    async with db.session() as s, s.begin():
        await create_official(s, username, "mat-khau-anh-1234", role="supervisor")
    await db.dispose()
    resp = await client.post("/officials/login", data={"username": username, "password": "mat-khau-anh-1234"},
                             allow_redirects=False)
    assert resp.status == 302


async def stored_complaint(rasa_servers, ticket: str) -> Complaint:
    db = Database(rasa_servers["database_url"])
    async with db.session() as s:
        complaint = await s.scalar(select(Complaint).where(Complaint.ticket == ticket))
    await db.dispose()
    return complaint


async def test_a_zalo_complaint_with_a_photo_that_the_dashboard_shows(zalo, rasa_servers):
    """Issue 19: the photo question is asked on Zalo; a photo sent there (with a caption) is the
    complaint's photo, and the dashboard fetches it from Zalo's URL and serves it. The Bot Platform
    has no location event: the place is typed."""
    client, fake = zalo
    c = chat()
    fake.files["hien-truong.png"] = (PNG, "image/png")
    url = f"{fake.base_url}/files/hien-truong.png"

    async def say(event) -> str:
        assert await deliver(client, event) == 200
        return fake.sent(c)[-1]

    await say(text_event(c, "tôi muốn gửi phản ánh"))
    await say(text_event(c, "Cột điện nghiêng sắp đổ xuống đường liên thôn"))
    assert "ở đâu" in await say(text_event(c, "1"))  # "1. Hạ tầng – giao thông"
    assert "ảnh hiện trường" in await say(text_event(c, "ngã ba thôn Gia Đức"))
    assert "họ tên" in await say(image_event(c, url, caption="cột điện ở đây"))
    await say(text_event(c, "Võ Thị Lan"))
    summary = await say(text_event(c, "0905 444 555"))
    assert "Địa điểm: ngã ba thôn Gia Đức" in summary and "Ảnh hiện trường: có" in summary
    ticket = re.search(r"PA-\d{4}-\d{6}", await say(text_event(c, "1"))).group(0)

    complaint = await stored_complaint(rasa_servers, ticket)
    assert re.fullmatch(r"zalo:[0-9a-f]{16}:" + re.escape(url), complaint.photo)
    assert complaint.latitude is None and complaint.longitude is None
    await login_supervisor(client, rasa_servers, f"zl-{c}")
    resp = await client.get(f"/officials/complaints/{ticket}/photo")
    assert resp.status == 200 and resp.content_type == "image/png" and await resp.read() == PNG
    assert fake.fetched == ["hien-truong.png"]  # fetched by the dashboard, once, server-side
    page = await (await client.get(f"/officials/complaints/{ticket}")).text()
    assert 'id="photo"' in page and f"/officials/complaints/{ticket}/photo" in page


async def test_zalo_photos_outside_the_form_and_unreadable_or_typed_ones(zalo, rasa_servers):
    """A photo outside a complaint is acknowledged (its URL given as `photo`, the older field); one
    with no http(s) URL gets a polite reply; a photo reference typed as a message is refused
    by the form when it names another channel, and never fetched by the dashboard when it names Zalo."""
    client, fake = zalo
    c = chat()

    async def say(event) -> str:
        assert await deliver(client, event) == 200
        return fake.sent(c)[-1]

    assert "đã nhận được ảnh" in await say(image_event(c, f"{fake.base_url}/files/a.jpg", field="photo"))
    assert (await say(image_event(c, "file:///etc/passwd"))).startswith("Tôi chưa mở được ảnh")
    await say(text_event(c, "tôi muốn gửi phản ánh"))
    await say(text_event(c, "Đèn đường hỏng cả tháng nay, buổi tối rất tối"))
    await say(text_event(c, "1"))
    assert "ảnh hiện trường" in await say(text_event(c, "thôn Gia Đức"))
    typed = "/inform" + json.dumps({"photo": "telegram:AgACsomeone-else"})
    await say(text_event(c, typed))
    assert "chưa nhận được ảnh" in fake.sent(c)[-2]  # then the question again
    forged = "/inform" + json.dumps({"photo": f"zalo:{'0' * 16}:{fake.base_url}/files/internal"})
    assert "họ tên" in await say(text_event(c, forged))
    await say(text_event(c, "1"))  # no name
    await say(text_event(c, "1"))  # no phone
    ticket = re.search(r"PA-\d{4}-\d{6}", await say(text_event(c, "1"))).group(0)
    await login_supervisor(client, rasa_servers, f"zl-{c}")
    resp = await client.get(f"/officials/complaints/{ticket}/photo")
    assert resp.status == 404 and "Không có ảnh" in await resp.text()
    assert fake.fetched == []
