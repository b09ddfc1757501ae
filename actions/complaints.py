"""Feedback and complaints (phản ánh, kiến nghị): a form, a ticket committed before it is shown,
routing and deadline from the locality data, and status by ticket for the chat that filed it."""
from __future__ import annotations

import logging
import re
from typing import Any, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import resources
from motcua.cases_import import VIETNAM, normalize_phone
from motcua.catalogue import load_catalogue
from motcua.dossier_text import hotline
from motcua.store.cases import as_utc
from motcua.store.complaints import STATUS_LABELS, by_ticket, file_complaint, is_late, route
from nlu.text import fold

log = logging.getLogger(__name__)

SLOTS = ("complaint_content", "complaint_category", "complaint_place", "complaint_name", "complaint_phone",
         "complaint_confirm")
SKIPPED = "-"  # what an optional slot holds when the citizen chose "Bỏ qua"
MIN_CONTENT_CHARS, MIN_CONTENT_WORDS, MAX_CONTENT_CHARS = 20, 4, 2000
MOBILE = re.compile(r"^0[35789]\d{8}$")
TICKET = re.compile(r"PA-?\d{4}-?\d{6}", re.IGNORECASE)
SKIP_BUTTON = {"title": "Bỏ qua", "payload": "/deny"}


def categories() -> list[dict[str, Any]]:
    return load_catalogue().locality.complaint_categories


def match_category(text: str) -> Optional[str]:
    """A category id from a button value, its id, or its name typed in any spelling."""
    ids = {c["id"] for c in categories()}
    if text in ids:
        return text
    typed = fold(text)
    for c in categories():
        name = fold(c["name"])
        if typed and (typed == name or typed in name.split(" ") or name in typed):
            return c["id"]
    return None


def _value(slot: Optional[str]) -> str:
    return "" if slot in (None, SKIPPED) else str(slot)


class ValidateComplaintForm(FormValidationAction):
    def name(self) -> str:
        return "validate_complaint_form"

    async def validate_complaint_content(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                         domain: dict) -> dict[str, Any]:
        text = str(value or "").strip()
        if len(text) < MIN_CONTENT_CHARS or len(text.split()) < MIN_CONTENT_WORDS:
            dispatcher.utter_message(response="utter_complaint_content_too_short")
            return {"complaint_content": None}
        if len(text) > MAX_CONTENT_CHARS:
            dispatcher.utter_message(response="utter_complaint_content_too_long")
            return {"complaint_content": None}
        return {"complaint_content": text}

    async def validate_complaint_category(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                          domain: dict) -> dict[str, Any]:
        return {"complaint_category": match_category(str(value or ""))}

    async def validate_complaint_place(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                       domain: dict) -> dict[str, Any]:
        return {"complaint_place": str(value).strip()[:500] or SKIPPED}

    async def validate_complaint_name(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: dict) -> dict[str, Any]:
        return {"complaint_name": str(value).strip()[:200] or SKIPPED}

    async def validate_complaint_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                       domain: dict) -> dict[str, Any]:
        if value == SKIPPED:
            return {"complaint_phone": SKIPPED}
        phone = normalize_phone(str(value))
        if not MOBILE.match(phone):
            dispatcher.utter_message(response="utter_complaint_phone_invalid")
            return {"complaint_phone": None}
        return {"complaint_phone": phone}


class ActionAskComplaintCategory(Action):
    def name(self) -> str:
        return "action_ask_complaint_category"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        dispatcher.utter_message(
            text="Phản ánh của anh/chị thuộc lĩnh vực nào?",
            buttons=[{"title": c["name"], "payload": f'/inform{{"complaint_category": "{c["id"]}"}}'}
                     for c in categories()])
        return []


class ActionAskComplaintConfirm(Action):
    """The summary the citizen confirms before anything is filed."""

    def name(self) -> str:
        return "action_ask_complaint_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        r = route(load_catalogue().locality, tracker.get_slot("complaint_category") or "khac")
        name, phone = _value(tracker.get_slot("complaint_name")), _value(tracker.get_slot("complaint_phone"))
        lines = ["Anh/chị kiểm tra lại phản ánh trước khi gửi:",
                 f"• Nội dung: {tracker.get_slot('complaint_content')}",
                 f"• Lĩnh vực: {r.category_name} (chuyển {r.agency_name})",
                 f"• Địa điểm: {_value(tracker.get_slot('complaint_place')) or 'không nêu'}",
                 f"• Người gửi: {name or 'ẩn danh'}",
                 f"• Điện thoại: {phone or 'không để lại (cơ quan sẽ không liên hệ lại qua điện thoại)'}"]
        dispatcher.utter_message(text="\n".join(lines) + "\nGửi phản ánh này?",
                                 buttons=[{"title": "Gửi", "payload": "/affirm"}, {"title": "Hủy", "payload": "/deny"}])
        return []


