"""Filing a complaint on the web chat and asking its status (real gateway, Rasa, actions, store)."""
import uuid

from sqlalchemy import select

from motcua.store import Database
from motcua.store.models import Complaint, DossierLookup

from tests.support.chat import say, web_id


async def file(gateway, sender, name_reply="Nguyễn Văn An", phone_reply="0905 123 456"):
    first = await say(gateway, "tôi muốn gửi phản ánh", sender)
    assert "mô tả sự việc" in first[-1]["text"]
    short = await say(gateway, "đường hư", sender)
    assert "ngắn quá" in short[0]["text"]
    cat = await say(gateway, "Đường liên thôn Gia Đẳng bị sạt lở, xe máy đi lại rất nguy hiểm", sender)
    buttons = cat[-1]["buttons"]
    assert cat[-1]["text"] == "Phản ánh của anh/chị thuộc lĩnh vực nào?" and len(buttons) == 6
    place = await say(gateway, buttons[0]["payload"], sender)
    assert "ở đâu" in place[-1]["text"] and "bản đồ" not in place[-1]["text"]  # no place can be shared here
    name = await say(gateway, "thôn Gia Đẳng, xã Ân Tường", sender)
    assert "họ tên" in name[-1]["text"]
    phone = await say(gateway, name_reply, sender)
    assert "Số điện thoại" in phone[-1]["text"]
    return await say(gateway, phone_reply, sender)


async def test_file_a_complaint_and_ask_its_status(gateway, rasa_servers):
    sender = f"pa-{uuid.uuid4().hex[:8]}"
    summary = await file(gateway, sender)
    assert "Đường liên thôn Gia Đẳng bị sạt lở" in summary[-1]["text"] and "0905123456" in summary[-1]["text"]
    (done,) = await say(gateway, summary[-1]["buttons"][0]["payload"], sender)
    assert done["text"].startswith("Phản ánh của anh/chị đã được tiếp nhận với mã PA-")
    ticket = done["text"].split("mã ")[1].split(".")[0]

    db = Database(rasa_servers["database_url"])
    async with db.session() as s:
        stored = await s.scalar(select(Complaint).where(Complaint.ticket == ticket))
    await db.dispose()
    assert stored.sender_id == f"web:{web_id(sender)}" and stored.category == "ha_tang_giao_thong"
    assert stored.name == "Nguyễn Văn An" and stored.phone == "0905123456"

    (status,) = await say(gateway, f"phản ánh {ticket} đến đâu rồi", sender)
    assert status["text"].startswith(f"Phản ánh {ticket}") and "Đã tiếp nhận" in status["text"]
    # Another chat is asked for the phone digits first (see the tests below).
    (stranger,) = await say(gateway, f"phản ánh {ticket} đến đâu rồi", f"other-{sender}")
    assert "4 số cuối" in stranger["text"] and "Gia Đẳng" not in stranger["text"]


async def test_anonymous_complaint_and_cancel(gateway, rasa_servers):
    sender = f"pa-{uuid.uuid4().hex[:8]}"
    summary = await file(gateway, sender, name_reply="/deny", phone_reply="/deny")
    assert "ẩn danh" in summary[-1]["text"] and "không liên hệ lại" in summary[-1]["text"]
    (cancelled,) = await say(gateway, "/deny", sender)
    assert cancelled["text"].startswith("Đã hủy, phản ánh chưa được gửi")


# --- status from another chat: the last 4 digits of the complaint's phone -------------------------

async def filed_ticket(gateway, sender, **replies) -> str:
    summary = await file(gateway, sender, **replies)
    (done,) = await say(gateway, summary[-1]["buttons"][0]["payload"], sender)
    return done["text"].split("mã ")[1].split(".")[0]


async def ask_from(gateway, sender, ticket, digits):
    """Another chat asks about a ticket; the bot asks for the phone digits; the chat gives them."""
    asked = await say(gateway, f"phản ánh {ticket} xử lý tới đâu rồi", sender)
    assert "4 số cuối của số điện thoại đã để lại khi gửi phản ánh" in asked[-1]["text"], asked
    assert ticket not in asked[-1]["text"]
    return (await say(gateway, digits, sender))[-1]["text"]


def chat() -> str:
    return f"pa-{uuid.uuid4().hex[:8]}"


async def test_another_chat_sees_the_complaint_after_the_phone_digits(gateway, rasa_servers):
    ticket = await filed_ticket(gateway, chat())
    other = chat()
    shown = await ask_from(gateway, other, ticket, "số của tôi 0905 123 456")
    assert shown.startswith(f"Phản ánh {ticket}") and "Đã tiếp nhận" in shown and "Phòng Kinh tế" in shown
    db = Database(rasa_servers["database_url"])
    async with db.session() as s:
        audit = (await s.scalars(select(DossierLookup.outcome).where(DossierLookup.sender_id == f"web:{web_id(other)}"))).all()
    await db.dispose()
    assert list(audit) == ["ticket_verified"]


async def test_wrong_digits_unknown_ticket_and_anonymous_get_the_same_reply(gateway):
    ticket = await filed_ticket(gateway, chat())
    anonymous = await filed_ticket(gateway, chat(), name_reply="/deny", phone_reply="/deny")
    wrong = await ask_from(gateway, chat(), ticket, "9999")
    unknown = await ask_from(gateway, chat(), "PA-2099-999999", "3456")
    anon = await ask_from(gateway, chat(), anonymous, "3456")
    assert wrong == unknown == anon
    assert "chưa khớp" in wrong and "còn 4 lần thử" in wrong
    assert "Gia Đẳng" not in wrong and "Phòng Kinh tế" not in wrong and "Tình trạng" not in wrong


async def test_the_filing_chat_is_not_asked_for_digits(gateway):
    sender = chat()
    ticket = await filed_ticket(gateway, sender, name_reply="/deny", phone_reply="/deny")
    asked = await say(gateway, "kiểm tra phản ánh của tôi", sender)
    assert "mã phản ánh" in asked[-1]["text"]
    (shown,) = await say(gateway, ticket.lower().replace("-", " "), sender)
    assert shown["text"].startswith(f"Phản ánh {ticket}")


async def test_a_malformed_ticket_is_asked_again_and_deny_stops(gateway):
    sender = chat()
    await say(gateway, "tra cứu phản ánh", sender)
    again = await say(gateway, "PA-12", sender)
    assert "chưa đúng dạng" in again[0]["text"]
    (stopped,) = await say(gateway, "/deny", sender)
    assert stopped["text"].startswith("Đã dừng tra cứu phản ánh")


async def test_repeated_failures_lock_the_chat(gateway):
    ticket = await filed_ticket(gateway, chat())
    sender = chat()
    replies = [await ask_from(gateway, sender, ticket, "0000") for _ in range(5)]
    assert "còn 4 lần thử" in replies[0] and "còn 1 lần thử" in replies[3] and "tạm khóa" in replies[4]
    # Even the right digits are refused now, without being asked for them.
    locked = await say(gateway, f"phản ánh {ticket} xử lý tới đâu rồi", sender)
    assert "tạm khóa" in locked[-1]["text"] and "Tình trạng" not in locked[-1]["text"]
    shown = await ask_from(gateway, chat(), ticket, "3456")
    assert shown.startswith(f"Phản ánh {ticket}")
