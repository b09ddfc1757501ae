"""Satisfaction ratings (đánh giá mức độ hài lòng): Rất hài lòng / Hài lòng / Không hài lòng, the reason
required for the last (optional for "was this procedure answer helpful?").

`rating_form` asks the level (buttons, or typed in any spelling), then the reason when unsatisfied;
`action_submit_rating` commits the rating before thanking. Other parts of the system start a rating with
the payloads of `motcua.store.ratings.rating_buttons`, which set subject, reference and level in one tap.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecutionRejected, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import resources
from actions.buttons import COMPLAINT_BUTTON
from motcua.cases_import import normalize_code
from motcua.catalogue import load_catalogue
from motcua.dossier_text import hotline
from motcua.store.complaints import by_ticket, find_ticket
from motcua.store.ratings import (
    MAX_REASON_CHARS,
    RATING_LEVELS,
    RATING_SUBJECTS,
    REASON_OPTIONAL,
    has_verified_lookup,
    rating_buttons,
    rating_payload,
    record_rating,
)
from nlu.text import fold

log = logging.getLogger(__name__)

FORM = "rating_form"
SLOTS = ("rating_subject", "rating_ref", "rating_level", "rating_reason")
SKIPPED = "-"  # the reason the citizen chose to skip ("Bỏ qua", only where it is optional)
DOSSIER_CODE = re.compile(r"^[A-Z0-9]{1,5}(?:\.[A-Z0-9]{1,5}){1,4}-\d{6}-\d{3,6}$")

SKIP_BUTTON = {"title": "Bỏ qua", "payload": "/deny"}

# --- understanding a typed level -------------------------------------------------------------
# Matched on the folded text (lower case, no diacritics, chat shorthand expanded: "ko hl" -> "khong hl").
_SAT = r"(?:hai long|hl)"
_NEGATIVE_SAT = re.compile(
    rf"\b(?:khong|chua|chang|cha|it)\s+(?:duoc\s+|thay\s+|that su\s+|lam\s+|may\s+|he\s+)?{_SAT}\b")
_VERY_SAT = re.compile(rf"\b(?:rat|cuc ky|cuc ki|vo cung|hoan toan|qua|that su|rat la)\s+{_SAT}\b"
                       rf"|\b{_SAT}\s+(?:lam|qua|vo cung|cuc ky|cuc ki|tuyet doi)\b")
_PLAIN_SAT = re.compile(rf"\b{_SAT}\b")
# Words that say the level without "hài lòng", understood only as the answer to the level question.
_NEGATIVE_WORDS = re.compile(r"\bbat man\b|\bthat vong\b|\bte\b|\bkem\b|\bbuc minh\b|\bqua cham\b"
                             r"|\bcham qua\b|\b(?:khong|chua)\s+(?:tot|on|duoc)\b")
_NOT_NEGATIVE = re.compile(r"\b(?:khong|chang)\s+(?:te|kem)\b")
_VERY_WORDS = re.compile(r"\btuyet voi\b|\bxuat sac\b|\brat tot\b|\bqua tot\b|\btot lam\b|\btot qua\b")
_SATISFIED_WORDS = re.compile(r"\btot\b|\bon\b|\bkhong (?:te|kem)\b")
# "đánh giá mức độ hài lòng", "phiếu khảo sát sự hài lòng" name the survey, not a level.
_SURVEY = re.compile(rf"\b(?:muc do|su|do|khao sat)\s+{_SAT}\b")
_STARS = re.compile(r"\b([1-5])\s*(?:sao|\*)")
_YES = {"co", "co a", "da co", "co huu ich", "huu ich", "rat huu ich", "co chu", "yes", "ok", "dung", "co nhe"}
_NO = {"khong", "khong a", "da khong", "khong huu ich", "chua", "chua huu ich", "chua du", "chua ro", "no"}
_TRIVIAL = {"khong", "khong biet", "khong co", "khong co gi", "khong noi", "binh thuong", "vay thoi", "the thoi",
            "co", "ok", "abc", "test", "asdf", "vay", "nhu vay", "khong ro", "ly do", "la do", "tai vi", "vi",
            "bo qua", "khong can", "khong can dau", "thoi", "thoi khoi"}


def _stars(folded: str) -> Optional[str]:
    match = _STARS.search(folded)
    if not match:
        return None
    n = int(match.group(1))
    return "very_satisfied" if n == 5 else "satisfied" if n >= 3 else "unsatisfied"


def parse_level(text: str, subject: Optional[str] = None, strict: bool = False) -> Optional[str]:
    """A level from what the citizen typed or tapped: a level id, a button title, "rat hai long",
    "ko hài lòng", "tệ", "5 sao"…; None when unclear.

    `strict` is for the message that starts a rating ("tôi không hài lòng với…"): only the hài lòng
    wordings and stars count there, and "đánh giá mức độ hài lòng" is not a level."""
    raw = str(text or "").strip()
    if raw in RATING_LEVELS:
        return raw
    folded = fold(raw)
    if not folded:
        return None
    if subject == "procedure" and not strict:
        if folded in _YES:
            return "satisfied"
        if folded in _NO:
            return "unsatisfied"
    if strict:
        folded = _SURVEY.sub(" ", folded)
    if _NEGATIVE_SAT.search(folded):
        return "unsatisfied"
    if _VERY_SAT.search(folded):
        return "very_satisfied"
    if _PLAIN_SAT.search(folded):
        return "satisfied"
    if not strict:
        if _NEGATIVE_WORDS.search(folded) and not _NOT_NEGATIVE.search(folded):
            return "unsatisfied"
        if _VERY_WORDS.search(folded):
            return "very_satisfied"
        if _SATISFIED_WORDS.search(folded):
            return "satisfied"
    return _stars(folded)


def trivial_reason(text: str) -> bool:
    folded = fold(text)
    letters = re.sub(r"[^a-z]", "", folded)
    return len(folded.split()) < 2 or len(letters) < 5 or folded in _TRIVIAL


def _entity(tracker: Tracker, name: str) -> Optional[str]:
    return next((str(e.get("value")) for e in tracker.latest_message.get("entities", []) or []
                 if e.get("entity") == name and e.get("value") not in (None, "")), None)


def _subject(tracker: Tracker) -> str:
    subject = tracker.get_slot("rating_subject")
    return subject if subject in RATING_SUBJECTS else "service"


def _worded(subject: str, ref: str) -> str:
    """Which wording a rating question or thanks takes (responses/ratings.yml): the complaint's or
    dossier's when it names one, else the service's."""
    return subject if subject in ("complaint", "dossier") and ref else "service"


def _intent(tracker: Tracker) -> Optional[str]:
    return (tracker.latest_message.get("intent") or {}).get("name")


def _text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "").strip()


# --- the form ----------------------------------------------------------------------------------

class ValidateRatingForm(FormValidationAction):
    def name(self) -> str:
        return "validate_rating_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        # "hủy"/"thôi"/"/deny" while the form asks: reject, so the cancel rule (deny) runs.
        if self._cancels(tracker):
            return [ActionExecutionRejected(FORM)]
        cleared = []
        if tracker.get_slot("requested_slot") is None and not _text(tracker).startswith("/"):
            # Started by typing: what an earlier, abandoned button rating left behind does not apply.
            for slot in ("rating_subject", "rating_ref"):
                if tracker.get_slot(slot) is not None:
                    tracker.slots[slot] = None
                    cleared.append(SlotSet(slot, None))
        return cleared + await super().run(dispatcher, tracker, domain)

    @staticmethod
    def _cancels(tracker: Tracker) -> bool:
        if tracker.active_loop_name != FORM or _intent(tracker) != "deny":
            return False
        requested, text, subject = tracker.get_slot("requested_slot"), _text(tracker), _subject(tracker)
        if requested == "rating_level":
            return parse_level(text, subject) is None and _entity(tracker, "rating_level") is None
        if requested == "rating_reason":
            # "Bỏ qua" where the reason is optional; a real reason that happens to read as "no" is kept.
            return subject not in REASON_OPTIONAL and (text.startswith("/") or len(fold(text).split()) <= 4)
        return False

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: dict) -> list[str]:
        if tracker.get_slot("rating_level") == "unsatisfied":
            return ["rating_level", "rating_reason"]
        return ["rating_level"]

    async def extract_rating_level(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: dict) -> dict[str, Any]:
        """The message that starts the form may already say the level ("tôi không hài lòng với…")."""
        text = _text(tracker)
        # Only at activation: nothing requested yet (the tracker already shows the form as active then).
        if (tracker.get_slot("requested_slot") or tracker.get_slot("rating_level") or text.startswith("/")
                or _intent(tracker) != "rate_service"):
            return {}
        level = parse_level(text, strict=True)
        return {"rating_level": level} if level else {}

    async def validate_rating_level(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: dict) -> dict[str, Any]:
        level = parse_level(str(value or ""), _subject(tracker)) or parse_level(_entity(tracker, "rating_level") or "")
        if level is None:
            dispatcher.utter_message(response="utter_rating_level_unclear")
        return {"rating_level": level}

    async def validate_rating_reason(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                     domain: dict) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") is None:  # left from an earlier form: a reason is only ever asked
            return {"rating_reason": None}
        text = str(value or "").strip()
        if _subject(tracker) in REASON_OPTIONAL:
            skip = (text.startswith("/") or _intent(tracker) == "deny" or trivial_reason(text)
                    or text == SKIPPED)
            return {"rating_reason": SKIPPED if skip else text[:MAX_REASON_CHARS]}
        if text.startswith("/"):  # a button of something else: ask again
            return {"rating_reason": None}
        if trivial_reason(text):
            dispatcher.utter_message(response="utter_rating_reason_too_vague")
            return {"rating_reason": None}
        return {"rating_reason": text[:MAX_REASON_CHARS]}


def helpful_buttons(procedure_id: str) -> list[dict[str, str]]:
    """"Thông tin có hữu ích không?": Có / Không, each completing a procedure rating in one tap."""
    return [{"title": "Có", "payload": rating_payload("procedure", procedure_id, "satisfied")},
            {"title": "Không", "payload": rating_payload("procedure", procedure_id, "unsatisfied")}]


class ActionAskRatingLevel(Action):
    def name(self) -> str:
        return "action_ask_rating_level"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        subject, ref = _subject(tracker), tracker.get_slot("rating_ref") or ""
        if subject == "procedure" and ref:
            dispatcher.utter_message(response="utter_rating_question_procedure", buttons=helpful_buttons(ref))
            return []
        dispatcher.utter_message(response=f"utter_rating_question_{_worded(subject, ref)}", ref=ref,
                                 buttons=rating_buttons(subject, ref if subject != "service" else ""))
        return []


class ActionAskRatingReason(Action):
    def name(self) -> str:
        return "action_ask_rating_reason"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        if _subject(tracker) == "procedure":
            dispatcher.utter_message(response="utter_rating_question_more_info", buttons=[SKIP_BUTTON])
        else:
            dispatcher.utter_message(response="utter_rating_question_reason")
        return []


# --- storing -----------------------------------------------------------------------------------

def _agency_id(name: str) -> str:
    """A dossier's agency as the locality's agency id when the names match, else as written."""
    wanted = fold(name)
    for agency in load_catalogue().locality.agencies:
        if wanted and wanted in (fold(str(agency.get("name", ""))), fold(str(agency.get("id", "")))):
            return str(agency["id"])
    return name.strip()


def _agency_name(agency: Optional[str]) -> Optional[str]:
    if not agency:
        return None
    return next((str(a.get("name")) for a in load_catalogue().locality.agencies if a.get("id") == agency), agency)


async def attach(session, sender_id: str, subject: str, ref: str) -> tuple[str, str, Optional[str]]:
    """(subject, reference, agency) as they may be stored: a complaint only for the chat that filed it,
    a dossier's agency only for a chat that proved it owns the dossier."""
    ref = (ref or "").strip()
    if subject == "complaint":
        ticket = find_ticket(ref)
        complaint = await by_ticket(session, ticket) if ticket else None
        if complaint is not None and complaint.sender_id == sender_id:
            return "complaint", complaint.ticket, complaint.agency
        return "service", "", None
    if subject == "dossier":
        code = normalize_code(ref)
        if not DOSSIER_CODE.match(code):
            return "service", "", None
        agency = None
        if await has_verified_lookup(session, sender_id, code):
            try:
                dossier = await resources.cases().get(code)
                agency = _agency_id(dossier.agency) if dossier is not None and dossier.agency else None
            except Exception:  # the case database being down must not lose the rating
                log.exception("could not read the dossier's agency for a rating")
        return "dossier", code, agency
    if subject == "procedure":
        procedure = load_catalogue().get(ref)
        return ("procedure", procedure.id, None) if procedure is not None else ("service", "", None)
    return "service", "", None


