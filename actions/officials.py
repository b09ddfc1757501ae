"""Reaching a person: in office hours the conversation is handed to officials (the dashboard and
their Telegram group answer; the bot stays silent until it ends); outside them, the bot says so
plainly and gives the hotline and the office."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import resources
from actions.buttons import COMPLAINT_BUTTON
from motcua.catalogue import load_catalogue
from motcua.store import handoffs
from motcua.workdays import within_hours

log = logging.getLogger(__name__)


class ActionTalkToOfficial(Action):
    def name(self) -> str:
        return "action_talk_to_official"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        loc = load_catalogue().locality
        office = loc.office
        hours = "; ".join(office.get("hours") or [])
        if within_hours(datetime.now(timezone.utc), resources.settings().handoff_hours):
            try:
                db = await resources.store()
                async with db.session() as session, session.begin():
                    await handoffs.start(session, tracker.sender_id)
            except Exception:
                log.exception("could not hand a conversation to officials")
            else:
                dispatcher.utter_message(response="utter_handed_to_official")
                return []
        dispatcher.utter_message(
            response="utter_officials_off_hours", hotline=loc.hotline, office=office.get("name", "bộ phận một cửa"),
            hours=hours,
            buttons=[COMPLAINT_BUTTON])
        return []
