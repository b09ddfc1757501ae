"""Not understood, or out of scope: first the catalogue's search, then the polite refusal.

Rasa's FallbackClassifier predicts `nlu_fallback` when the best intent's confidence is under the
threshold of config.yml (or two intents are too close); the rule "not understood" runs
ActionNluFallback. The citizen's text is stored masked in the admins' NLU inbox
(motcua.store.nlu_inbox), with the classifier's own ranking so admins see what the model
hesitated between.

The model has examples of a few hundred procedure wordings; the catalogue's search knows the names
and everyday aliases of the whole national list. A question about a procedure the model has never
seen ("xin trợ cấp người cao tuổi", "tách thửa đất") can come out as `out_of_scope` or not
understood: before refusing, both actions ask the search, and a message it recognises is answered
as a procedure question (and kept in the NLU inbox, so the model learns it).
"""
from __future__ import annotations

import abc
import logging
from typing import Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import resources
from actions.procedures import ActionAnswerProcedure, catalogue_find, found_key
from motcua.store import nlu_inbox

log = logging.getLogger(__name__)
# A message this short that names an aspect, right after a procedure answer, is its follow-up.
FOLLOW_UP_WORDS = 6


def _procedure(tracker: Tracker):
    return next((str(e.get("value")) for e in tracker.latest_message.get("entities") or []
                 if e.get("entity") == "procedure" and e.get("value")), None)


def _is_follow_up(tracker: Tracker) -> bool:
    message = tracker.latest_message or {}
    aspect = any(e.get("entity") == "aspect" for e in message.get("entities") or [])
    return aspect and bool(tracker.get_slot("procedure")) and len((message.get("text") or "").split()) <= FOLLOW_UP_WORDS


async def _to_inbox(tracker: Tracker, source: str, procedure: Optional[str]) -> None:
    """The message into the admins' NLU inbox, with the classifier's ranking."""
    message = tracker.latest_message or {}
    ranking = nlu_inbox.top_ranking(message.get("intent_ranking"))
    try:
        db = await resources.store()
        async with db.session() as session, session.begin():
            await nlu_inbox.record(session, sender_id=tracker.sender_id, text=message.get("text") or "",
                                   source=source, intent=ranking[0][0] if ranking else None,
                                   confidence=ranking[0][1] if ranking else None, ranking=ranking,
                                   procedure=procedure)
    except Exception:  # the citizen still gets an answer
        log.exception("could not add a message to the NLU inbox")


class ActionNluFallback(Action):
    def name(self) -> str:
        return "action_nlu_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        if _is_follow_up(tracker):
            # "lệ phí?" after an answer: too short for the classifier to be sure, clear in context.
            return await ActionAnswerProcedure().run(dispatcher, tracker, domain)
        if found := catalogue_find(tracker, model_unsure=True):  # answered: not "not understood"
            await _to_inbox(tracker, "searched", found_key(found))
            return ActionAnswerProcedure().answer(dispatcher, tracker, found)
        await _to_inbox(tracker, "fallback", _procedure(tracker))
        dispatcher.utter_message(response="utter_default")
        return []


class ProcedureFirst(Action, metaclass=abc.ABCMeta):
    """An intent answered with a fixed response — unless the message names a procedure the
    catalogue's search is sure of: the model took a procedure question for this intent, so the
    procedure's answer instead, and the message goes to the NLU inbox as "searched"."""

    response = ""

    @abc.abstractmethod
    def name(self) -> str: ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        if found := catalogue_find(tracker):
            await _to_inbox(tracker, "searched", found_key(found))
            return ActionAnswerProcedure().answer(dispatcher, tracker, found)
        dispatcher.utter_message(response=self.response)
        return []


class ActionOutOfScope(ProcedureFirst):
    response = "utter_out_of_scope"

    def name(self) -> str:
        return "action_out_of_scope"


class ActionGoodbye(ProcedureFirst):
    """("các bước xin phép xây nhà" came out as a goodbye.)"""

    response = "utter_goodbye"

    def name(self) -> str:
        return "action_goodbye"

