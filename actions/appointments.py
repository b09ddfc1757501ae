"""Booking a time at the one-stop office (đặt lịch hẹn): a form asks the procedure (unless the
request named it), a day and a time with free seats, a name and a phone, shows a summary, and the
booking is committed before its code is shown. Cancelling or moving a booking: at once from the
chat that booked it; from another chat after the last 4 digits of its phone, throttled with the
dossier lookups' audit (motcua/store/lookups.py)."""
from __future__ import annotations

import logging
import re
import unicodedata
from datetime import date, datetime, timedelta, timezone
from typing import Any, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import resources
from actions.complaints import MOBILE
from actions.dossiers import Reply, lookup_client, lookup_lock, proven_by_digits, utter, validated_last4
from actions.procedures import render_elsewhere
from motcua.appointments import Schedule, as_vietnam, day_label, find_code, when_label
from motcua.cases_import import normalize_phone
from motcua.catalogue import Procedure, load_catalogue, shorten
from motcua.dossier_text import hotline
from motcua.procedure_search import load_search
from motcua.store import appointments as store
from motcua.store.models import Appointment
from motcua.workdays import VIETNAM
from nlu.text import fold

log = logging.getLogger(__name__)

SLOTS = ("appointment_procedure", "appointment_day", "appointment_time", "appointment_name", "appointment_phone",
         "appointment_confirm", "appointment_moving")
MOVING_SLOTS = ["appointment_day", "appointment_time", "appointment_confirm"]
# The procedures offered as buttons when none was named (the ones citizens book most at a commune).
POPULAR = ("khai_sinh", "ket_hon", "chung_thuc_ban_sao", "thuong_tru", "xac_nhan_hon_nhan", "chuyen_nhuong_dat")
MAX_PAPERS = 6
BOOKING_VERIFIED = "booking_verified"  # lookup audit outcome of another chat's proven booking
WEEKDAY_WORDS = {"thu hai": 0, "thu 2": 0, "t2": 0, "thu ba": 1, "thu 3": 1, "t3": 1, "thu tu": 2, "thu 4": 2, "t4": 2,
                 "thu nam": 3, "thu 5": 3, "t5": 3, "thu sau": 4, "thu 6": 4, "t6": 4}
CONFIRM = [{"title": "Xác nhận", "payload": "/affirm"}, {"title": "Hủy", "payload": "/deny"}]
NAME = re.compile(r"^[^\W\d_]+(?:[ '.-][^\W\d_]+)*$")


def schedule() -> Schedule:
    return Schedule.of(load_catalogue())


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _counter_of(s: Schedule, p: Procedure):
    return s.counter_for(p.id, p.topic, p.code)


def _procedure(tracker: Tracker) -> Optional[Procedure]:
    return load_catalogue().get(tracker.get_slot("appointment_procedure"))


def _day(tracker: Tracker) -> Optional[date]:
    try:
        return date.fromisoformat(str(tracker.get_slot("appointment_day") or ""))
    except ValueError:
        return None


def _start(tracker: Tracker) -> Optional[datetime]:
    day = _day(tracker)
    return as_vietnam(day, str(tracker.get_slot("appointment_time") or "")) if day else None


def parse_day(text: str, days: list[date], today: date) -> Optional[date]:
    """A day among `days` from a button's ISO date or what citizens type: "7/12", "07/12/2026",
    "mai", "ngày mai", "hôm nay", "thứ 2", "t5"."""
    typed = fold(unicodedata.normalize("NFC", text or "")).strip()
    if match := re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", typed):
        wanted: Optional[date] = date(*map(int, match.groups()))
    elif match := re.search(r"\b(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?\b", typed):
        day, month = int(match.group(1)), int(match.group(2))
        year = int(match.group(3)) if match.group(3) else today.year
        year += 2000 if year < 100 else 0
        try:
            wanted = date(year, month, day)
        except ValueError:
            return None
        if not match.group(3) and wanted < today:
            wanted = wanted.replace(year=year + 1)
    elif re.search(r"\b(ngay )?mai\b", typed):
        wanted = today + timedelta(days=1)
    elif "hom nay" in typed:
        wanted = today
    else:
        weekday = next((d for w, d in WEEKDAY_WORDS.items() if re.search(rf"\b{w}\b", typed)), None)
        wanted = next((d for d in days if d.weekday() == weekday), None) if weekday is not None else None
    return wanted if wanted in days else None


