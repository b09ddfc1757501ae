"""Satisfaction ratings on the web chat (real gateway, Rasa, action server and store); the rating
actions on their own: tests/engine/test_rating_actions.py."""
import uuid

import pytest
from sqlalchemy import select

from motcua.catalogue import load_catalogue
from motcua.store import Database
from motcua.store.complaints import file_complaint
from motcua.store.models import Rating
from motcua.store.ratings import RATING_LEVELS, rating_buttons, rating_payload

from tests.support.chat import say, web_id

TITLES = list(RATING_LEVELS.values())


def chat() -> str:
    return f"rate-{uuid.uuid4().hex[:10]}"


async def ratings_of(rasa_servers, sender: str) -> list[Rating]:
    db = Database(rasa_servers["database_url"])
    try:
        async with db.session() as s:
            return list((await s.scalars(select(Rating).where(Rating.sender_id == f"web:{web_id(sender)}")
                                         .order_by(Rating.id))).all())
    finally:
        await db.dispose()


async def a_complaint(rasa_servers, sender: str):
    db = Database(rasa_servers["database_url"])
    try:
        await db.migrate()
        async with db.session() as s, s.begin():
            return await file_complaint(s, load_catalogue().locality, sender_id=f"web:{web_id(sender)}",
                                        content="Đèn đường thôn Gia Đẳng bị hỏng nhiều ngày nay",
                                        category="ha_tang_giao_thong")
    finally:
        await db.dispose()


async def test_typed_rating_unsatisfied_with_a_reason(gateway, rasa_servers):
    sender = chat()
    asked = await say(gateway, "tôi muốn đánh giá", sender)
    assert "đánh giá thế nào" in asked[-1]["text"]
    assert [b["title"] for b in asked[-1]["buttons"]] == TITLES
    unsatisfied = asked[-1]["buttons"][2]["payload"]
    why = await say(gateway, unsatisfied, sender)
    assert "lý do" in why[-1]["text"]
    vague = await say(gateway, "abc", sender)
    assert "cụ thể hơn" in vague[0]["text"] and "lý do" in vague[-1]["text"]
    (thanks,) = await say(gateway, "Phải chờ hơn hai tiếng mới được tiếp nhận hồ sơ", sender)
    assert thanks["text"].startswith("Cảm ơn anh/chị") and "xin lỗi" in thanks["text"]
    assert thanks["buttons"] == [{"title": "Gửi phản ánh, kiến nghị", "payload": "/submit_complaint"}]
    (row,) = await ratings_of(rasa_servers, sender)
    assert (row.subject, row.subject_ref, row.level, row.agency) == ("service", "", "unsatisfied", None)
    assert row.reason == "Phải chờ hơn hai tiếng mới được tiếp nhận hồ sơ"


@pytest.mark.parametrize("typed, level", [
    ("rat hai long", "very_satisfied"), ("hài lòng", "satisfied"), ("ko hai long", "unsatisfied"),
    ("không hài lòng", "unsatisfied"), ("tệ", "unsatisfied"),
])
async def test_typed_levels_are_understood(gateway, rasa_servers, typed, level):
    sender = chat()
    await say(gateway, "cho em đánh giá dịch vụ", sender)
    reply = await say(gateway, typed, sender)
    if level == "unsatisfied":
        assert "lý do" in reply[-1]["text"]
        reply = await say(gateway, "Cán bộ hướng dẫn chưa rõ, phải đi lại ba lần", sender)
    assert reply[-1]["text"].startswith("Cảm ơn anh/chị")
    (row,) = await ratings_of(rasa_servers, sender)
    assert row.level == level


async def test_a_message_that_says_the_level_starts_with_it(gateway, rasa_servers):
    sender = chat()
    (thanks,) = await say(gateway, "tôi rất hài lòng với cán bộ tiếp nhận", sender)
    assert thanks["text"].startswith('Cảm ơn anh/chị đã đánh giá "Rất hài lòng"')
    (row,) = await ratings_of(rasa_servers, sender)
    assert row.level == "very_satisfied"


async def test_cancel(gateway, rasa_servers):
    sender = chat()
    await say(gateway, "tôi muốn đánh giá", sender)
    (cancelled,) = await say(gateway, "hủy", sender)
    assert cancelled["text"].startswith("Đã hủy, đánh giá chưa được ghi nhận")
    # At the reason step too; nothing is stored.
    await say(gateway, "chấm điểm cán bộ", sender)
    await say(gateway, "Không hài lòng", sender)
    (cancelled,) = await say(gateway, "/deny", sender)
    assert cancelled["text"].startswith("Đã hủy")
    assert await ratings_of(rasa_servers, sender) == []


