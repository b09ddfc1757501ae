"""Formal complaints (khiếu nại) and denunciations (tố cáo) on the web chat: the formal route is
explained and recorded, and no feedback ticket is filed (real gateway, Rasa, actions, store)."""
import uuid

from sqlalchemy import select

from motcua.catalogue import load_catalogue
from motcua.store import Database
from motcua.store.models import Complaint, FormalGuidance

from tests.support.chat import say, web_id


def chat() -> str:
    return f"formal-{uuid.uuid4().hex[:10]}"


async def stored(rasa_servers, sender: str) -> tuple[list[Complaint], list[str]]:
    """The complaints and the recorded guidance kinds of one web chat."""
    db = Database(rasa_servers["database_url"])
    try:
        async with db.session() as s:
            complaints = list((await s.scalars(select(Complaint).where(Complaint.sender_id == f"web:{web_id(sender)}"))).all())
            kinds = list((await s.scalars(select(FormalGuidance.kind).where(FormalGuidance.sender_id == f"web:{web_id(sender)}")
                                          .order_by(FormalGuidance.id))).all())
    finally:
        await db.dispose()
    return complaints, kinds


def chairman() -> str:
    """Who decides commune matters, from the locality data (never a name written in the code)."""
    return f"Chủ tịch {load_catalogue().locality.head_agency()}"


async def test_khieu_nai_gets_the_formal_route_and_no_ticket(gateway, rasa_servers):
    sender = chat()
    replies = await say(gateway, "tôi muốn khiếu nại quyết định thu hồi đất", sender)
    text = "\n".join(r["text"] for r in replies)
    assert "Luật Khiếu nại" in text and "90 ngày" in text
    assert "đơn khiếu nại bằng văn bản, có chữ ký" in text and "10 ngày" in text and "30 ngày" in text
    assert chairman() in text and "Ban tiếp công dân" in text
    assert "mã PA-" not in text and "mô tả sự việc" not in text
    assert {"title": "Gửi phản ánh, kiến nghị", "payload": "/submit_complaint"} in replies[-1]["buttons"]
    complaints, kinds = await stored(rasa_servers, sender)
    assert complaints == [] and kinds == ["khieu_nai"]


async def test_to_cao_without_diacritics_gets_the_denunciation_route(gateway, rasa_servers):
    sender = chat()
    replies = await say(gateway, "to cao can bo xa", sender)
    text = "\n".join(r["text"] for r in replies)
    assert "Luật Tố cáo" in text and "30 ngày" in text and "gia hạn" in text
    assert "họ tên, địa chỉ" in text and "chứng cứ" in text and "nặc danh" in text
    assert chairman() in text and "90 ngày" not in text
    complaints, kinds = await stored(rasa_servers, sender)
    assert complaints == [] and kinds == ["to_cao"]


async def test_shorthand_denunciation(gateway, rasa_servers):
    sender = chat()
    replies = await say(gateway, "e mún tố giác cb thôn ăn tiền hỗ trợ", sender)
    assert "Luật Tố cáo" in replies[-1]["text"]
    assert (await stored(rasa_servers, sender)) == ([], ["to_cao"])


async def test_an_unclear_request_explains_both_and_offers_buttons(gateway, rasa_servers):
    sender = chat()
    replies = await say(gateway, "cho tôi hỏi về khiếu nại, tố cáo", sender)
    text = replies[-1]["text"]
    assert "Khiếu nại:" in text and "Tố cáo:" in text and "khiếu nại hay tố cáo" in text
    titles = [b["title"] for b in replies[-1]["buttons"]]
    assert titles == ["Khiếu nại", "Tố cáo", "Gửi phản ánh, kiến nghị"]
    picked = await say(gateway, replies[-1]["buttons"][1]["payload"], sender)
    assert "Luật Tố cáo" in picked[-1]["text"]
    assert (await stored(rasa_servers, sender)) == ([], ["unclear", "to_cao"])


async def test_ordinary_feedback_is_offered_and_still_works(gateway, rasa_servers):
    sender = chat()
    replies = await say(gateway, "làm đơn khiếu nại thế nào", sender)
    feedback = await say(gateway, replies[-1]["buttons"][-1]["payload"], sender)
    assert "mô tả sự việc" in feedback[-1]["text"]
    # A report of a problem is feedback, not a formal complaint.
    other = chat()
    form = await say(gateway, "tôi muốn phản ánh đường ở thôn bị hư nặng", other)
    assert "mô tả sự việc" in form[-1]["text"] or "lĩnh vực" in form[-1]["text"]
    assert (await stored(rasa_servers, other))[1] == []
