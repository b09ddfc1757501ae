"""Feedback and complaints (phản ánh, kiến nghị): a form, a ticket committed before it is shown,
routing and deadline from the locality data, and status by ticket: to the chat that filed it, or to
another chat after the last 4 digits of the complaint's phone (throttled like dossier lookups)."""
from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import resources
from actions.dossiers import Reply, lookup_client, proven_by_digits, utter, validated_last4
from motcua.cases_import import normalize_phone
from motcua.catalogue import load_catalogue
from motcua.dossier_text import hotline
from motcua.store.cases import as_utc
from motcua.store.complaints import STATUS_LABELS, by_ticket, file_complaint, find_ticket, is_late, route
from motcua.store.lookups import client_locked_until, locked_until
from motcua.workdays import VIETNAM
from nlu.text import fold

log = logging.getLogger(__name__)

SLOTS = ("complaint_content", "complaint_category", "complaint_place", "complaint_photo", "complaint_name",
         "complaint_phone", "complaint_confirm")
# Channels on which a citizen can send a photo in the chat.
PHOTO_CHANNELS = ("telegram", "zalo", "zalo_oa")
LOCATION = re.compile(r"^\s*(-?\d{1,2}(?:\.\d+)?)\s*,\s*(-?\d{1,3}(?:\.\d+)?)\s*$")
SHARED_PLACE = "Vị trí đã chia sẻ: {lat:.5f}, {lon:.5f}"
SKIPPED = "-"  # what an optional slot holds when the citizen chose "Bỏ qua"
MIN_CONTENT_CHARS, MIN_CONTENT_WORDS, MAX_CONTENT_CHARS = 20, 4, 2000
MOBILE = re.compile(r"^0[35789]\d{8}$")
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

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: dict) -> list[str]:
        """The photo is asked only where the channel can send one."""
        if tracker.sender_id.partition(":")[0] in PHOTO_CHANNELS:
            return domain_slots
        return [s for s in domain_slots if s != "complaint_photo"]

    async def validate_complaint_place(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                       domain: dict) -> dict[str, Any]:
        shared = LOCATION.match(str(value))
        if shared:  # a location shared on the map
            lat, lon = float(shared.group(1)), float(shared.group(2))
            if -90 <= lat <= 90 and -180 <= lon <= 180:
                return {"complaint_place": SHARED_PLACE.format(lat=lat, lon=lon)}
        return {"complaint_place": str(value).strip()[:500] or SKIPPED}

    async def validate_complaint_photo(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                       domain: dict) -> dict[str, Any]:
        value = str(value or "")
        # A photo's reference names the channel it came on: the chat's own (its handler made it).
        if value == SKIPPED or value.startswith(f"{tracker.sender_id.partition(':')[0]}:"):
            return {"complaint_photo": value}
        dispatcher.utter_message(response="utter_complaint_photo_expected")
        return {"complaint_photo": None}

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
            response="utter_complaint_category_question",
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
                 *(["• Ảnh hiện trường: có"] if _value(tracker.get_slot("complaint_photo")) else []),
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
                shared = re.search(r"(-?\d+\.\d+), (-?\d+\.\d+)$", complaint.place)
                if complaint.place.startswith(SHARED_PLACE.split(":")[0]) and shared:
                    complaint.latitude, complaint.longitude = float(shared.group(1)), float(shared.group(2))
                complaint.photo = _value(tracker.get_slot("complaint_photo")) or None
        except Exception:
            log.exception("could not file a complaint")
            dispatcher.utter_message(response="utter_complaint_not_filed", hotline=hotline())
            return reset
        r = route(locality, complaint.category)
        dispatcher.utter_message(response="utter_complaint_received", ticket=complaint.ticket, agency=r.agency_name,
                                 deadline=_day(complaint.deadline_at), deadline_days=r.deadline_days)
        return reset


# --- status by ticket ------------------------------------------------------------------------------
# The chat that filed a complaint sees it at once. Any other chat must give the last 4 digits of the
# phone on the complaint; an unknown ticket, wrong digits and an anonymous complaint (no phone) asked
# from another chat all get the same reply, and failures are throttled with the dossier lookups' audit
# (motcua/store/lookups.py: one budget of failed verifications per chat).

TICKET_VERIFIED = "ticket_verified"  # audit outcome; "verified" stays for dossiers (subscriptions read it)


def _day(moment: datetime) -> str:
    return as_utc(moment).astimezone(VIETNAM).strftime("%d/%m/%Y")


def _unavailable() -> Reply:
    return "utter_complaint_status_unavailable", {"hotline": hotline()}


class ValidateComplaintStatusForm(FormValidationAction):
    def name(self) -> str:
        return "validate_complaint_status_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: dict) -> list[str]:
        ticket = find_ticket(str(tracker.get_slot("complaint_ticket") or ""))
        if ticket is None:
            return domain_slots  # the ticket first
        try:
            db = await resources.store()
            async with db.session() as session:
                complaint = await by_ticket(session, ticket)
                if complaint is not None and complaint.sender_id == tracker.sender_id:
                    return ["complaint_ticket"]  # the filing chat needs no proof
                if await locked_until(session, tracker.sender_id) or await client_locked_until(
                        session, lookup_client(tracker)):
                    return []  # asked nothing more: the status action explains the lock
        except Exception:  # store down: end the form; the status action says it cannot check now
            log.exception("could not prepare a complaint status lookup")
            return ["complaint_ticket"]
        return domain_slots

    async def validate_complaint_ticket(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                        domain: dict) -> dict[str, Any]:
        ticket = find_ticket(str(value or "")) or find_ticket(tracker.latest_message.get("text") or "")
        if ticket is None:
            dispatcher.utter_message(response="utter_complaint_ticket_invalid")
            return {"complaint_ticket": None}
        return {"complaint_ticket": ticket}

    async def validate_phone_last4(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: dict) -> dict[str, Any]:
        return validated_last4(value, dispatcher)


class ActionComplaintStatus(Action):
    """Shows a complaint to the chat that filed it, or to another chat whose phone digits match;
    otherwise the same neutral reply whether the ticket exists or not. Audits every check by
    another chat, and refuses a locked chat."""

    def name(self) -> str:
        return "action_complaint_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        reset = [SlotSet("complaint_ticket", None), SlotSet("phone_last4", None)]
        sender, client = tracker.sender_id, lookup_client(tracker)
        ticket = find_ticket(str(tracker.get_slot("complaint_ticket") or ""))
        if ticket is None:
            dispatcher.utter_message(response="utter_ask_complaint_ticket")
            return reset
        digits = str(tracker.get_slot("phone_last4") or "")
        try:
            db = await resources.store()
            async with db.session() as session, session.begin():
                complaint = await by_ticket(session, ticket)
                owner = complaint is not None and complaint.sender_id == sender
                if not owner:
                    refused = await proven_by_digits(session, sender, ticket, client, digits,
                                                     complaint.phone if complaint else None, "complaint",
                                                     TICKET_VERIFIED, no_digits=_unavailable())
                    if refused is not None:
                        utter(dispatcher, refused)
                        return reset
        except Exception:
            log.exception("complaint status unavailable")
            utter(dispatcher, _unavailable())
            return reset
        assert complaint is not None  # the filing chat's own, or verified above
        r = route(load_catalogue().locality, complaint.category)
        dispatcher.utter_message(response="utter_complaint_status_late" if is_late(complaint) else "utter_complaint_status",
                                 ticket=complaint.ticket, status=STATUS_LABELS.get(complaint.status, complaint.status),
                                 agency=r.agency_name, deadline=_day(complaint.deadline_at), hotline=hotline())
        return reset