async def test_one_tap_rating_of_the_chats_own_complaint(gateway, rasa_servers):
    sender = chat()
    complaint = await a_complaint(rasa_servers, sender)
    payload = rating_buttons("complaint", complaint.ticket)[0]["payload"]
    assert payload == ('/rate_service{"rating_subject":"complaint","rating_ref":"%s","rating_level":"very_satisfied"}'
                       % complaint.ticket)
    (thanks,) = await say(gateway, payload, sender)
    assert thanks["text"].startswith('Cảm ơn anh/chị đã đánh giá "Rất hài lòng" về việc giải quyết phản ánh '
                                     + complaint.ticket)
    (row,) = await ratings_of(rasa_servers, sender)
    assert (row.subject, row.subject_ref, row.level, row.agency) == (
        "complaint", complaint.ticket, "very_satisfied", complaint.agency)

    # Unsatisfied in one tap: the reason is asked, then stored with the agency.
    why = await say(gateway, rating_buttons("complaint", complaint.ticket)[2]["payload"], sender)
    assert "lý do" in why[-1]["text"]
    (thanks,) = await say(gateway, "Đèn vẫn chưa được sửa, buổi tối rất nguy hiểm", sender)
    assert "Phòng Kinh tế" in thanks["text"]
    (row,) = await ratings_of(rasa_servers, sender)  # the same ticket: the rating is replaced
    assert (row.level, row.agency, row.reason) == ("unsatisfied", complaint.agency,
                                                   "Đèn vẫn chưa được sửa, buổi tối rất nguy hiểm")


async def test_another_chats_complaint_is_rated_as_the_service(gateway, rasa_servers):
    owner, other = chat(), chat()
    complaint = await a_complaint(rasa_servers, owner)
    (thanks,) = await say(gateway, rating_buttons("complaint", complaint.ticket)[1]["payload"], other)
    assert thanks["text"].startswith("Cảm ơn anh/chị") and complaint.ticket not in thanks["text"]
    (row,) = await ratings_of(rasa_servers, other)
    assert (row.subject, row.subject_ref, row.level, row.agency) == ("service", "", "satisfied", None)
    assert await ratings_of(rasa_servers, owner) == []


async def test_a_pushed_dossier_rating_uses_the_verified_dossiers_agency(gateway, rasa_servers):
    code = "000.00.24.H08-261101-0004"
    verified, stranger = chat(), chat()
    await say(gateway, "tra cứu hồ sơ", verified)
    await say(gateway, code, verified)
    (shown,) = await say(gateway, "4444", verified)
    assert shown["text"].startswith(f"Hồ sơ {code}")
    asked = await say(gateway, rating_payload("dossier", code), verified)
    assert code in asked[-1]["text"] and [b["title"] for b in asked[-1]["buttons"]] == TITLES
    assert asked[-1]["buttons"][1]["payload"] == rating_buttons("dossier", code)[1]["payload"]
    (thanks,) = await say(gateway, asked[-1]["buttons"][1]["payload"], verified)
    assert thanks["text"].startswith("Cảm ơn anh/chị")
    (row,) = await ratings_of(rasa_servers, verified)
    # The case database says "UBND xã Hoài Ân": stored as the locality's agency id, like complaints.
    assert (row.subject, row.subject_ref, row.level, row.agency) == ("dossier", code, "satisfied", "ubnd_xa")

    await say(gateway, rating_buttons("dossier", code)[0]["payload"], stranger)
    (row,) = await ratings_of(rasa_servers, stranger)
    assert (row.subject, row.subject_ref, row.agency) == ("dossier", code, None)


async def test_procedure_answer_asks_if_it_helped_once(gateway, rasa_servers):
    sender = chat()
    (docs,) = await say(gateway, "đăng ký khai sinh cần giấy tờ gì", sender)
    assert docs["text"].endswith("Thông tin có hữu ích không?")
    yes, no = docs["buttons"][-2:]
    assert (yes["title"], no["title"]) == ("Có", "Không")
    assert no["payload"] == ('/rate_service{"rating_subject":"procedure","rating_ref":"khai_sinh",'
                             '"rating_level":"unsatisfied"}')
    (fee,) = await say(gateway, "còn lệ phí thì sao", sender)
    assert "hữu ích" not in fee["text"] and "Có" not in [b["title"] for b in fee["buttons"]]

    (what,) = await say(gateway, no["payload"], sender)
    assert what["text"] == "Anh/chị cần thêm thông tin gì?" and what["buttons"] == [{"title": "Bỏ qua",
                                                                                      "payload": "/deny"}]
    (thanks,) = await say(gateway, "/deny", sender)
    assert thanks["text"].startswith("Cảm ơn anh/chị đã góp ý")
    (row,) = await ratings_of(rasa_servers, sender)
    assert (row.subject, row.subject_ref, row.level, row.reason, row.agency) == (
        "procedure", "khai_sinh", "unsatisfied", "", None)

    # "Không" with a comment keeps the comment; "Có" is one tap.
    await say(gateway, no["payload"], sender)
    await say(gateway, "Cần biết có phải mang theo sổ hộ khẩu không", sender)
    (row,) = await ratings_of(rasa_servers, sender)
    assert row.reason == "Cần biết có phải mang theo sổ hộ khẩu không"
    (thanks,) = await say(gateway, yes["payload"], sender)
    assert thanks["text"].startswith("Cảm ơn anh/chị đã phản hồi")
    (row,) = await ratings_of(rasa_servers, sender)
    assert (row.level, row.reason) == ("satisfied", "")
