"""The procedure actions with rasa-sdk's own dispatcher and tracker."""
import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import resources
from actions.fallback import ActionGoodbye, ActionNluFallback, ActionOutOfScope
from actions.procedures import ActionAnswerProcedure, ActionOfficeInfo
from motcua.catalogue import ASPECT_TITLES, ASPECTS, load_catalogue
from motcua.store import Database
from motcua.store.models import NluInboxItem

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


# --- what the model misses, the catalogue's search finds (actions/fallback.py) ---------------

@pytest.fixture
async def nlu_inbox_store(tmp_path, monkeypatch):
    """The store the fallback actions write the NLU inbox to: a SQLite file of this test."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await db.migrate()

    async def store() -> Database:
        return db

    monkeypatch.setattr(resources, "store", store)
    yield db
    await db.dispose()


async def inbox_items(db: Database) -> list[tuple[str, str]]:
    async with db.session() as s:
        return [(i.source, i.procedure) for i in (await s.scalars(select(NluInboxItem))).all()]


async def test_a_procedure_taken_for_out_of_scope_is_answered_from_the_catalogue(nlu_inbox_store, rendered):
    msgs, events = await run(ActionOutOfScope(), tracker("xin tro cap nguoi cao tuoi", intent="out_of_scope"))
    assert rendered(msgs)[0].startswith("Thủ tục: " + catalogue.get("tro_cap_xa_hoi").name)
    assert events[0] == SlotSet("procedure", "tro_cap_xa_hoi")
    # Kept for the admins: the model should learn this wording.
    assert await inbox_items(nlu_inbox_store) == [("searched", "tro_cap_xa_hoi")]


async def test_out_of_scope_stays_a_polite_refusal_when_the_catalogue_knows_nothing(nlu_inbox_store):
    # (A common word drags unrelated candidates in: "đăng ký" → water and vehicle registration.)
    for text in ("tối nay đá bóng không", "mua vé máy bay ở đâu rẻ", "'; DROP TABLE messages; --",
                 "Cách đăng ký tài khoản Facebook mới?"):
        msgs, events = await run(ActionOutOfScope(), tracker(text, intent="out_of_scope"))
        assert [m.get("response") for m in msgs] == ["utter_out_of_scope"] and events == [], text
    assert await inbox_items(nlu_inbox_store) == []


async def test_not_understood_but_found_in_the_catalogue_is_answered_and_not_counted_as_not_understood(
        nlu_inbox_store, rendered):
    msgs, events = await run(ActionNluFallback(), tracker("tach thua dat", intent="nlu_fallback"))
    assert "Tách thửa" in rendered(msgs)[0]  # its national record: done elsewhere, and where
    assert await inbox_items(nlu_inbox_store) == [("searched", events[0]["value"])]
    msgs, _ = await run(ActionNluFallback(), tracker("abc xyz qwe", intent="nlu_fallback"))
    assert [m.get("response") for m in msgs] == ["utter_default"]
    assert [s for s, _ in await inbox_items(nlu_inbox_store)] == ["searched", "fallback"]


async def test_a_procedure_taken_for_a_goodbye_is_answered_and_a_goodbye_stays_one(nlu_inbox_store, rendered):
    msgs, _ = await run(ActionGoodbye(), tracker("các bước xin phép xây nhà", intent="goodbye"))
    assert rendered(msgs)[0] == "Anh/chị muốn hỏi về thủ tục nào dưới đây?"  # kinds of a building permit
    assert all("giấy phép xây dựng" in b["title"] for b in msgs[0]["buttons"])
    for text in ("tạm biệt", "bye nhé ad", "cảm ơn, chào bạn"):
        msgs, events = await run(ActionGoodbye(), tracker(text, intent="goodbye"))
        assert [m.get("response") for m in msgs] == ["utter_goodbye"] and events == [], text
    assert [s for s, _ in await inbox_items(nlu_inbox_store)] == ["searched"]


async def test_chat_and_ads_the_model_calls_out_of_scope_are_not_taken_for_procedures(nlu_inbox_store):
    # Each names a procedure's words, but says too little of it or explains too little of the
    # message ("bạn ăn cơm chưa" without diacritics reads "bản án").
    for text in ("ban an com chua", "Bán đất nền giá rẻ liên hệ ngay", "có ai bán xe Wave cũ giá rẻ không",
                 "bot hỗ trợ những việc gì"):
        msgs, _ = await run(ActionOutOfScope(), tracker(text, intent="out_of_scope"))
        assert [m.get("response") for m in msgs] == ["utter_out_of_scope"], text


async def test_kinds_of_one_procedure_count_as_a_find_even_for_a_message_taken_for_out_of_scope(
        nlu_inbox_store, rendered):
    msgs, _ = await run(ActionOutOfScope(), tracker("đổi bằng lái xe", intent="out_of_scope"))
    assert [b["title"] for b in msgs[0]["buttons"]][:1] == ["Đổi giấy phép lái xe"]


async def test_where_to_get_a_passport_is_about_the_passport_not_the_office(rendered):
    office = catalogue.locality.office["name"]
    msgs, _ = await run(ActionOfficeInfo(), tracker("làm hộ chiếu ở đâu", intent="ask_office_info"))
    assert not rendered(msgs)[0].startswith(office) and "hộ chiếu" in rendered(msgs)[0].lower()
    msgs, _ = await run(ActionOfficeInfo(), tracker("giờ làm việc của bộ phận một cửa", intent="ask_office_info"))
    assert rendered(msgs)[0].startswith(office) and "Giờ làm việc" in rendered(msgs)[0]
