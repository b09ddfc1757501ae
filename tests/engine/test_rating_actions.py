"""The rating actions with rasa-sdk's own dispatcher and tracker (the chat itself:
tests/test_rating_chat.py)."""
import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecutionRejected, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import ratings as rating_actions
from actions.ratings import ActionSubmitRating, ValidateRatingForm, parse_level


def tracker(text="", intent="rate_service", slots=None, active_loop=None, entities=()) -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9},
              "entities": [{"entity": e, "value": v} for e, v in entities]}
    return Tracker("web:unit", slots or {}, latest, [], False, None,
                   {"name": active_loop} if active_loop else {}, "action_listen")


@pytest.mark.parametrize("text, level", [
    ("Rất hài lòng", "very_satisfied"), ("Hài lòng", "satisfied"), ("Không hài lòng", "unsatisfied"),
    ("rat hai long", "very_satisfied"), ("rất hl ạ", "very_satisfied"), ("k hài lòng", "unsatisfied"),
    ("chưa thật sự hài lòng", "unsatisfied"), ("tệ", "unsatisfied"), ("không tệ", "satisfied"),
    ("5 sao", "very_satisfied"), ("2 sao", "unsatisfied"), ("bình thường", None), ("satisfied", "satisfied"),
])
def test_parse_level(text, level):
    assert parse_level(text) == level


@pytest.mark.parametrize("text, level", [
    ("tôi muốn đánh giá", None), ("Tôi muốn đánh giá mức độ hài lòng", None), ("phiếu khảo sát sự hài lòng", None),
    ("Tôi không hài lòng với cách phục vụ", "unsatisfied"), ("dv tệ quá, 1 sao", "unsatisfied"),
    ("Cán bộ phục vụ tốt, tôi muốn khen", None),
])
def test_the_opening_message_is_read_strictly(text, level):
    assert parse_level(text, strict=True) == level


async def test_cancel_words_reject_the_form_but_a_typed_level_does_not():
    v = ValidateRatingForm()
    asked_level = {"requested_slot": "rating_level"}
    d = CollectingDispatcher()
    assert await v.run(d, tracker("hủy", "deny", asked_level, "rating_form"), {}) == [
        ActionExecutionRejected("rating_form")]
    assert not ValidateRatingForm._cancels(tracker("ko hài lòng", "deny", asked_level, "rating_form"))
    asked_reason = {"requested_slot": "rating_reason", "rating_level": "unsatisfied"}
    assert ValidateRatingForm._cancels(tracker("/deny", "deny", asked_reason, "rating_form"))
    assert not ValidateRatingForm._cancels(tracker("không ai hướng dẫn gì cả, phải hỏi nhiều nơi", "deny",
                                                   asked_reason, "rating_form"))
    assert not ValidateRatingForm._cancels(tracker("/deny", "deny", {**asked_reason, "rating_subject": "procedure"},
                                                   "rating_form"))


async def test_when_the_store_is_down_the_citizen_is_told(monkeypatch, rendered):
    async def down():
        raise ConnectionError("database unreachable")

    monkeypatch.setattr(rating_actions.resources, "store", down)
    d = CollectingDispatcher()
    events = await ActionSubmitRating().run(d, tracker(slots={"rating_level": "satisfied"}), {})
    assert "chưa ghi nhận được đánh giá" in rendered(d)[0]
    assert SlotSet("rating_level", None) in events


async def test_a_typed_start_forgets_what_an_abandoned_button_rating_left():
    d = CollectingDispatcher()
    stale = {"rating_subject": "complaint", "rating_ref": "PA-2026-000009", "rating_reason": "cũ rồi"}
    t = tracker("tôi không hài lòng với cách phục vụ", slots=stale)
    # At activation Rasa hands the form's prefilled slots over for validation, as slot events.
    t.events.extend([{"event": "action", "name": "rating_form"},
                     {"event": "slot", "name": "rating_reason", "value": "cũ rồi"}])
    events = await ValidateRatingForm().run(d, t, {
        "forms": {"rating_form": {"required_slots": ["rating_level", "rating_reason"]}}, "slots": {}})
    assert SlotSet("rating_subject", None) in events and SlotSet("rating_ref", None) in events
    assert SlotSet("rating_level", "unsatisfied") in events
    assert SlotSet("rating_reason", None) in events  # asked again, never taken from an earlier form
