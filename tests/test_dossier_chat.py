"""Dossier lookup on the web chat: real gateway, Rasa form, action server and databases."""
import uuid

import pytest
from sqlalchemy import select

from motcua.store import Database
from motcua.store.models import DossierLookup

from tests.support.chat import say, updates, web_id

CODE = "000.00.24.H08-261101-0001"
FOLLOWED = "000.00.24.H08-261101-0006"  # only the follow test changes it


def chat() -> str:
    return f"dossier-{uuid.uuid4().hex[:10]}"


async def lookup(gateway, sender, code_text, digits, opener="tra cứu hồ sơ", address=None):
    first = await say(gateway, opener, sender, address)
    if code_text is not None:
        assert "mã hồ sơ" in first[-1]["text"], first
        asked = await say(gateway, code_text, sender, address)
    else:
        asked = first
    assert "4 số cuối" in asked[-1]["text"], asked
    return await say(gateway, digits, sender, address)


async def test_a_verified_lookup_shows_the_dossier(gateway):
    (reply,) = await lookup(gateway, chat(), CODE, "1111")
    text = reply["text"]
    assert text.startswith(f"Hồ sơ {CODE}")
    assert "Thủ tục: Đăng ký kết hôn" in text and "Ngày tiếp nhận: 01/11/2026" in text
    assert "Ngày hẹn trả kết quả: 31/12/2099" in text and "Tình trạng: Đang xử lý" in text


@pytest.mark.parametrize("typed", ["mã của tôi là 000.00.24.h08 261101 0001 nhé", "000.00.24.H08-261101-0001"])
async def test_the_code_is_accepted_in_lower_case_with_spaces_inside_a_sentence(gateway, typed):
    (reply,) = await lookup(gateway, chat(), typed, "số đt 0905 00 1111")
    assert reply["text"].startswith(f"Hồ sơ {CODE}")


async def test_a_code_in_the_first_message_is_used(gateway):
    (reply,) = await lookup(gateway, chat(), None, "1111", opener=f"kiểm tra giúp hồ sơ {CODE}")
    assert reply["text"].startswith(f"Hồ sơ {CODE}")


async def test_overdue_dossier_apologises(gateway):
    (reply,) = await lookup(gateway, chat(), "000.00.24.H08-261101-0002", "2222")
    assert "quá hạn" in reply["text"] and "xin lỗi" in reply["text"]


@pytest.mark.parametrize("code, digits, expected", [
    ("000.00.24.H08-261101-0003", "3333", "Anh/chị cần bổ sung: Bổ sung hợp đồng thuê mặt bằng"),
    ("000.00.24.H08-261101-0004", "4444", "Kết quả đã có. Mời anh/chị đến nhận"),
    ("000.00.24.H08-261101-0005", "5555", "nghĩa vụ tài chính: Nộp thuế thu nhập cá nhân"),
])
async def test_what_each_status_asks_of_the_citizen(gateway, code, digits, expected):
    (reply,) = await lookup(gateway, chat(), code, digits)
    assert expected in reply["text"]


async def test_no_leak_wrong_digits_and_unknown_code_get_the_same_reply(gateway):
    (wrong,) = await lookup(gateway, chat(), CODE, "9999")
    (unknown,) = await lookup(gateway, chat(), "000.00.24.H08-261101-9876", "1111")
    assert wrong["text"] == unknown["text"]
    assert "chưa khớp" in wrong["text"] and "Nguyễn" not in wrong["text"] and "kết hôn" not in wrong["text"]


async def test_five_failures_lock_the_chat_but_not_others(gateway, rasa_servers):
    sender = chat()
    replies = [(await lookup(gateway, sender, CODE, "0000"))[0]["text"] for _ in range(5)]
    assert "còn 4 lần thử" in replies[0] and "còn 1 lần thử" in replies[3]
    assert "tạm khóa" in replies[4]
    # Even the right digits are refused now, without asking for the code again.
    locked = await say(gateway, "tra cứu hồ sơ", sender)
    assert "tạm khóa" in locked[-1]["text"]
    (other,) = await lookup(gateway, chat(), CODE, "1111")
    assert other["text"].startswith(f"Hồ sơ {CODE}")
    db = Database(rasa_servers["database_url"])
    async with db.session() as s:
        outcomes = (await s.scalars(select(DossierLookup.outcome).where(DossierLookup.sender_id == f"web:{web_id(sender)}")
                                    .order_by(DossierLookup.id))).all()
    await db.dispose()
    assert outcomes == ["failed"] * 5 + ["locked"]


async def test_invalid_code_is_asked_again_and_the_citizen_can_stop(gateway):
    sender = chat()
    await say(gateway, "tra cứu hồ sơ", sender)
    again = await say(gateway, "mã là abc 12345", sender)
    assert "chưa đúng dạng" in again[0]["text"]
    stop = await say(gateway, "không", sender)
    assert "Đã dừng tra cứu" in stop[-1]["text"]


