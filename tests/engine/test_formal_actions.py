"""The formal-route action with rasa-sdk's own dispatcher and tracker (the chat itself:
tests/test_formal_chat.py)."""
import logging

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import formal, resources
from motcua.catalogue import Locality


def tracker(entities: list, text: str) -> Tracker:
    return Tracker("web:unit", {}, {"intent": {"name": "formal_complaint"}, "entities": entities, "text": text}, [],
                   False, None, {}, "action_listen")


async def test_the_guidance_is_given_even_when_the_store_is_down(monkeypatch, caplog):
    async def down():
        raise OSError("database is down")

    monkeypatch.setattr(resources, "store", down)
    dispatcher = CollectingDispatcher()
    with caplog.at_level(logging.WARNING, logger="actions.formal"):
        await formal.ActionFormalGuidance().run(dispatcher, tracker([{"entity": "formal_kind", "value": "to cáo"}],
                                                                    "to cáo"), {})
    assert "Luật Tố cáo" in dispatcher.messages[0]["text"]
    assert "could not record formal guidance" in caplog.text


def test_the_kind_is_read_in_any_spelling():
    assert formal.kind_of("KHIẾU NẠI") == formal.kind_of("khieu_nai") == formal.kind_of("khiu nại") == "khieu_nai"
    assert formal.kind_of("tố giác") == formal.kind_of("To Cao") == formal.kind_of("to_cao") == "to_cao"
    assert formal.kind_of("khiếu nại, tố cáo") is None and formal.kind_of("làm đơn") is None
    assert formal.asked_kind(tracker([], "muốn tố cáo cán bộ")) == "to_cao"
    assert formal.asked_kind(tracker([{"entity": "formal_kind", "value": "khieu_nai"},
                                      {"entity": "formal_kind", "value": "to_cao"}], "")) == "unclear"


def test_agency_names_come_from_the_locality():
    other = Locality(unit_name="Phú Mỹ", office={"hotline": "0123"}, agencies=[
        {"id": "so", "name": "Sở Nội vụ tỉnh X", "supervisor": None},
        {"id": "ubnd", "name": "Ủy ban nhân dân phường Phú Mỹ", "supervisor": None},
        {"id": "cong_an", "name": "Công an phường Phú Mỹ", "supervisor": "ubnd"}])
    for text in (formal.khieu_nai_text(other), formal.to_cao_text(other), formal.unclear_text(other)):
        assert "Chủ tịch Ủy ban nhân dân phường Phú Mỹ" in text and "Hoài Ân" not in text
    bare = Locality(unit_name="X", office={})
    assert "Ủy ban nhân dân cấp xã" in formal.khieu_nai_text(bare)
