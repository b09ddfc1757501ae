"""The procedure actions with rasa-sdk's own dispatcher and tracker."""
import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.procedures import ActionAnswerProcedure, ActionOfficeInfo
from motcua.catalogue import ASPECT_TITLES, ASPECTS, load_catalogue

catalogue = load_catalogue()


def tracker(text: str, entities=(), slots=None, intent="ask_procedure") -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9},
              "entities": [{"entity": e, "value": v} for e, v in entities]}
    return Tracker("t", slots or {}, latest, [], False, None, {}, "action_listen")


async def run(action, t: Tracker):
    d = CollectingDispatcher()
    events = await action.run(d, t, {})
    return d.messages, events


async def test_an_aspect_question_gets_that_aspect_and_remembers_the_procedure():
    msgs, events = await run(ActionAnswerProcedure(), tracker(
        "làm sổ đỏ cần giấy tờ gì", [("procedure", "cap_so_do"), ("aspect", "documents")]))
    assert msgs[0]["text"].startswith("Giấy tờ cần có – " + catalogue.get("cap_so_do").name)
    assert catalogue.get("cap_so_do").documents[0] in msgs[0]["text"]
    assert "Giấy tờ cần có" not in [b["title"] for b in msgs[0]["buttons"]]
    # The first answer about a procedure also asks whether it helped (buttons Có / Không).
    assert msgs[0]["text"].endswith("Thông tin có hữu ích không?")
    assert [b["title"] for b in msgs[0]["buttons"]][-2:] == ["Có", "Không"]
    assert events == [SlotSet("procedure", "cap_so_do"), SlotSet("rating_asked", ["cap_so_do"])]


async def test_without_an_aspect_a_card_with_buttons_for_every_aspect():
    msgs, _ = await run(ActionAnswerProcedure(), tracker("thủ tục kết hôn", [("procedure", "ket_hon")]))
    p = catalogue.get("ket_hon")
    assert msgs[0]["text"].startswith(f"Thủ tục: {p.name}")
    assert p.fee["text"] in msgs[0]["text"] and p.duration["text"] in msgs[0]["text"]
    assert [b["title"] for b in msgs[0]["buttons"][:6]] == [ASPECT_TITLES[a] for a in ASPECTS]
    assert msgs[0]["buttons"][1]["payload"] == '/ask_procedure{"procedure": "ket_hon", "aspect": "fee"}'
    # The national list's variants of the same procedure are offered under the ordinary case.
    others = [b["title"] for b in msgs[0]["buttons"][6:]]
    assert "Trường hợp khác: Đăng ký kết hôn lưu động" in others
    assert all("kết hôn" in t for t in others), others


async def test_a_follow_up_keeps_the_procedure_of_the_slot():
    msgs, events = await run(ActionAnswerProcedure(), tracker(
        "còn lệ phí thì sao?", [("aspect", "fee")], slots={"procedure": "khai_sinh"}))
    assert msgs[0]["text"].startswith("Lệ phí – " + catalogue.get("khai_sinh").name)
    assert events == [SlotSet("procedure", "khai_sinh"), SlotSet("rating_asked", ["khai_sinh"])]


async def test_a_misspelt_procedure_gets_the_closest_as_buttons(rendered):
    msgs, events = await run(ActionAnswerProcedure(), tracker("thu tuc dang ki khai sinhh the nao"))
    text, buttons = rendered(msgs)[0], msgs[0].get("buttons") or []
    if text.startswith("Thủ tục: "):  # close enough to be taken as it is
        assert catalogue.get("khai_sinh").name in text
    else:
        assert "khai_sinh" in buttons[0]["payload"]


async def test_no_procedure_at_all_lists_the_topics(rendered):
    msgs, events = await run(ActionAnswerProcedure(), tracker("/ask_procedure"))
    assert "thủ tục nào" in rendered(msgs)[0]
    assert {b["title"] for b in msgs[0]["buttons"]} >= {"Hộ tịch", "Đất đai"}
    assert events == []


async def test_a_topic_button_lists_its_procedures(rendered):
    msgs, _ = await run(ActionAnswerProcedure(), tracker('/ask_procedure{"topic": "dat_dai"}', [("topic", "dat_dai")]))
    assert "Đất đai" in rendered(msgs)[0]
    assert any("cap_so_do" in b["payload"] for b in msgs[0]["buttons"])


@pytest.mark.parametrize("value", ["sổ hồng", "so do"])
async def test_an_unmapped_entity_wording_is_resolved_by_the_catalogue(value):
    msgs, events = await run(ActionAnswerProcedure(), tracker("x", [("procedure", value), ("aspect", "fee")]))
    assert events[0] == SlotSet("procedure", "cap_so_do")


async def test_the_helpful_question_is_asked_once_per_procedure():
    msgs, events = await run(ActionAnswerProcedure(), tracker(
        "còn lệ phí thì sao?", [("aspect", "fee")], slots={"procedure": "khai_sinh", "rating_asked": ["khai_sinh"]}))
    assert "hữu ích" not in msgs[0]["text"] and "Có" not in [b["title"] for b in msgs[0]["buttons"]]
    assert events == [SlotSet("procedure", "khai_sinh")]
    msgs, events = await run(ActionAnswerProcedure(), tracker("thủ tục kết hôn", [("procedure", "ket_hon")]))
    assert "hữu ích" not in msgs[0]["text"] and events == [SlotSet("procedure", "ket_hon")]  # a card does not ask


async def test_office_info_gives_hours_address_and_hotline():
    msgs, _ = await run(ActionOfficeInfo(), tracker("giờ làm việc", intent="ask_office_info"))
    office = catalogue.locality.office
    text = msgs[0]["text"]
    assert office["name"] in text and office["hours"][0] in text and catalogue.locality.hotline in text
    assert "dữ liệu mẫu" in text


async def test_office_info_for_a_named_commune():
    commune = catalogue.locality.communes[1]
    msgs, _ = await run(ActionOfficeInfo(), tracker(f"địa chỉ {commune['name'].lower()} ở đâu", intent="ask_office_info"))
    assert commune["office_address"] in msgs[0]["text"]
