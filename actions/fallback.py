"""Not understood: the message goes to the admins' NLU inbox, then the usual "please rephrase".

Rasa's FallbackClassifier predicts `nlu_fallback` when the best intent's confidence is under the
threshold of config.yml (or two intents are too close); the rule "not understood" runs this
action. The citizen's text is stored masked (motcua.store.nlu_inbox), with the classifier's own
ranking so admins see what the model hesitated between.
"""
from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import resources
from actions.procedures import ActionAnswerProcedure
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


class ActionNluFallback(Action):
    def name(self) -> str:
        return "action_nlu_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        message = tracker.latest_message or {}
        if _is_follow_up(tracker):
            # "lệ phí?" after an answer: too short for the classifier to be sure, clear in context.
            return await ActionAnswerProcedure().run(dispatcher, tracker, domain)
        ranking = nlu_inbox.top_ranking(message.get("intent_ranking"))
        try:
            db = await resources.store()
            async with db.session() as session, session.begin():
                await nlu_inbox.record(session, sender_id=tracker.sender_id, text=message.get("text") or "",
                                       source="fallback", intent=ranking[0][0] if ranking else None,
                                       confidence=ranking[0][1] if ranking else None, ranking=ranking,
                                       procedure=_procedure(tracker))
        except Exception:  # the citizen still gets an answer
            log.exception("could not add a message to the NLU inbox")
        dispatcher.utter_message(response="utter_default")
        return []
