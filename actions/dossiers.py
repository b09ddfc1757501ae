"""Dossier status lookup: a form asks for the code and the last 4 phone digits; the dossier is
shown only when both match. Until then the reply is the same whether the code exists or not."""
from __future__ import annotations

import hmac
import logging
import re
from datetime import datetime
from typing import Any, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import resources
from motcua.cases_import import normalize_code
from motcua.dossier_text import hotline as _hotline
from motcua.dossier_text import render_dossier
from motcua.store.lookups import MAX_FAILURES, client_locked_until, code_locked_until, failures_left, locked_until, record_lookup
from motcua.store.subscriptions import last_verified_code, subscribe, unsubscribe
from motcua.workdays import VIETNAM

log = logging.getLogger(__name__)

# A dossier code inside any sentence: agency part, received date YYMMDD, sequence; spaces allowed.
CODE_IN_TEXT = re.compile(r"([A-Za-z0-9]{1,4}(?:\.[A-Za-z0-9]{1,4}){1,4})[\s\-_]+(\d{6})[\s\-_]+(\d{3,6})")


def find_code(text: str) -> Optional[str]:
    match = CODE_IN_TEXT.search(text or "")
    return normalize_code("-".join(match.groups())) if match else None


def last4(text: str) -> Optional[str]:
    digits = re.sub(r"[^0-9]", "", text or "")  # ASCII digits only (\D would keep other scripts' digits)
    return digits[-4:] if len(digits) >= 4 else None


def phone_ends_with(phone: Optional[str], digits: str) -> bool:
    """Whether a phone number on record ends with the 4 digits given (constant-time: the answer
    leaks nothing through timing); a record without a phone never matches."""
    number = re.sub(r"[^0-9]", "", phone or "")
    return len(number) >= 4 and len(digits) == 4 and hmac.compare_digest(number[-4:].encode(), digits.encode())


# The web chat's client, as the gateway names it in the message's metadata (a hash of its address).
_CLIENT_KEY = re.compile(r"^[0-9a-f]{16,32}$")


def lookup_client(tracker: Tracker) -> Optional[str]:
    """The client key of the message that ended the lookup form (web chat only), else None."""
    key = (tracker.latest_message.get("metadata") or {}).get("client")
    return key if isinstance(key, str) and _CLIENT_KEY.match(key) else None


def validated_last4(value: Any, dispatcher: CollectingDispatcher) -> dict[str, Any]:
    """The phone_last4 slot of any form that asks for it (dossier lookup, complaint status)."""
    digits = last4(str(value or ""))
    if digits is None:
        dispatcher.utter_message(response="utter_phone_last4_invalid")
    return {"phone_last4": digits}


def _when(until: datetime) -> str:
    return until.astimezone(VIETNAM).strftime("%H:%M ngày %d/%m/%Y")


# A reply: the name of its response (responses/*.yml) and the values it is filled with.
Reply = tuple[str, dict[str, Any]]


def utter(dispatcher: CollectingDispatcher, reply: Reply) -> None:
    response, values = reply
    dispatcher.utter_message(response=response, **values)


def unavailable() -> Reply:
    return "utter_dossier_unavailable", {"hotline": _hotline()}


# A lookup's lock: the outcome audited while it holds, and until when.
Lock = tuple[str, datetime]


async def lookup_lock(session, sender_id: str, code: str, client: Optional[str]) -> Optional[Lock]:
    """The lock that holds for this lookup, if any: the chat's, else the web chat client
    address's, else the dossier code's or ticket's (their rules: motcua/store/lookups.py)."""
    if until := await locked_until(session, sender_id):
        return "locked", until
    if until := await client_locked_until(session, client):
        return "client_locked", until
    if code and (until := await code_locked_until(session, code)):
        return "code_locked", until
    return None


# The reply when one dossier code, ticket or booking code is locked, by subject.
CODE_LOCKED = {"dossier": "utter_dossier_code_locked", "complaint": "utter_complaint_ticket_locked",
               "booking": "utter_booking_code_locked"}


def lock_reply(lock: Lock, subject: str = "dossier") -> Reply:
    """What the citizen is told while `lock` holds, in the words of the thing looked up
    (`subject`: dossier, complaint or booking; responses utter_<subject>_lookup_locked and so on)."""
    outcome, until = lock
    when = {"until": _when(until), "hotline": _hotline()}
    if outcome == "locked":
        return f"utter_{subject}_lookup_locked", {"failures": MAX_FAILURES, **when}
    if outcome == "client_locked":
        return "utter_lookup_client_locked", when
    return CODE_LOCKED[subject], when


# The reply when another chat's phone digits do not match, by subject (with the tries left).
CHECK_FAILED = {"dossier": "utter_dossier_lookup_failed", "complaint": "utter_complaint_status_failed",
                "booking": "utter_booking_check_failed"}


async def proven_by_digits(session, sender_id: str, code: str, client: Optional[str], digits: str,
                           phone: Optional[str], subject: str, outcome: str, no_digits: Reply) -> Optional[Reply]:
    """Another chat proving that a ticket or booking is theirs with the last 4 digits of the phone
    on record (`phone`: None when there is no such record, and the reply is the same), in the
    caller's transaction. None when proven (audited as `outcome`); else what to tell them: the lock
    that holds, `no_digits` when none were asked (the form ended early: the store was down), or the
    failure with the tries left. Every check is audited: that is what throttles guessing, here as
    for dossier lookups."""
    if lock := await lookup_lock(session, sender_id, code, client):
        await record_lookup(session, sender_id, code, lock[0], client_key=client)
        return lock_reply(lock, subject)
    if not digits:
        return no_digits
    verified = phone_ends_with(phone, digits)
    await record_lookup(session, sender_id, code, outcome if verified else "failed", client_key=client)
    if verified:
        return None
    await session.flush()  # the failure counts for the lock below
    if lock := await lookup_lock(session, sender_id, code, client):
        return lock_reply(lock, subject)
    return CHECK_FAILED[subject], {"left": await failures_left(session, sender_id)}


