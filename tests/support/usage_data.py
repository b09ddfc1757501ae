"""A fortnight of a commune's bot in the store, for the reports' usage figures (the store test,
the dashboard page and the browser test): conversations on every channel, procedure answers, a
fallback, the two kinds of dead end, a handoff, lookups, complaints resolved in 2 and 6 hours,
formal guidance and a rating; and one conversation from before the 30-day period."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import update

from motcua.catalogue import ASPECTS, load_catalogue
from motcua.nlu_inbox import form_prompts
from motcua.store import complaints, handoffs, nlu_inbox
from motcua.store.conversations import record_message
from motcua.store.lookups import record_lookup
from motcua.store.models import FormalGuidance, Message
from motcua.store.ratings import record_rating

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)


def ask(procedure: str, aspect: Optional[str] = None) -> str:
    return "/ask_procedure" + json.dumps({k: v for k, v in {"procedure": procedure, "aspect": aspect}.items() if v},
                                         ensure_ascii=False)


def procedure_buttons(procedure: str, skip: Optional[str] = None) -> list[dict]:
    """The aspect buttons a procedure's card or aspect answer offers (actions/procedures.py)."""
    return [{"title": a, "payload": ask(procedure, a)} for a in ASPECTS if a != skip]


# What the figures of seed() must be, over the 30 days before its `now`.
EXPECTED = {
    "incoming": 16, "typed": 13, "conversations": 9, "fallback": 1, "abandoned": 1, "rephrased": 1,
    "handed": 1, "procedures": {"khai_sinh": 2, "ket_hon": 1}, "procedure_answers": {"khai_sinh": 4, "ket_hon": 1},
    "channels": {"web": 10, "telegram": 2, "zalo": 3, "zalo_oa": 1},
    "needs": {"ask_procedure": 5, "check_dossier_status": 2, "check_complaint_status": 1, "submit_complaint": 3,
              "talk_to_official": 1, "formal_guidance": 1, "rate_service": 1, "nlu_fallback": 1},
    "median_hours": 4, "resolved": 2,
}