async def test_follow_a_dossier_and_get_told_when_it_changes(gateway, rasa_servers, tmp_path):
    from bot.state import CASES, DB
    from bot.watcher import check_once
    from motcua.cases_import import import_csv

    sender = chat()
    # Following needs a verified lookup first: the button's payload alone proves nothing.
    refused = await say(gateway, "/subscribe_dossier", sender)
    assert "cần tra cứu và xác minh" in refused[0]["text"]
    (shown,) = await lookup(gateway, sender, FOLLOWED, "6666")
    assert shown["buttons"] == [{"title": "Báo cho tôi khi hồ sơ thay đổi", "payload": "/subscribe_dossier"}]
    (ok,) = await say(gateway, shown["buttons"][0]["payload"], sender)
    assert ok["text"].startswith("Đã đăng ký")

    start = await updates(gateway, sender)
    app = gateway.server.app
    assert await check_once(app) == 0  # nothing changed yet
    # The one-stop system's next export says the dossier is done.
    csv = tmp_path / "update.csv"
    csv.write_text("code,procedure_id,applicant_name,phone,received_at,due_at,status,agency,note\n"
                   f"{FOLLOWED},ket_hon,Đặng Văn Phúc,0905006666,2026-11-01,2099-12-31,done,UBND xã Hoài Ân,\n",
                   encoding="utf-8")
    await import_csv(csv, rasa_servers["case_database_url"])
    assert await check_once(app) == 1
    assert await check_once(app) == 0  # told once, not at every pass
    got = await updates(gateway, sender, start["last"])
    (note,) = got["messages"]
    assert "vừa có cập nhật" in note["text"] and "Kết quả đã có" in note["text"]
    # Returned: the citizen is asked to rate how it was handled, with one tap per level.
    csv.write_text(csv.read_text(encoding="utf-8").replace(",done,", ",returned,"), encoding="utf-8")
    await import_csv(csv, rasa_servers["case_database_url"])
    assert await check_once(app) == 1
    got = await updates(gateway, sender, got["last"])
    (rate,) = got["messages"]
    assert "hài lòng" in rate["text"]
    assert [b["title"] for b in rate["buttons"]] == ["Rất hài lòng", "Hài lòng", "Không hài lòng"]
    assert FOLLOWED in rate["buttons"][0]["payload"]
    # Another chat sees nothing of it.
    other = await updates(gateway, chat(), 0)
    assert other["messages"] == []

    (bye,) = await say(gateway, "hủy theo dõi hồ sơ", sender)
    assert bye["text"].startswith("Đã hủy theo dõi")
    assert app[DB] and app[CASES]


async def test_digits_guessed_across_fresh_chats_lock_the_code_itself(gateway, rasa_servers):
    """Issue 15, item 1: 30 wrong tries from 15 fresh chats (2 each, under the per-chat lock), then
    the right digits from a 16th chat — the code is locked for everyone, and the lock is audited."""
    code = "000.00.24.H08-261101-0107"  # failed only here: the lock lasts an hour
    replies = []
    for i in range(15):
        sender = chat()
        for digits in (f"{2 * i:04d}", f"{2 * i + 1:04d}"):
            replies.append((await lookup(gateway, sender, code, digits))[0]["text"])
    assert "chưa khớp" in replies[0] and all("chưa khớp" in r for r in replies[:9])
    assert "tạm khóa" in replies[9] and "đường dây nóng" in replies[9]  # the 10th failure locks it
    (right,) = await lookup(gateway, chat(), code, "7777")
    assert "tạm khóa" in right["text"] and "Ngô" not in right["text"] and "khai tử" not in right["text"].lower()
    # Another dossier is not affected.
    (other,) = await lookup(gateway, chat(), CODE, "1111")
    assert other["text"].startswith(f"Hồ sơ {CODE}")
    db = Database(rasa_servers["database_url"])
    async with db.session() as s:
        outcomes = (await s.scalars(select(DossierLookup.outcome).where(DossierLookup.code == code)
                                    .order_by(DossierLookup.id))).all()
    await db.dispose()
    assert outcomes[:10] == ["failed"] * 10 and set(outcomes[10:]) == {"code_locked"}


async def test_failures_from_one_address_across_fresh_chats_lock_that_address(gateway, rasa_servers):
    """Issue 15, item 1: one web chat client address trying many codes from fresh chats — 2 wrong
    tries per chat and per code, under both other locks — is locked after 20 failures in an hour,
    for every chat and code from it; another address is not. The audit holds a hash, not the address."""
    address = "203.0.113.7"
    replies = []
    for i in range(10):
        sender, code = chat(), f"000.00.24.H08-261201-{i:04d}"  # codes that do not exist count the same
        for digits in ("0000", "0001"):
            replies.append((await lookup(gateway, sender, code, digits, address=address))[-1]["text"])
    assert all("chưa khớp" in r for r in replies[:19])
    assert "kết nối mạng này" in replies[19] and "đường dây nóng" in replies[19]  # the 20th failure locks it
    # A new chat from that address is asked nothing: the lock is explained at once.
    refused = await say(gateway, f"tra cứu hồ sơ {CODE}", chat(), address)
    assert "kết nối mạng này" in refused[-1]["text"] and "Nguyễn" not in str(refused)
    (shown,) = await lookup(gateway, chat(), CODE, "1111", address="203.0.113.8")
    assert shown["text"].startswith(f"Hồ sơ {CODE}")
    db = Database(rasa_servers["database_url"])
    async with db.session() as s:
        rows = (await s.execute(select(DossierLookup.outcome, DossierLookup.client_key)
                                .where(DossierLookup.code.like("000.00.24.H08-261201-%") | (DossierLookup.code == CODE),
                                       DossierLookup.sender_id.like("web:%"))
                                .order_by(DossierLookup.id))).all()
    await db.dispose()
    assert [outcome for outcome, _ in rows].count("failed") >= 20 and "client_locked" in {o for o, _ in rows}
    assert all(key and len(key) == 24 and "203.0.113" not in key for _, key in rows)

