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


async def test_the_guidance_is_given_even_when_the_store_is_down(monkeypatch, caplog, rendered):
    async def down():
        raise OSError("database is down")

    monkeypatch.setattr(resources, "store", down)
    dispatcher = CollectingDispatcher()
    with caplog.at_level(logging.WARNING, logger="actions.formal"):
        await formal.ActionFormalGuidance().run(dispatcher, tracker([{"entity": "formal_kind", "value": "to cáo"}],
                                                                    "to cáo"), {})
    [text] = rendered(dispatcher)
    assert "Luật Tố cáo" in text and "{" not in text
    assert "could not record formal guidance" in caplog.text


def test_the_kind_is_read_in_any_spelling():
    assert formal.kind_of("KHIẾU NẠI") == formal.kind_of("khieu_nai") == formal.kind_of("khiu nại") == "khieu_nai"
    assert formal.kind_of("tố giác") == formal.kind_of("To Cao") == formal.kind_of("to_cao") == "to_cao"
    assert formal.kind_of("khiếu nại, tố cáo") is None and formal.kind_of("làm đơn") is None
    assert formal.asked_kind(tracker([], "muốn tố cáo cán bộ")) == "to_cao"
    assert formal.asked_kind(tracker([{"entity": "formal_kind", "value": "khieu_nai"},
                                      {"entity": "formal_kind", "value": "to_cao"}], "")) == "unclear"


def test_agency_names_come_from_the_locality(rendered):
    other = Locality(unit_name="Phú Mỹ", office={"hotline": "0123"}, agencies=[
        {"id": "so", "name": "Sở Nội vụ tỉnh X", "supervisor": None},
        {"id": "ubnd", "name": "Ủy ban nhân dân phường Phú Mỹ", "supervisor": None},
        {"id": "cong_an", "name": "Công an phường Phú Mỹ", "supervisor": "ubnd"}])
    for kind in (formal.KHIEU_NAI, formal.TO_CAO, formal.UNCLEAR):
        [text] = rendered(guidance(kind, other))
        assert "Chủ tịch Ủy ban nhân dân phường Phú Mỹ" in text and "Hoài Ân" not in text and "{" not in text
    bare = Locality(unit_name="X", office={})
    [text] = rendered(guidance(formal.KHIEU_NAI, bare))
    assert "Ủy ban nhân dân cấp xã" in text


def guidance(kind: str, locality: Locality) -> CollectingDispatcher:
    """What the guidance action sends for `kind` in `locality`."""
    dispatcher = CollectingDispatcher()
    response, buttons = formal.GUIDANCE[kind]
    dispatcher.utter_message(response=response, buttons=buttons, **formal.guidance_values(locality))
    return dispatcher
