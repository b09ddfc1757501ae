"""Filing a complaint on the web chat and asking its status (real gateway, Rasa, actions, store)."""
import uuid

from sqlalchemy import select

from conftest import say
from motcua.store import Database
from motcua.store.models import Complaint


async def file(gateway, sender, name_reply="Nguyễn Văn An", phone_reply="0905 123 456"):
    first = await say(gateway, "tôi muốn gửi phản ánh", sender)
    assert "mô tả sự việc" in first[-1]["text"]
    short = await say(gateway, "đường hư", sender)
    assert "ngắn quá" in short[0]["text"]
    cat = await say(gateway, "Đường liên thôn Gia Đẳng bị sạt lở, xe máy đi lại rất nguy hiểm", sender)
    buttons = cat[-1]["buttons"]
    assert cat[-1]["text"] == "Phản ánh của anh/chị thuộc lĩnh vực nào?" and len(buttons) == 6
    place = await say(gateway, buttons[0]["payload"], sender)
    assert "ở đâu" in place[-1]["text"]
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
    assert stored.sender_id == f"web:{sender}" and stored.category == "ha_tang_giao_thong"
    assert stored.name == "Nguyễn Văn An" and stored.phone == "0905123456"

    (status,) = await say(gateway, f"phản ánh {ticket} đến đâu rồi", sender)
    assert status["text"].startswith(f"Phản ánh {ticket}") and "Đã tiếp nhận" in status["text"]
    (stranger,) = await say(gateway, f"phản ánh {ticket} đến đâu rồi", f"other-{sender}")
    assert "chỉ cung cấp tình trạng" in stranger["text"] and "Gia Đẳng" not in stranger["text"]


async def test_anonymous_complaint_and_cancel(gateway, rasa_servers):
    sender = f"pa-{uuid.uuid4().hex[:8]}"
    summary = await file(gateway, sender, name_reply="/deny", phone_reply="/deny")
    assert "ẩn danh" in summary[-1]["text"] and "không liên hệ lại" in summary[-1]["text"]
    (cancelled,) = await say(gateway, "/deny", sender)
    assert cancelled["text"].startswith("Đã hủy, phản ánh chưa được gửi")
