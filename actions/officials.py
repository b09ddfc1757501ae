"""Reaching a person. Handoff to an official in the chat is not built yet (issue 7), so the bot
says so plainly and gives the ways that work today: the hotline in office hours, the office."""
from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from motcua.catalogue import load_catalogue


class ActionTalkToOfficial(Action):
    def name(self) -> str:
        return "action_talk_to_official"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        loc = load_catalogue().locality
        office = loc.office
        hours = "; ".join(office.get("hours") or [])
        dispatcher.utter_message(
            text=(f"Hiện cán bộ chưa trả lời trực tiếp qua kênh trò chuyện này. Anh/chị có thể gọi đường dây nóng "
                  f"{loc.hotline} hoặc đến {office.get('name', 'bộ phận một cửa')} trong giờ làm việc ({hours}). "
                  "Nếu là việc cần cơ quan xem xét, anh/chị gửi phản ánh để có mã theo dõi và thời hạn trả lời."),
            buttons=[{"title": "Gửi phản ánh, kiến nghị", "payload": "/submit_complaint"}])
        return []