async def seed(session_factory, now: datetime) -> None:
    """Writes the data; `session_factory` is a Database's session (db.session or app[DB].session)."""
    firsts, cancelled = form_prompts()
    complaint_first, complaint_cancelled = firsts[0], cancelled[0]  # the complaint form's, the first listed
    locality = load_catalogue().locality

    async def say(channel: str, chat: str, direction: str, text: str, when: datetime, buttons=None) -> None:
        async with session_factory() as s, s.begin():
            message_id = await record_message(s, channel, chat, direction, text, buttons=buttons)
            await s.execute(update(Message).where(Message.id == message_id).values(created_at=when))

    t = now - 3 * DAY
    # Procedures: khai_sinh asked in two conversations (a card, then two aspects in one of them).
    await say("web", "p1", "in", "đăng ký khai sinh cần gì", t)
    await say("web", "p1", "out", "Đăng ký khai sinh …", t, procedure_buttons("khai_sinh"))
    await say("web", "p1", "in", ask("khai_sinh", "fee"), t + MINUTE)
    await say("web", "p1", "out", "Lệ phí – Đăng ký khai sinh …", t + MINUTE, procedure_buttons("khai_sinh", "fee"))
    await say("web", "p1", "in", ask("khai_sinh", "documents"), t + 2 * MINUTE)
    await say("web", "p1", "out", "Giấy tờ cần có …", t + 2 * MINUTE, procedure_buttons("khai_sinh", "documents"))
    # A question with choices names each procedure once: not an answer.
    t = now - 2 * DAY
    await say("telegram", "p2", "in", "thủ tục kết hôn với người nước ngoài", t)
    await say("telegram", "p2", "out", "Anh/chị hỏi thủ tục nào?", t,
              [{"title": "Đăng ký kết hôn", "payload": ask("ket_hon")},
               {"title": "Đăng ký khai sinh", "payload": ask("khai_sinh")}])
    await say("telegram", "p2", "in", ask("ket_hon"), t + MINUTE)
    await say("telegram", "p2", "out", "Đăng ký kết hôn …", t + MINUTE, procedure_buttons("ket_hon"))
    await say("zalo", "p3", "in", "lam giay khai sinh o dau", t + DAY)
    await say("zalo", "p3", "out", "Nơi nộp – Đăng ký khai sinh …", t + DAY, procedure_buttons("khai_sinh", "place"))
    # Not understood: a fallback (recorded by the action), then asked again: counted once.
    t = now - DAY
    await say("zalo", "f1", "in", "cho hỏi vụ giấy tờ nhà ông bà để lại", t)
    async with session_factory() as s, s.begin():
        await nlu_inbox.record(s, sender_id="zalo:f1", text="cho hỏi vụ giấy tờ nhà ông bà để lại",
                               intent="ask_procedure", confidence=0.12, now=t)
    await say("zalo", "f1", "out", "Xin lỗi, tôi chưa hiểu ý anh/chị…", t)
    await say("zalo", "f1", "in", "hỏi giấy tờ nhà ông bà để lại", t + timedelta(seconds=20))
    # Dead ends: rephrased within a minute; a form abandoned at its first question.
    await say("web", "r1", "in", "giấy phép xây nhà tạm", t)
    await say("web", "r1", "out", "Xin lỗi anh/chị, tôi chưa tìm thấy thủ tục này…", t)
    await say("web", "r1", "in", "xin giấy phép xây dựng nhà tạm", t + timedelta(seconds=20))
    await say("web", "a1", "in", "chứng thực di chúc ở xã được không", t)
    await say("web", "a1", "out", complaint_first, t)
    await say("web", "a1", "in", "không phải", t + MINUTE)
    await say("web", "a1", "out", complaint_cancelled, t + MINUTE)
    # Handed to officials.
    await say("web", "h1", "in", "cho tôi gặp cán bộ", t)
    async with session_factory() as s, s.begin():
        await handoffs.start(s, "web:h1", now=t)
    # Lookups, complaints (two resolved in the period: 2 and 6 hours), guidance, a rating.
    await say("web", "d1", "in", "tra cứu hồ sơ 000.00.24.H08-261101-0001", t)
    await say("web", "d1", "in", "1111", t + MINUTE)
    await say("zalo_oa", "c1", "in", "phản ánh đèn đường hỏng", t)
    async with session_factory() as s, s.begin():
        await record_lookup(s, "web:d1", "000.00.24.H08-261101-0001", "failed", now=t)
        await record_lookup(s, "web:d1", "000.00.24.H08-261101-0001", "verified", now=t + MINUTE)
        await record_lookup(s, "web:d1", "PA-2026-000001", "ticket_verified", now=t + 2 * MINUTE)
        for hours, category in ((2, "ha_tang_giao_thong"), (6, "moi_truong"), (None, "moi_truong")):
            filed = now - 2 * DAY
            c = await complaints.file_complaint(s, locality, sender_id="zalo_oa:c1", content="Đèn đường hỏng",
                                                category=category, place="Thôn 1", name="Lê Thị Hoa",
                                                phone="0905000111", now=filed)
            if hours is not None:
                await complaints.resolve(s, c, "Cán bộ", "Đã sửa", now=filed + timedelta(hours=hours))
        s.add(FormalGuidance(sender_id="web:k1", kind="khieu_nai", created_at=t))
        await record_rating(s, sender_id="web:p1", level="satisfied", subject="procedure", subject_ref="khai_sinh",
                            now=t)
    # Before the period: neither counted nor drawn.
    old = now - 40 * DAY
    await say("telegram", "old", "in", "đăng ký khai sinh", old)
    await say("telegram", "old", "out", "Đăng ký khai sinh …", old, procedure_buttons("khai_sinh"))
    async with session_factory() as s, s.begin():
        c = await complaints.file_complaint(s, locality, sender_id="telegram:old", content="Cũ", category="khac",
                                            now=old)
        await complaints.resolve(s, c, "Cán bộ", "Xong", now=old + DAY)
