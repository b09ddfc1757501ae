"""Booking a time at the one-stop office on the web chat, then cancelling or moving it: from the chat
that booked, and from another chat with the last 4 phone digits, wrong digits throttled (real
gateway, Rasa, actions and store; issue 19)."""
import uuid
from datetime import timedelta

from bot.appointment_reminders import remind_once
from motcua.store.cases import as_utc

from tests.support.chat import say, stored_appointment, updates, web_id


async def book(gateway, sender: str, phone: str = "0905 123 456", first: str = "đặt lịch nộp hồ sơ khai sinh") -> str:
    """A whole booking, answering with the first day and the first time offered; returns its code."""
    days = await say(gateway, first, sender)
    assert "ngày nào" in days[-1]["text"] and "Quầy 1 – Hộ tịch" in days[-1]["text"], days
    assert days[-1]["buttons"] and "còn" in days[-1]["buttons"][0]["title"]
    times = await say(gateway, days[-1]["buttons"][0]["payload"], sender)
    assert "chọn giờ" in times[-1]["text"] and times[-1]["buttons"], times
    name = await say(gateway, times[-1]["buttons"][0]["payload"], sender)
    assert "họ và tên" in name[-1]["text"]
    bad_phone = await say(gateway, "Nguyễn Thị Bình", sender)
    assert "số điện thoại" in bad_phone[-1]["text"]
    retry = await say(gateway, "12345", sender)
    assert "chưa đúng" in retry[0]["text"]
    summary = await say(gateway, phone, sender)
    text = summary[-1]["text"]
    assert "Đăng ký khai sinh" in text and "Nguyễn Thị Bình" in text and "Đặt lịch này?" in text
    (done,) = await say(gateway, "/affirm", sender)
    assert done["text"].startswith("Đã đặt lịch hẹn thành công."), done
    assert "Giấy tờ cần mang theo" in done["text"] and "Quầy 1 – Hộ tịch" in done["text"]
    return done["text"].split("Mã lịch hẹn: ")[1].split("\n")[0]


async def test_book_then_cancel_from_the_chat_that_booked(gateway, rasa_servers):
    sender = f"lh-{uuid.uuid4().hex[:8]}"
    code = await book(gateway, sender)
    assert code.startswith("LH-") and len(code) == len("LH-2026-000042")
    a = await stored_appointment(rasa_servers, code)
    assert a.sender_id == f"web:{web_id(sender)}" and a.phone == "0905123456" and a.status == "booked"
    assert a.procedure_id == "khai_sinh" and a.counter_id == "quay_1"

    (cancelled,) = await say(gateway, f"hủy lịch hẹn {code.lower().replace('-', ' ')}", sender)
    assert cancelled["text"].startswith(f"Đã hủy lịch hẹn {code}"), cancelled
    assert (await stored_appointment(rasa_servers, code)).status == "cancelled"
    (again,) = await say(gateway, f"hủy lịch hẹn {code}", sender)
    assert "không thể hủy" in again["text"]


async def test_the_procedure_is_asked_when_not_named_and_booking_can_be_stopped(gateway, rasa_servers):
    sender = f"lh-{uuid.uuid4().hex[:8]}"
    asked = await say(gateway, "dat lich hen", sender)
    assert "thủ tục nào" in asked[-1]["text"] and asked[-1]["buttons"]
    days = await say(gateway, "chứng thực bản sao", sender)
    assert "Quầy 2 – Chứng thực" in days[-1]["text"], days
    (stopped,) = await say(gateway, "hủy", sender)
    assert stopped["text"].startswith("Đã dừng đặt lịch hẹn")


async def test_another_chat_needs_the_phone_digits_and_wrong_digits_are_throttled(gateway, rasa_servers):
    owner = f"lh-{uuid.uuid4().hex[:8]}"
    code = await book(gateway, owner, phone="0912 345 678")
    stranger = f"other-{owner}"
    asked = await say(gateway, f"hủy lịch hẹn {code}", stranger)
    assert "4 số cuối" in asked[-1]["text"] and "Nguyễn" not in asked[-1]["text"]
    (wrong,) = await say(gateway, "1111", stranger)
    assert "chưa khớp" in wrong["text"] and "còn 4 lần" in wrong["text"]
    for _ in range(4):
        await say(gateway, f"hủy lịch hẹn {code}", stranger)
        last = await say(gateway, "1111", stranger)
    assert "tạm khóa" in last[-1]["text"]
    assert (await stored_appointment(rasa_servers, code)).status == "booked"
    (locked,) = await say(gateway, f"hủy lịch hẹn {code}", stranger)  # the right digits are not even asked for
    assert "tạm khóa" in locked["text"]

    other = f"third-{owner}"
    await say(gateway, f"huy lich hen {code}", other)
    (done,) = await say(gateway, "5678", other)
    assert done["text"].startswith(f"Đã hủy lịch hẹn {code}")
    assert (await stored_appointment(rasa_servers, code)).status == "cancelled"


async def test_move_a_booking_to_another_time(gateway, rasa_servers):
    sender = f"lh-{uuid.uuid4().hex[:8]}"
    code = await book(gateway, sender)
    before = await stored_appointment(rasa_servers, code)
    days = await say(gateway, f"đổi lịch hẹn {code}", sender)
    assert "ngày nào" in days[-1]["text"], days
    times = await say(gateway, days[-1]["buttons"][-1]["payload"], sender)
    summary = await say(gateway, times[-1]["buttons"][-1]["payload"], sender)
    assert "Đổi sang lịch này?" in summary[-1]["text"]
    (moved,) = await say(gateway, "/affirm", sender)
    assert moved["text"].startswith(f"Đã đổi lịch hẹn {code} sang"), moved
    after = await stored_appointment(rasa_servers, code)
    assert after.starts_at != before.starts_at and after.status == "booked"


async def test_the_web_chat_page_collects_the_reminder(gateway, rasa_servers):
    sender = f"lh-{uuid.uuid4().hex[:8]}"
    code = await book(gateway, sender)
    start = await updates(gateway, sender)
    soon = as_utc((await stored_appointment(rasa_servers, code)).starts_at) - timedelta(minutes=59)
    assert await remind_once(gateway.server.app, now=soon) == 1
    (reminder,) = (await updates(gateway, sender, start["last"]))["messages"]
    assert reminder["text"].startswith(f"Nhắc lịch: sắp đến giờ hẹn của anh/chị {code}")
    assert reminder["buttons"][0]["title"] == "Hủy lịch hẹn"