def parse_time(text: str) -> Optional[str]:
    """'8:00', '8h', '8h30', '14 giờ', a button's '08:00' → 'HH:MM'; 'chiều 2h' → '14:00'."""
    typed = fold(text or "")
    match = re.search(r"\b(\d{1,2})\s*(?::|h|g|gio)\s*(\d{2})?\b|^\s*(\d{1,2})\s*$", typed)
    if not match:
        return None
    hour = int(match.group(1) or match.group(3))
    minute = int(match.group(2) or 0)
    if ("chieu" in typed or "pm" in typed) and hour < 12:
        hour += 12
    return f"{hour:02d}:{minute:02d}" if hour < 24 and minute < 60 else None


async def _free(s: Schedule, counter_id: str) -> dict[date, list[tuple[datetime, int]]]:
    db = await resources.store()
    async with db.session() as session:
        return await store.free_seats(session, s, counter_id)


async def _free_or_sorry(dispatcher: CollectingDispatcher, s: Schedule, counter_id: Optional[str]
                         ) -> Optional[dict[date, list[tuple[datetime, int]]]]:
    """The free seats of a counter; None, after telling the citizen, when the store cannot say."""
    if counter_id is None:
        return {}
    try:
        return await _free(s, counter_id)
    except Exception:
        log.exception("could not read the free seats")
        dispatcher.utter_message(response="utter_appointment_not_booked", hotline=hotline())
        return None


def _procedure_buttons(tracker: Tracker) -> list[dict[str, str]]:
    catalogue = load_catalogue()
    ids = dict.fromkeys(i for i in [tracker.get_slot("procedure"), *POPULAR] if i)
    chosen = [p for p in map(catalogue.get, ids) if p is not None]
    return [{"title": p.name, "payload": p.id} for p in chosen[:6]]


class ValidateAppointmentForm(FormValidationAction):
    def name(self) -> str:
        return "validate_appointment_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: dict) -> list[str]:
        if not schedule().enabled:
            return []  # action_book_appointment says booking is not open here
        if tracker.get_slot("appointment_moving"):
            return MOVING_SLOTS  # a booking being moved keeps its procedure, name and phone
        return domain_slots

    async def validate_appointment_procedure(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                             domain: dict) -> dict[str, Any]:
        catalogue = load_catalogue()
        text = str(value or "")
        procedure = catalogue.get(text) or catalogue.resolve(text)
        if procedure is None:
            found = load_search().resolve(text)
            if found.kind == "elsewhere" and found.entry is not None:
                dispatcher.utter_message(text=render_elsewhere(found.entry, catalogue.locality))
                return {"appointment_procedure": None}
            procedure = found.procedure if found.kind == "procedure" else None
            if procedure is None:
                options = [o for o in found.options if isinstance(o, Procedure)][:6]
                # The close matches as buttons; without any, the question that follows offers the usual ones.
                dispatcher.utter_message(response="utter_appointment_procedure_unknown",
                                         buttons=[{"title": p.name, "payload": p.id} for p in options])
                return {"appointment_procedure": None}
        s = schedule()
        counter = _counter_of(s, procedure)
        free = await _free_or_sorry(dispatcher, s, counter.id if counter else None)
        if free is None:
            return {"appointment_procedure": None}
        if not free:
            dispatcher.utter_message(response="utter_appointment_no_seats", hotline=hotline(), days=s.days_ahead,
                                     counter=counter.name if counter else "bộ phận một cửa")
            return {"appointment_procedure": None}
        return {"appointment_procedure": procedure.id}

    async def validate_appointment_day(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                       domain: dict) -> dict[str, Any]:
        procedure, s = _procedure(tracker), schedule()
        counter = _counter_of(s, procedure) if procedure else None
        free = await _free_or_sorry(dispatcher, s, counter.id if counter else None)
        if free is None:
            return {"appointment_day": None}
        day = parse_day(str(value or ""), sorted(free), _now().astimezone(VIETNAM).date())
        if day is None:
            dispatcher.utter_message(response="utter_appointment_day_invalid")
            return {"appointment_day": None}
        return {"appointment_day": day.isoformat()}

    async def validate_appointment_time(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                        domain: dict) -> dict[str, Any]:
        procedure, s, day = _procedure(tracker), schedule(), _day(tracker)
        counter = _counter_of(s, procedure) if procedure else None
        free = await _free_or_sorry(dispatcher, s, counter.id if counter and day else None)
        if free is None:
            return {"appointment_time": None}
        hhmm = parse_time(str(value or ""))
        start = as_vietnam(day, hhmm) if day and hhmm else None
        if start is None or start not in [moment for moment, _ in free.get(day, [])]:  # type: ignore[arg-type]
            dispatcher.utter_message(response="utter_appointment_time_invalid")
            return {"appointment_time": None}
        return {"appointment_time": hhmm}

    async def validate_appointment_name(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                        domain: dict) -> dict[str, Any]:
        name = " ".join(unicodedata.normalize("NFC", str(value or "")).split())
        if not (2 <= len(name) <= 100 and NAME.match(name)):
            dispatcher.utter_message(response="utter_appointment_name_invalid")
            return {"appointment_name": None}
        return {"appointment_name": name.title() if name.islower() else name}

    async def validate_appointment_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                         domain: dict) -> dict[str, Any]:
        phone = normalize_phone(str(value or ""))
        if not MOBILE.match(phone):
            dispatcher.utter_message(response="utter_appointment_phone_invalid")
            return {"appointment_phone": None}
        return {"appointment_phone": phone}


