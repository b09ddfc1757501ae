"""The reports' usage figures from the store (motcua/store/usage.py, reports.median_handling_time),
on SQLite and PostgreSQL: messages per day and channel, what citizens asked, procedures answered,
not answered (fallback + dead ends, a fallback asked again counted once), handed to officials,
median complaint handling time; nothing from before the period."""
from collections import Counter
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import update

from motcua.nlu_inbox import form_prompts
from motcua.store.conversations import record_intent, record_message
from motcua.store.models import Message
from motcua.store.reports import median_handling_time
from motcua.store.usage import answered_procedure, usage
from motcua.workdays import VIETNAM

from tests.support.usage_data import EXPECTED, ask, procedure_buttons, seed


def test_a_procedure_answer_is_told_by_its_aspect_buttons():
    assert answered_procedure(procedure_buttons("khai_sinh")) == "khai_sinh"
    assert answered_procedure(procedure_buttons("ket_hon", skip="fee") + [{"title": "Có", "payload": "/rate_service{}"}]) \
        == "ket_hon"
    # Choices name each procedure once (with or without an aspect); other buttons are not answers.
    assert answered_procedure([{"payload": ask("ket_hon", "fee")}, {"payload": ask("khai_sinh", "fee")}]) is None
    assert answered_procedure([{"payload": ask("ket_hon")}, {"payload": ask("ket_hon")}]) is None
    assert answered_procedure(None) is None and answered_procedure([{"payload": "/ask_procedure{bad"}]) is None


async def test_usage_over_the_last_30_days(db):
    now = datetime.now(timezone.utc)
    await seed(db.session, now)
    since = datetime.combine(now.astimezone(VIETNAM).date() - timedelta(days=29), time(0), VIETNAM)
    first_questions, cancelled = form_prompts()
    async with db.session() as s:
        u = await usage(s, since, now, first_questions=first_questions, cancelled=cancelled)
        median, resolved = await median_handling_time(s, since, now)
    e = EXPECTED
    assert (u.incoming, u.typed, u.conversations) == (e["incoming"], e["typed"], e["conversations"])
    assert (u.fallback, u.dead_ends["abandoned"], u.dead_ends["rephrased"]) == (e["fallback"], e["abandoned"], e["rephrased"])
    assert u.not_answered == e["fallback"] + e["abandoned"] + e["rephrased"]
    assert u.handed == e["handed"]
    assert dict(u.procedures) == e["procedures"] and dict(u.procedure_answers) == e["procedure_answers"]
    assert dict(u.needs) == e["needs"]
    by_channel: Counter = Counter()
    for (day, channel), n in u.per_day.items():
        by_channel[channel] += n
        assert since.date() <= day <= now.astimezone(VIETNAM).date()
    assert dict(by_channel) == e["channels"]
    assert len(u.days()) == 30 and u.days()[-1] == now.astimezone(VIETNAM).date()
    assert median == timedelta(hours=e["median_hours"]) and resolved == e["resolved"]
    # Without a bound, the complaint resolved 40 days ago counts too (1 day): the median moves.
    async with db.session() as s:
        assert await median_handling_time(s) == (timedelta(hours=6), 3)


async def test_days_are_vietnam_days(db):
    """A message at 18:30 UTC belongs to the next day in Vietnam."""
    now = datetime(2026, 3, 10, 5, 0, tzinfo=timezone.utc)
    async with db.session() as s, s.begin():
        message_id = await record_message(s, "web", "late", "in", "chào")
        await s.execute(update(Message).where(Message.id == message_id)
                        .values(created_at=datetime(2026, 3, 8, 18, 30, tzinfo=timezone.utc)))
    async with db.session() as s:
        u = await usage(s, datetime(2026, 3, 1, tzinfo=timezone.utc), now)
    assert dict(u.per_day) == {(datetime(2026, 3, 9).date(), "web"): 1}
    assert u.not_answered == 0 and u.conversations == 1


async def test_the_intents_stored_with_citizen_messages_are_counted(db):
    now = datetime.now(timezone.utc)
    async with db.session() as s, s.begin():
        for chat, text, intent in (("i1", "mấy giờ làm việc", "ask_office_info"), ("i1", "dat lich hen", "book_appointment"),
                                   ("i2", "xin chào", "greet"), ("i2", "giờ mở cửa", "ask_office_info"),
                                   ("i3", "tin nhắn cũ", None)):
            message_id = await record_message(s, "web", chat, "in", text)
            if intent:
                await record_intent(s, message_id, intent)
        await record_message(s, "web", "i1", "out", "Giờ làm việc …")
    async with db.session() as s:
        u = await usage(s, now - timedelta(hours=1), now + timedelta(minutes=1))
    assert u.intents == Counter({"ask_office_info": 2, "book_appointment": 1, "greet": 1})
