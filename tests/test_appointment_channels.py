"""Booking a time at the office on Telegram (inline buttons) and Zalo (numbered choices), cancelling
from another chat with the phone digits, and the reminders pushed on the booking's channel on a
controlled clock (real gateway, Rasa, actions and store; local fake Bot APIs; issue 19)."""
import itertools
import json
from datetime import timedelta

from bot.appointment_reminders import remind_once
from motcua.store.cases import as_utc
from motcua.workdays import VIETNAM

from tests.support.chat import deliver as deliver_telegram
from tests.support.chat import stored_appointment
from tests.support.fake_telegram import callback_update, text_update
from tests.support.fake_zalo import text_event
from tests.test_zalo import deliver as deliver_zalo

_tg_chats = itertools.count(7_400_001)
_zalo_chats = itertools.count(1)


def keyboard(message: dict) -> list[dict]:
    markup = message["reply_markup"]
    rows = (json.loads(markup) if isinstance(markup, str) else markup)["inline_keyboard"]
    return [button for row in rows for button in row]


async def test_book_on_telegram_with_buttons_then_reminders_on_a_controlled_clock(tg, rasa_servers):
    client, fake = tg
    chat = next(_tg_chats)
    await deliver_telegram(client, text_update(chat, "cho mình đặt lịch làm giấy khai sinh cho con"))
    days = fake.sent(chat)[-1]
    assert "ngày nào" in days["text"] and keyboard(days)
    await deliver_telegram(client, callback_update(chat, keyboard(days)[0]["callback_data"]))
    times = fake.sent(chat)[-1]
    assert "chọn giờ" in times["text"]
    await deliver_telegram(client, callback_update(chat, keyboard(times)[0]["callback_data"]))
    for text in ("Trần Văn Cường", "0935 111 222"):
        await deliver_telegram(client, text_update(chat, text))
    summary = fake.sent(chat)[-1]
    assert "Đặt lịch này?" in summary["text"] and "Trần Văn Cường" in summary["text"]
    confirm = next(b for b in keyboard(summary) if b["text"] == "Xác nhận")
    await deliver_telegram(client, callback_update(chat, confirm["callback_data"]))
    done = fake.sent(chat)[-1]["text"]
    assert done.startswith("Đã đặt lịch hẹn thành công."), done
    code = done.split("Mã lịch hẹn: ")[1].split("\n")[0]
    booking = await stored_appointment(rasa_servers, code)
    assert booking.sender_id == f"telegram:{chat}"

    # The clock: the evening before at the locality's time (19:00), then an hour before.
    start = as_utc(booking.starts_at)
    evening = (start.astimezone(VIETNAM) - timedelta(days=1)).replace(hour=19, minute=0)
    before = len(fake.sent(chat))
    if as_utc(booking.created_at) < evening:  # booked before that evening: reminded then
        assert await remind_once(client.server.app, now=evening - timedelta(minutes=1)) == 0
        assert await remind_once(client.server.app, now=evening) == 1
        assert await remind_once(client.server.app, now=evening + timedelta(minutes=5)) == 0
        reminder = fake.sent(chat)[-1]
        assert reminder["text"].startswith(f"Nhắc lịch: ngày mai anh/chị có lịch hẹn {code}")
        assert keyboard(reminder)[0]["text"] == "Hủy lịch hẹn"
    soon = start - timedelta(minutes=60)
    assert await remind_once(client.server.app, now=soon) == 1
    assert await remind_once(client.server.app, now=soon + timedelta(minutes=1)) == 0
    reminder = fake.sent(chat)[-1]
    assert reminder["text"].startswith(f"Nhắc lịch: sắp đến giờ hẹn của anh/chị {code}")
    assert len(fake.sent(chat)) == before + (2 if as_utc(booking.created_at) < evening else 1)

    # The reminder's button cancels it.
    await deliver_telegram(client, callback_update(chat, keyboard(reminder)[0]["callback_data"]))
    assert fake.sent(chat)[-1]["text"].startswith(f"Đã hủy lịch hẹn {code}")
    assert (await stored_appointment(rasa_servers, code)).status == "cancelled"


async def test_book_on_zalo_with_numbers_and_cancel_from_another_zalo_chat(zalo, rasa_servers):
    client, fake = zalo
    c = f"zalo-lh-{next(_zalo_chats)}"
    await deliver_zalo(client, text_event(c, "dat lich hen chung thuc ban sao"))
    days = fake.sent(c)[-1]
    assert "Quầy 2 – Chứng thực" in days and "Anh/chị trả lời bằng số:\n1. " in days, days
    await deliver_zalo(client, text_event(c, "1"))
    assert "chọn giờ" in fake.sent(c)[-1]
    await deliver_zalo(client, text_event(c, "2"))
    for text in ("Lê Thị Dung", "0977 222 333"):
        await deliver_zalo(client, text_event(c, text))
    assert "Đặt lịch này?" in fake.sent(c)[-1]
    await deliver_zalo(client, text_event(c, "1"))  # 1. Xác nhận
    done = fake.sent(c)[-1]
    assert done.startswith("Đã đặt lịch hẹn thành công."), done
    code = done.split("Mã lịch hẹn: ")[1].split("\n")[0]
    assert (await stored_appointment(rasa_servers, code)).counter_id == "quay_2"

    other = f"zalo-lh-other-{next(_zalo_chats)}"
    await deliver_zalo(client, text_event(other, f"hủy lịch hẹn {code}"))
    assert "4 số cuối" in fake.sent(other)[-1]
    await deliver_zalo(client, text_event(other, "0000"))
    assert "chưa khớp" in fake.sent(other)[-1]
    assert (await stored_appointment(rasa_servers, code)).status == "booked"
    await deliver_zalo(client, text_event(other, f"huy lich hen {code}"))
    await deliver_zalo(client, text_event(other, "2333"))
    assert fake.sent(other)[-1].startswith(f"Đã hủy lịch hẹn {code}")
    assert (await stored_appointment(rasa_servers, code)).status == "cancelled"