class ActionAskAppointmentProcedure(Action):
    def name(self) -> str:
        return "action_ask_appointment_procedure"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        dispatcher.utter_message(response="utter_ask_appointment_procedure", buttons=_procedure_buttons(tracker))
        return []


class ActionAskAppointmentDay(Action):
    """The working days with free seats at the procedure's counter."""

    def name(self) -> str:
        return "action_ask_appointment_day"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        s, procedure = schedule(), _procedure(tracker)
        counter = _counter_of(s, procedure) if procedure else None
        free = await _free_or_sorry(dispatcher, s, counter.id if counter else None)
        if free is None:
            return []
        buttons = [{"title": f"{day_label(day)} (còn {sum(n for _, n in slots)} chỗ)", "payload": day.isoformat()}
                   for day, slots in sorted(free.items())]
        dispatcher.utter_message(response="utter_ask_appointment_day", counter=counter.name if counter else "",
                                 buttons=buttons)
        return []


class ActionAskAppointmentTime(Action):
    def name(self) -> str:
        return "action_ask_appointment_time"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        s, procedure, day = schedule(), _procedure(tracker), _day(tracker)
        counter = _counter_of(s, procedure) if procedure else None
        free = await _free_or_sorry(dispatcher, s, counter.id if counter and day else None)
        if free is None:
            return []
        buttons = [{"title": f"{m.hour}:{m.minute:02d} (còn {n} chỗ)", "payload": f"{m.hour:02d}:{m.minute:02d}"}
                   for m, n in free.get(day, [])]  # type: ignore[arg-type]
        dispatcher.utter_message(response="utter_ask_appointment_time", day=day_label(day) if day else "",
                                 buttons=buttons)
        return []


def _place(s: Schedule, counter_id: str) -> tuple[str, str, str]:
    counter = s.counter(counter_id)
    return (counter.name if counter else counter_id, str(s.office.get("name", "")), str(s.office.get("address", "")))


class ActionAskAppointmentConfirm(Action):
    """The summary the citizen confirms before anything is booked."""

    def name(self) -> str:
        return "action_ask_appointment_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        s, procedure, start = schedule(), _procedure(tracker), _start(tracker)
        counter = _counter_of(s, procedure) if procedure else None
        counter_name, office, _ = _place(s, counter.id if counter else "")
        lines = ["Anh/chị kiểm tra lại lịch hẹn:",
                 f"• Thủ tục: {procedure.name if procedure else ''}",
                 f"• Thời gian: {when_label(start) if start else ''}",
                 f"• Nơi đến: {counter_name}, {office}"]
        if not tracker.get_slot("appointment_moving"):
            lines += [f"• Người đến: {tracker.get_slot('appointment_name')}",
                      f"• Điện thoại: {tracker.get_slot('appointment_phone')}"]
        lines.append("Đổi sang lịch này?" if tracker.get_slot("appointment_moving") else "Đặt lịch này?")
        dispatcher.utter_message(text="\n".join(lines), buttons=CONFIRM)
        return []


