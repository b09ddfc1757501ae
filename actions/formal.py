"""Formal complaints (khiếu nại) and denunciations (tố cáo).

They follow their own laws (Luật Khiếu nại 2011, Luật Tố cáo 2018), so the bot never turns them into
feedback tickets: it explains the formal route (to whom, how, what to write, the time limits), offers
ordinary feedback as the alternative, and records that it gave the guidance (FormalGuidance).
Agency names come from the locality data; nothing here names a place.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import resources
from actions.buttons import COMPLAINT_BUTTON
from motcua.catalogue import Locality, load_catalogue
from motcua.dossier_text import hotline
from motcua.store.models import FormalGuidance
from nlu.text import fold

log = logging.getLogger(__name__)

KHIEU_NAI, TO_CAO = "khieu_nai", "to_cao"
UNCLEAR = "unclear"  # the kind recorded when the citizen has not said which one yet
# The formal acts as typed, once folded (no diacritics, lower case, shorthand expanded).
_KINDS_IN_TEXT = ((KHIEU_NAI, re.compile(r"\bkh(?:ieu|iu|eu)\s?nai\b")),
                  (TO_CAO, re.compile(r"\bto\s?(?:cao|giac)\b")))

KIND_BUTTONS = [{"title": "Khiếu nại", "payload": '/formal_complaint{"formal_kind": "khieu_nai"}'},
                {"title": "Tố cáo", "payload": '/formal_complaint{"formal_kind": "to_cao"}'}]


def kind_of(value: Any) -> Optional[str]:
    """khieu_nai / to_cao from an entity value or a text in any spelling; None if neither or both."""
    text = fold(str(value or "")).replace("_", " ")
    found = {kind for kind, pattern in _KINDS_IN_TEXT if pattern.search(text)}
    return found.pop() if len(found) == 1 else None


def asked_kind(tracker: Tracker) -> str:
    """The kind the citizen asked about: from the formal_kind entities, else from the text."""
    message = tracker.latest_message or {}
    values = {str(e.get("value")) for e in message.get("entities") or [] if e.get("entity") == "formal_kind"}
    kinds = {k for v in values if (k := kind_of(v))}
    if len(kinds) == 1:
        return kinds.pop()
    if kinds:  # both named
        return UNCLEAR
    return kind_of(message.get("text")) or UNCLEAR


def _places(locality: Locality) -> tuple[str, str]:
    """(who decides for commune matters, where citizens are received in person)."""
    agency = locality.head_agency()
    if agency:
        return f"Chủ tịch {agency}", f"nơi tiếp công dân (Ban tiếp công dân) của {agency}"
    return ("Chủ tịch Ủy ban nhân dân cấp xã nơi ban hành quyết định",
            "nơi tiếp công dân (Ban tiếp công dân) của Ủy ban nhân dân cấp xã")


def guidance_values(locality: Locality) -> dict[str, str]:
    """What the guidance responses (responses/formal.yml) are filled with, from the locality data."""
    chairman, reception = _places(locality)
    return {"chairman": chairman, "reception": reception, "hotline": hotline()}


# The response for each kind asked, and its buttons (ordinary feedback is always offered).
GUIDANCE = {KHIEU_NAI: ("utter_formal_khieu_nai", [COMPLAINT_BUTTON]),
            TO_CAO: ("utter_formal_to_cao", [COMPLAINT_BUTTON]),
            UNCLEAR: ("utter_formal_unclear", [*KIND_BUTTONS, COMPLAINT_BUTTON])}


class ActionFormalGuidance(Action):
    """Explains the formal route for the kind asked (both, briefly, when unclear) and records it."""

    def name(self) -> str:
        return "action_formal_guidance"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        kind = asked_kind(tracker)
        locality = load_catalogue().locality
        # The guidance is the point: it is given even when it cannot be recorded.
        try:
            db = await resources.store()
            async with db.session() as session, session.begin():
                session.add(FormalGuidance(sender_id=tracker.sender_id, kind=kind))
        except Exception as exc:
            log.warning("could not record formal guidance (%s) for %s: %r", kind, tracker.sender_id, exc)
        response, buttons = GUIDANCE.get(kind, GUIDANCE[UNCLEAR])
        dispatcher.utter_message(response=response, buttons=buttons, **guidance_values(locality))
        return []
