"""The booking actions with rasa-sdk's own dispatcher and tracker (the chat itself:
tests/test_appointment_chat.py): what citizens type for a day or a time, and the store down."""
from datetime import date

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import appointments, resources

DAYS = [date(2026, 12, 7), date(2026, 12, 8), date(2026, 12, 10), date(2026, 12, 11)]  # Mon, Tue, Thu, Fri
TODAY = date(2026, 12, 6)


def tracker(slots: dict) -> Tracker:
    return Tracker("web:unit", slots, {"intent": {"name": "inform"}, "entities": [], "text": "x"}, [], False, None,
                   {"name": "appointment_form"}, "action_listen")


@pytest.mark.parametrize("typed, day", [
    ("2026-12-08", date(2026, 12, 8)), ("8/12", date(2026, 12, 8)), ("08/12/2026", date(2026, 12, 8)),
    ("mai", date(2026, 12, 7)), ("ngày mai", date(2026, 12, 7)), ("thứ 5", date(2026, 12, 10)),
    ("T6", date(2026, 12, 11)), ("thứ hai", date(2026, 12, 7)),
    ("thứ tư", None), ("9/12", None), ("hôm nay", None), ("31/02", None), ("'; DROP TABLE x;--", None), ("", None)])
def test_a_day_is_read_however_it_is_typed_and_only_among_those_offered(typed, day):
    assert appointments.parse_day(typed, DAYS, TODAY) == day


@pytest.mark.parametrize("typed, hhmm", [("08:00", "08:00"), ("8h", "08:00"), ("8h30", "08:30"), ("14 giờ", "14:00"),
                                         ("chiều 2h", "14:00"), ("9", "09:00"), ("25:00", None), ("sáng mai", None)])
def test_a_time_is_read_however_it_is_typed(typed, hhmm):
    assert appointments.parse_time(typed) == hhmm


async def test_with_the_store_down_the_citizen_is_told_and_nothing_is_offered(monkeypatch):
    async def down():
        raise OSError("database is down")

    monkeypatch.setattr(resources, "store", down)
    for action in (appointments.ActionAskAppointmentDay(), appointments.ActionAskAppointmentTime()):
        dispatcher = CollectingDispatcher()
        assert await action.run(dispatcher, tracker({"appointment_procedure": "khai_sinh",
                                                     "appointment_day": "2026-12-07"}), {}) == []
        assert [m["response"] for m in dispatcher.messages] == ["utter_appointment_not_booked"]
    dispatcher = CollectingDispatcher()
    result = await appointments.ValidateAppointmentForm().validate_appointment_day(
        "thứ 2", dispatcher, tracker({"appointment_procedure": "khai_sinh"}), {})
    assert result == {"appointment_day": None}
    assert [m["response"] for m in dispatcher.messages] == ["utter_appointment_not_booked"]