class ActionSubmitRating(Action):
    """Commits the rating, then thanks: a thank-you shown is a rating stored."""

    def name(self) -> str:
        return "action_submit_rating"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        reset = [SlotSet(s, None) for s in SLOTS]
        level = tracker.get_slot("rating_level")
        if level not in RATING_LEVELS:
            return reset
        reason = str(tracker.get_slot("rating_reason") or "") if level == "unsatisfied" else ""
        if reason == SKIPPED or reason.startswith("/"):
            reason = ""
        try:
            db = await resources.store()
            async with db.session() as session:
                subject, ref, agency = await attach(session, tracker.sender_id, _subject(tracker),
                                                    tracker.get_slot("rating_ref") or "")
            async with db.session() as session, session.begin():
                await record_rating(session, sender_id=tracker.sender_id, level=level, subject=subject,
                                    subject_ref=ref, agency=agency, reason=reason)
        except ValueError:  # "Không hài lòng" without a reason: cannot happen through the form
            log.exception("rating refused")
            dispatcher.utter_message(response="utter_rating_needs_reason")
            return reset
        except Exception:
            log.exception("could not store a rating")
            dispatcher.utter_message(response="utter_rating_not_stored")
            return reset
        self._thank(dispatcher, level, subject, ref, agency)
        return reset

    @staticmethod
    def _thank(dispatcher: CollectingDispatcher, level: str, subject: str, ref: str, agency: Optional[str]) -> None:
        if subject == "procedure":
            if level == "unsatisfied":
                procedure = load_catalogue().get(ref)
                dispatcher.utter_message(response="utter_rating_procedure_unhelpful",
                                         procedure=procedure.name if procedure else "này", hotline=hotline())
            else:
                dispatcher.utter_message(response="utter_rating_procedure_helpful")
            return
        worded = _worded(subject, ref)
        if level == "unsatisfied":
            dispatcher.utter_message(response=f"utter_rating_sorry_{worded}", ref=ref,
                                     who=_agency_name(agency) or "cơ quan, đơn vị liên quan", buttons=[COMPLAINT_BUTTON])
        else:
            dispatcher.utter_message(response=f"utter_rating_thanks_{worded}", ref=ref, level=RATING_LEVELS[level])


class ActionRatingCancelled(Action):
    def name(self) -> str:
        return "action_rating_cancelled"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        dispatcher.utter_message(response="utter_rating_cancelled")
        return [SlotSet(s, None) for s in SLOTS]
