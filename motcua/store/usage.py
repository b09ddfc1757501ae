"""How citizens used the bot over a period, for the reports page: messages per day and channel,
what they asked (from the traces each need leaves in the store), the procedures answered, the
messages the bot could not answer (fallbacks and dead ends) and the conversations handed to officials.

The intent Rasa gave each message is not stored (the gateway talks to Rasa's REST webhook, which
returns only the replies), so "what citizens asked" counts what each need leaves behind: a
procedure answer, a dossier or ticket lookup, a filed complaint, a handoff, formal guidance, a
rating, a fallback. Greetings, thanks, office hours and out-of-scope questions leave no trace and
are not counted.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Optional, Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.store.cases import as_utc
from motcua.store.models import (
    Complaint,
    Conversation,
    DossierLookup,
    FormalGuidance,
    Handoff,
    Message,
    NluInboxItem,
    Rating,
)
from motcua.store.nlu_inbox import dead_ends, prepare
from motcua.workdays import VIETNAM

TICKET_PREFIX = "PA-"
# What each need leaves in the store, in the order the page lists them (the contract's intents).
NEEDS = ("ask_procedure", "check_dossier_status", "submit_complaint", "check_complaint_status",
         "talk_to_official", "formal_guidance", "rate_service", "nlu_fallback")


@dataclass
class Usage:
    since: datetime
    until: datetime
    per_day: Counter = field(default_factory=Counter)  # (Vietnam date, channel) -> citizen messages
    incoming: int = 0  # citizen messages (typed or a button pressed)
    typed: int = 0  # typed by the citizen (a button press is always understood)
    conversations: int = 0  # with a citizen message in the period
    fallback: int = 0  # under the classifier's threshold (the NLU inbox's "fallback" rows)
    dead_ends: Counter = field(default_factory=Counter)  # abandoned, rephrased (not fallbacks too)
    handed: int = 0  # conversations handed to officials (a Handoff started in the period)
    procedures: Counter = field(default_factory=Counter)  # procedure id -> conversations answered about it
    procedure_answers: Counter = field(default_factory=Counter)  # procedure id -> answers given
    needs: Counter = field(default_factory=Counter)  # NEEDS -> count
    intents: Counter = field(default_factory=Counter)  # the model's intent -> citizen messages (stored since 0019)

    @property
    def not_answered(self) -> int:
        return self.fallback + sum(self.dead_ends.values())

    def days(self) -> list[date]:
        """Every day of the period, Vietnam time, oldest first."""
        first, last = self.since.astimezone(VIETNAM).date(), self.until.astimezone(VIETNAM).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def answered_procedure(buttons: Optional[Sequence[Any]]) -> Optional[str]:
    """The procedure a reply is about: a procedure's card or aspect answer offers its other aspects
    as buttons (`/ask_procedure{"procedure": id, "aspect": …}`), several naming the same procedure;
    a question listing choices names each procedure once."""
    named: Counter = Counter()
    for button in buttons or []:
        text = str(button.get("payload", "")) if isinstance(button, dict) else ""
        if text.startswith("/ask_procedure{"):
            try:
                entities = json.loads(text[len("/ask_procedure"):])
            except ValueError:
                continue
            if isinstance(entities, dict) and entities.get("procedure") and entities.get("aspect"):
                named[str(entities["procedure"])] += 1
    best = named.most_common(1)
    return best[0][0] if best and best[0][1] >= 2 else None


async def _count(session: AsyncSession, query) -> int:
    return int(await session.scalar(query) or 0)


async def usage(session: AsyncSession, since: datetime, until: Optional[datetime] = None,
                first_questions: Iterable[str] = (), cancelled: Iterable[str] = ()) -> Usage:
    """The figures of the period [since, until). `first_questions` and `cancelled` come from the
    domain (motcua.nlu_inbox.form_prompts), as for the NLU inbox's dead ends."""
    since, until = as_utc(since), as_utc(until or datetime.now(timezone.utc))
    u = Usage(since=since, until=until)
    fallbacks = set()
    rows = await session.execute(select(NluInboxItem.sender_id, NluInboxItem.folded).where(
        NluInboxItem.source == "fallback", NluInboxItem.created_at >= since, NluInboxItem.created_at < until))
    for sender_id, folded in rows.all():
        u.fallback += 1
        fallbacks.add((sender_id, folded))

    # One pass over the period's messages, a conversation at a time.
    stream = await session.stream(
        select(Message.conversation_id, Message.direction, Message.text, Message.buttons, Message.created_at,
               Message.intent, Conversation.channel, Conversation.chat_id).join(Conversation)
        .where(Message.created_at >= since, Message.created_at < until)
        .order_by(Message.conversation_id, Message.id))
    firsts, stops = tuple(first_questions), tuple(cancelled)
    current: list[Any] = []  # rows with a message's columns
    sender = ""

    def close() -> None:
        if not current:
            return
        if any(m.direction == "in" for m in current):
            u.conversations += 1
        answered = set()
        for m in current:
            if m.direction == "in":
                u.incoming += 1
                u.typed += not (m.text or "").startswith("/")
                u.per_day[(as_utc(m.created_at).astimezone(VIETNAM).date(), channel)] += 1
                if m.intent:
                    u.intents[m.intent] += 1
            elif (procedure := answered_procedure(m.buttons)) is not None:
                u.procedure_answers[procedure] += 1
                answered.add(procedure)
        u.procedures.update(answered)
        for source, m in dead_ends(current, firsts, stops, until):
            if (sender, prepare(m.text)[1]) not in fallbacks:  # a fallback rephrased counts once
                u.dead_ends[source] += 1

    channel = ""
    async for row in stream:
        if current and row.conversation_id != current[0].conversation_id:
            close()
            current = []
        if not current:
            channel, sender = row.channel, f"{row.channel}:{row.chat_id}"
        current.append(row)
    close()

    u.handed = await _count(session, select(func.count(func.distinct(Handoff.sender_id))).where(
        Handoff.created_at >= since, Handoff.created_at < until))

    def within(column):
        return (column >= since) & (column < until)

    tickets = DossierLookup.code.like(f"{TICKET_PREFIX}%")
    u.needs.update({
        "ask_procedure": sum(u.procedure_answers.values()),
        "check_dossier_status": await _count(session, select(func.count(DossierLookup.id)).where(
            within(DossierLookup.created_at), ~tickets)),
        "check_complaint_status": await _count(session, select(func.count(DossierLookup.id)).where(
            within(DossierLookup.created_at), tickets)),
        "submit_complaint": await _count(session, select(func.count(Complaint.id)).where(within(Complaint.created_at))),
        "talk_to_official": await _count(session, select(func.count(Handoff.id)).where(within(Handoff.created_at))),
        "formal_guidance": await _count(session, select(func.count(FormalGuidance.id)).where(
            within(FormalGuidance.created_at))),
        "rate_service": await _count(session, select(func.count(Rating.id)).where(within(Rating.created_at))),
        "nlu_fallback": u.fallback,
    })
    return u