class ActionSubmitComplaint(Action):
    """Commits the complaint, then shows its ticket: a ticket shown is a ticket stored."""

    def name(self) -> str:
        return "action_submit_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        reset = [SlotSet(s, None) for s in SLOTS]
        if tracker.get_slot("complaint_confirm") != "yes":
            dispatcher.utter_message(response="utter_complaint_cancelled")
            return reset
        locality = load_catalogue().locality
        try:
            db = await resources.store()
            async with db.session() as session, session.begin():
                complaint = await file_complaint(
                    session, locality, sender_id=tracker.sender_id,
                    content=tracker.get_slot("complaint_content") or "",
                    category=tracker.get_slot("complaint_category") or "khac",
                    place=_value(tracker.get_slot("complaint_place")),
                    name=_value(tracker.get_slot("complaint_name")),
                    phone=_value(tracker.get_slot("complaint_phone")))
        except Exception:
            log.exception("could not file a complaint")
            dispatcher.utter_message(text="Hệ thống chưa ghi nhận được phản ánh của anh/chị. Anh/chị vui lòng gửi lại "
                                          f"sau ít phút hoặc gọi đường dây nóng {hotline()}.")
            return reset
        r = route(locality, complaint.category)
        dispatcher.utter_message(text=(
            f"Phản ánh của anh/chị đã được tiếp nhận với mã {complaint.ticket}.\n"
            f"Cơ quan xử lý: {r.agency_name}.\n"
            f"Thời hạn trả lời: {as_utc(complaint.deadline_at).astimezone(VIETNAM):%d/%m/%Y} ({r.deadline_days} ngày làm việc).\n"
            f"Anh/chị có thể hỏi tình trạng bằng cách nhắn mã {complaint.ticket}."))
        return reset


class ActionComplaintStatus(Action):
    """Details only to the chat that filed the complaint; anyone else gets the same refusal."""

    def name(self) -> str:
        return "action_complaint_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        typed = next((str(e.get("value")) for e in tracker.latest_message.get("entities", [])
                      if e.get("entity") == "ticket_id"), None) or tracker.latest_message.get("text") or ""
        match = TICKET.search(typed)
        if not match:
            dispatcher.utter_message(response="utter_ask_ticket_id")
            return []
        digits = re.sub(r"\D", "", match.group(0))
        ticket = f"PA-{digits[:4]}-{digits[4:]}"
        try:
            db = await resources.store()
            async with db.session() as session:
                complaint = await by_ticket(session, ticket)
        except Exception:
            log.exception("complaint status unavailable")
            dispatcher.utter_message(text=f"Hiện tôi chưa tra cứu được phản ánh. Anh/chị vui lòng thử lại sau ít phút "
                                          f"hoặc gọi đường dây nóng {hotline()}.")
            return []
        if complaint is None or complaint.sender_id != tracker.sender_id:
            dispatcher.utter_message(text=(
                f"Tôi chỉ cung cấp tình trạng phản ánh {ticket} cho chính người đã gửi, trên cùng kênh trò chuyện đã "
                f"gửi. Nếu anh/chị đã gửi từ kênh khác, vui lòng hỏi tại kênh đó hoặc gọi đường dây nóng {hotline()}."))
            return []
        r = route(load_catalogue().locality, complaint.category)
        lines = [f"Phản ánh {complaint.ticket}", f"Tình trạng: {STATUS_LABELS.get(complaint.status, complaint.status)}",
                 f"Cơ quan xử lý: {r.agency_name}",
                 f"Thời hạn trả lời: {as_utc(complaint.deadline_at).astimezone(VIETNAM):%d/%m/%Y}"]
        if is_late(complaint):
            lines.append("Phản ánh đã quá thời hạn trả lời. Chúng tôi thành thật xin lỗi anh/chị; anh/chị có thể gọi "
                         f"đường dây nóng {hotline()} để được hỗ trợ.")
        dispatcher.utter_message(text="\n".join(lines))
        return []