def _papers(procedure: Procedure) -> str:
    papers = [f"• {shorten(d, 140)}" for d in procedure.documents[:MAX_PAPERS]]
    if len(procedure.documents) > MAX_PAPERS:
        papers.append("• … (danh sách đầy đủ: nhắn \"giấy tờ " + procedure.name.lower() + "\")")
    return "Giấy tờ cần mang theo:\n" + "\n".join(papers) if papers else ""


class ActionBookAppointment(Action):
    """Commits the booking (or the move), then shows its code: a code shown is a booking stored."""

    def name(self) -> str:
        return "action_book_appointment"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        reset = [SlotSet(slot, None) for slot in SLOTS]
        s = schedule()
        if not s.enabled:
            dispatcher.utter_message(response="utter_appointments_unavailable", hotline=hotline())
            return reset
        if tracker.get_slot("appointment_confirm") != "yes":
            dispatcher.utter_message(response="utter_appointment_stopped" if not tracker.get_slot("appointment_moving")
                                     else "utter_booking_manage_stopped")
            return reset
        procedure, start, moving = _procedure(tracker), _start(tracker), tracker.get_slot("appointment_moving")
        counter = _counter_of(s, procedure) if procedure else None
        if procedure is None or start is None or counter is None:
            dispatcher.utter_message(response="utter_appointment_stopped")
            return reset
        try:
            db = await resources.store()
            async with db.session() as session, session.begin():
                if moving:
                    booking = await store.by_code(session, moving)
                    if booking is None:
                        raise store.BookingRefused("not_bookable")
                    await store.move(session, s, booking, start)
                else:
                    booking = await store.book(session, s, store.Request(
                        sender_id=tracker.sender_id, procedure_id=procedure.id, procedure_name=procedure.name,
                        counter_id=counter.id, starts_at=start, name=tracker.get_slot("appointment_name") or "",
                        phone=tracker.get_slot("appointment_phone") or ""))
                code = booking.code
        except store.BookingRefused as refused:
            return self._refused(dispatcher, refused.reason, s, reset)
        except Exception:
            log.exception("could not book an appointment")
            dispatcher.utter_message(response="utter_appointment_not_booked", hotline=hotline())
            return reset
        counter_name, office, address = _place(s, counter.id)
        if moving:
            dispatcher.utter_message(response="utter_appointment_moved", code=code, when=when_label(start),
                                     counter=counter_name)
        else:
            papers = _papers(procedure)
            if s.priority_age:
                papers += f"\nNgười từ {s.priority_age} tuổi trở lên được ưu tiên gọi trước."
            dispatcher.utter_message(response="utter_appointment_booked", code=code, when=when_label(start),
                                     counter=counter_name, office=office, address=address, procedure=procedure.name,
                                     papers=papers.strip(), before=int(s.soon_reminder.total_seconds() // 60))
        return reset

    @staticmethod
    def _refused(dispatcher: CollectingDispatcher, reason: str, s: Schedule, reset: list) -> list:
        if reason == "phone_limit":
            dispatcher.utter_message(response="utter_appointment_phone_limit", limit=s.per_phone_per_day)
            return reset
        # The seat went (or the time passed) while the citizen was confirming: ask another time.
        dispatcher.utter_message(response="utter_appointment_full" if reason == "full" else "utter_appointment_time_invalid")
        kept = [SlotSet("appointment_time", None), SlotSet("appointment_confirm", None)]
        return kept + [FollowupAction("appointment_form")]


# --- cancel or move ---------------------------------------------------------------------------------

def _unavailable() -> Reply:
    return "utter_booking_unavailable", {"hotline": hotline()}


class ValidateAppointmentManageForm(FormValidationAction):
    def name(self) -> str:
        return "validate_appointment_manage_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: dict) -> list[str]:
        code = find_code(str(tracker.get_slot("booking_code") or ""))
        if code is None:
            return domain_slots
        try:
            db = await resources.store()
            async with db.session() as session:
                booking = await store.by_code(session, code)
                if booking is not None and booking.sender_id == tracker.sender_id:
                    return ["booking_code"]  # the chat that booked needs no proof
                if await lookup_lock(session, tracker.sender_id, "", lookup_client(tracker)):
                    return []  # asked nothing more: the action explains the lock
        except Exception:
            log.exception("could not prepare a booking check")
            return ["booking_code"]
        return domain_slots

    async def validate_booking_code(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: dict) -> dict[str, Any]:
        code = find_code(str(value or "")) or find_code(tracker.latest_message.get("text") or "")
        if code is None:
            dispatcher.utter_message(response="utter_booking_code_invalid")
        return {"booking_code": code}

    async def validate_phone_last4(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: dict) -> dict[str, Any]:
        return validated_last4(value, dispatcher)


class ActionAskBookingCode(Action):
    """The chat's own bookings as buttons, if it has any; else the code is asked for."""

    def name(self) -> str:
        return "action_ask_booking_code"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        try:
            db = await resources.store()
            async with db.session() as session:
                mine = await store.active_of_chat(session, tracker.sender_id)
        except Exception:
            log.exception("could not list a chat's bookings")
            mine = []
        if not mine:
            dispatcher.utter_message(response="utter_ask_booking_code")
            return []
        action = "đổi" if tracker.get_slot("booking_action") == "change" else "hủy"
        dispatcher.utter_message(response="utter_booking_which", action=action,
                                 buttons=[{"title": f"{a.code} – {when_label(a.starts_at)}", "payload": a.code}
                                          for a in mine[:5]])
        return []


class ActionManageAppointment(Action):
    """Cancels or starts moving a booking for the chat that made it, or for another chat whose
    phone digits match; otherwise the same neutral reply whether the code exists or not."""

    def name(self) -> str:
        return "action_manage_appointment"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        reset = [SlotSet("booking_code", None), SlotSet("phone_last4", None), SlotSet("booking_action", None)]
        sender, client = tracker.sender_id, lookup_client(tracker)
        code = find_code(str(tracker.get_slot("booking_code") or ""))
        if code is None:
            dispatcher.utter_message(response="utter_ask_booking_code")
            return reset
        digits = str(tracker.get_slot("phone_last4") or "")
        change = tracker.get_slot("booking_action") == "change"
        try:
            db = await resources.store()
            async with db.session() as session, session.begin():
                booking = await store.by_code(session, code)
                if booking is None or booking.sender_id != sender:
                    refusal = await self._check(session, booking, sender, code, digits, client)
                    if refusal:
                        utter(dispatcher, refusal)
                        return reset
                assert booking is not None  # the chat's own, or proven above
                if booking.status not in store.CANCELLABLE:
                    dispatcher.utter_message(response="utter_booking_not_cancellable", code=code,
                                             status=store.STATUS_LABELS.get(booking.status, booking.status))
                    return reset
                if change:
                    moving = [SlotSet("appointment_moving", code), SlotSet("appointment_procedure", booking.procedure_id)]
                    return reset + moving + [FollowupAction("appointment_form")]
                await store.cancel(session, booking, "citizen")
                when, counter = when_label(booking.starts_at), _place(schedule(), booking.counter_id)[0]
        except Exception:
            log.exception("could not cancel or move a booking")
            utter(dispatcher, _unavailable())
            return reset
        dispatcher.utter_message(response="utter_appointment_cancelled", code=code, when=when, counter=counter)
        return reset

    @staticmethod
    async def _check(session, booking: Optional[Appointment], sender: str, code: str, digits: str,
                     client: Optional[str]) -> Optional[Reply]:
        """None when another chat proved the booking is theirs; else what to tell them (and the
        failure audited, which is what throttles guessing)."""
        return await proven_by_digits(session, sender, code, client, digits, booking.phone if booking else None,
                                      "booking", BOOKING_VERIFIED, no_digits=_unavailable())