async def _locked(sender_id: str, client: Optional[str]) -> Optional[datetime]:
    db = await resources.store()
    async with db.session() as session:
        return await locked_until(session, sender_id) or await client_locked_until(session, client)


class ValidateDossierLookupForm(FormValidationAction):
    def name(self) -> str:
        return "validate_dossier_lookup_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: dict) -> list[str]:
        # A locked chat is asked nothing: the form ends at once and the lookup action explains.
        try:
            if await _locked(tracker.sender_id, lookup_client(tracker)):
                return []
        except Exception:  # store down: end the form; the lookup action says it cannot check now
            log.exception("could not read the lookup throttle")
            return []
        return domain_slots

    async def validate_dossier_code(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: dict) -> dict[str, Any]:
        code = find_code(str(value or "")) or find_code(tracker.latest_message.get("text") or "")
        if code is None:
            dispatcher.utter_message(response="utter_dossier_code_invalid")
            return {"dossier_code": None}
        return {"dossier_code": code}

    async def validate_phone_last4(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: dict) -> dict[str, Any]:
        return validated_last4(value, dispatcher)


class ActionDossierStatus(Action):
    """Verifies the phone digits against the dossier, then shows it; audits every attempt."""

    def name(self) -> str:
        return "action_dossier_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        reset = [SlotSet("dossier_code", None), SlotSet("phone_last4", None)]
        sender, client = tracker.sender_id, lookup_client(tracker)
        code = tracker.get_slot("dossier_code") or ""
        digits = tracker.get_slot("phone_last4") or ""
        try:
            db = await resources.store()
            async with db.session() as session, session.begin():
                lock = await lookup_lock(session, sender, code, client)
                if lock:
                    await record_lookup(session, sender, code, lock[0], client_key=client)
                    utter(dispatcher, lock_reply(lock))
                    return reset
            if not code or not digits:
                return reset
            dossier = await resources.cases().get(code)
        except Exception:
            log.exception("dossier lookup unavailable")
            utter(dispatcher, unavailable())
            await self._audit(sender, code, "unavailable", client)
            return reset

        # Constant-time comparison; a dossier without a phone can never be verified.
        if dossier is not None and phone_ends_with(dossier.phone, digits):
            await self._audit(sender, code, "verified", client)
            dispatcher.utter_message(text=render_dossier(dossier), buttons=[SUBSCRIBE_BUTTON])
            return reset

        await self._audit(sender, code, "failed", client)
        db = await resources.store()
        async with db.session() as session:
            lock = await lookup_lock(session, sender, code, client)
            reply = lock_reply(lock) if lock else (CHECK_FAILED["dossier"],
                                                   {"left": await failures_left(session, sender)})
        utter(dispatcher, reply)
        return reset

    @staticmethod
    async def _audit(sender: str, code: str, outcome: str, client: Optional[str]) -> None:
        try:
            db = await resources.store()
            async with db.session() as session, session.begin():
                await record_lookup(session, sender, code, outcome, client_key=client)
        except Exception:
            log.exception("could not audit a dossier lookup (%s)", outcome)


SUBSCRIBE_BUTTON = {"title": "Báo cho tôi khi hồ sơ thay đổi", "payload": "/subscribe_dossier"}
UNSUBSCRIBE_BUTTON = {"title": "Hủy theo dõi hồ sơ", "payload": "/unsubscribe_dossier"}


class ActionSubscribeDossier(Action):
    """Only a chat that verified the dossier (in the last 24 hours) can follow it."""

    def name(self) -> str:
        return "action_subscribe_dossier"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        wanted = next((find_code(str(e.get("value"))) for e in tracker.latest_message.get("entities", [])
                       if e.get("entity") == "dossier_code"), None)
        try:
            db = await resources.store()
            async with db.session() as session:
                code = await last_verified_code(session, tracker.sender_id, wanted)
            dossier = await resources.cases().get(code) if code else None
            if dossier is None or not code:
                dispatcher.utter_message(response="utter_subscribe_needs_lookup")
                return []
            async with db.session() as session, session.begin():
                await subscribe(session, tracker.sender_id, code, dossier.status, dossier.due_at)
        except Exception:
            log.exception("could not subscribe to a dossier")
            utter(dispatcher, unavailable())
            return []
        dispatcher.utter_message(response="utter_dossier_subscribed", code=code, buttons=[UNSUBSCRIBE_BUTTON])
        return []


class ActionUnsubscribeDossier(Action):
    def name(self) -> str:
        return "action_unsubscribe_dossier"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        try:
            db = await resources.store()
            async with db.session() as session, session.begin():
                n = await unsubscribe(session, tracker.sender_id)
        except Exception:
            log.exception("could not unsubscribe")
            utter(dispatcher, unavailable())
            return []
        dispatcher.utter_message(response="utter_dossier_unsubscribed" if n else "utter_dossier_not_subscribed")
        return []
