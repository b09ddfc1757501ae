"""The NLU inbox: citizen messages the bot may have misunderstood, for admins to annotate.

Ways in:
- `record` from the action server's fallback action (actions/fallback.py): the intent confidence
  was under the FallbackClassifier's threshold (source "fallback");
- `harvest` from what other parts store: a procedure answer rated "Không hài lòng" (a `Rating`
  with subject "procedure", source "unhelpful": the question before that answer) and a handoff
  to officials (a `Handoff`, source "handoff": the citizen's message before asking for a person);
  and, read from the conversations, the dead ends a confident model leaves no trace of otherwise:
  a form abandoned at its first question (source "abandoned": the message that started it) and a
  message the citizen rephrased within a minute of the answer (source "rephrased");
- `record` from the out-of-scope and fallback actions, when the catalogue's search found a
  procedure in what the model took for out of scope or did not understand (source "searched":
  answered as that procedure).
  Harvesting is idempotent (unique source + id) and runs when the admin opens the inbox.

Texts are stored with phone and CCCD numbers masked (motcua.logs), and folded (nlu.text.fold)
for grouping.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Iterable, Optional, Sequence

from rapidfuzz import fuzz
from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.logs import mask_personal_data
from motcua.store.models import Conversation, Handoff, Message, NluInboxItem, Rating
from motcua.store.sql import insert_ignore
from nlu.text import clean, fold

SOURCE_LABELS = {
    "fallback": "Độ tin cậy thấp",
    "unhelpful": "Bị đánh giá không hữu ích",
    "handoff": "Dẫn đến chuyển cán bộ",
    "abandoned": "Bỏ dở ngay câu hỏi đầu",
    "rephrased": "Công dân hỏi lại",
    "searched": "Mô hình không nhận ra, danh mục tìm thấy thủ tục",
}
MAX_TEXT = 2000
MAX_FOLDED = 500
# A handoff's "message before" must be this recent; older ones belong to another exchange.
HANDOFF_LOOKBACK = timedelta(minutes=30)
# A citizen who writes again this soon after an answer, in nearly the same words, was not understood.
REPHRASE_WITHIN = timedelta(minutes=1)
REPHRASE_SIMILARITY = 60
# A form's first question left unanswered this long was abandoned.
ABANDONED_AFTER = timedelta(minutes=30)
# How far back the conversations are read for dead ends at each harvest.
DEAD_END_LOOKBACK = timedelta(days=14)


def _now(now: Optional[datetime]) -> datetime:
    return now or datetime.now(timezone.utc)


def prepare(text: str) -> tuple[str, str]:
    """(masked text, folded text) for storing; ("", "") for nothing worth keeping."""
    text = clean(text or "").strip()
    if not text or text.startswith("/"):  # a button payload is not a citizen's wording
        return "", ""
    masked = mask_personal_data(text)[:MAX_TEXT]
    return masked, fold(masked)[:MAX_FOLDED]


def top_ranking(ranking: Optional[Sequence[dict]], n: int = 3) -> list[list]:
    """[[intent, confidence], …] best first, without Rasa's nlu_fallback pseudo-intent."""
    rows = [r for r in ranking or [] if isinstance(r, dict) and r.get("name") and r.get("name") != "nlu_fallback"]
    rows.sort(key=lambda r: -float(r.get("confidence") or 0))
    return [[str(r["name"]), round(float(r.get("confidence") or 0), 4)] for r in rows[:n]]


async def _dismissed(session: AsyncSession, folded: str) -> bool:
    """An admin said "bỏ qua" to this text before: later identical messages stay hidden."""
    return bool(await session.scalar(select(NluInboxItem.id).where(
        NluInboxItem.folded == folded, NluInboxItem.status == "dismissed").limit(1)))


async def record(session: AsyncSession, *, sender_id: str, text: str, source: str = "fallback",
                 intent: Optional[str] = None, confidence: Optional[float] = None,
                 ranking: Optional[list] = None, procedure: Optional[str] = None,
                 now: Optional[datetime] = None) -> Optional[NluInboxItem]:
    """Adds a message to the inbox (the caller commits); None when there is nothing to keep."""
    masked, folded = prepare(text)
    if not folded:
        return None
    item = NluInboxItem(sender_id=sender_id[:200], text=masked, folded=folded, source=source, intent=intent,
                        confidence=confidence, ranking=ranking, procedure=procedure, created_at=_now(now),
                        status="dismissed" if await _dismissed(session, folded) else "new")
    session.add(item)
    await session.flush()
    return item


async def _chat_messages(session: AsyncSession, sender_id: str, until: datetime, limit: int = 40) -> list[Message]:
    """The chat's messages up to `until`, newest first."""
    channel, _, chat_id = sender_id.partition(":")
    if not chat_id:
        return []
    rows = await session.scalars(
        select(Message).join(Conversation)
        .where(Conversation.channel == channel, Conversation.chat_id == chat_id, Message.created_at <= until)
        .order_by(Message.id.desc()).limit(limit))
    return list(rows.all())


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


async def _question_before_rating(session: AsyncSession, rating: Rating) -> Optional[str]:
    """The citizen's question that the rated procedure answer replied to."""
    marker = f'"rating_ref":"{rating.subject_ref}"'
    messages = await _chat_messages(session, rating.sender_id, _utc(rating.created_at) + timedelta(seconds=5))
    for i, m in enumerate(messages):
        if m.direction == "out" and any(marker in str(b.get("payload", "")) for b in m.buttons or []):
            asked = next((q for q in messages[i + 1:] if q.direction == "in"), None)
            return asked.text if asked is not None else None
    return None


async def _message_before_handoff(session: AsyncSession, handoff: Handoff) -> Optional[str]:
    """The citizen's message before the one that asked for a person."""
    when = _utc(handoff.created_at)
    incoming = [m for m in await _chat_messages(session, handoff.sender_id, when + timedelta(seconds=5))
                if m.direction == "in"]
    if len(incoming) < 2 or _utc(incoming[1].created_at) < when - HANDOFF_LOOKBACK:
        return None
    return incoming[1].text


async def _add_harvested(session: AsyncSession, source: str, source_id: int, sender_id: str, text: Optional[str],
                         created_at: datetime, intent: Optional[str] = None, procedure: Optional[str] = None) -> None:
    masked, folded = prepare(text or "")
    status = "new"
    if not folded:
        status = "skipped"  # the citizen used buttons, or there was no earlier message
    elif await session.scalar(select(NluInboxItem.id).where(
            NluInboxItem.sender_id == sender_id, NluInboxItem.folded == folded,
            NluInboxItem.created_at >= created_at - HANDOFF_LOOKBACK).limit(1)):
        status = "skipped"  # already in the inbox (say, as a fallback): counted once
    elif await _dismissed(session, folded):
        status = "dismissed"
    await session.execute(insert_ignore(session, NluInboxItem.__table__).values(
        sender_id=sender_id[:200], text=masked, folded=folded, source=source, source_id=source_id, intent=intent,
        procedure=procedure, status=status, created_at=created_at))


def dead_ends(messages: list[Message], first_questions: tuple[str, ...], cancelled: tuple[str, ...],
              now: datetime) -> list[tuple[str, Message]]:
    """(source, the misunderstood incoming message) in one conversation's messages, oldest first."""
    found = []
    for i, m in enumerate(messages):
        if m.direction != "in" or not prepare(m.text)[1]:
            continue
        replies = []
        for later in messages[i + 1:]:
            if later.direction == "in":
                break
            replies.append(later)
        after = messages[i + 1 + len(replies):]
        following = after[0] if after else None
        if any(r.text.startswith(first_questions) for r in replies) and first_questions:
            gone = following is None and now - _utc(replies[-1].created_at) >= ABANDONED_AFTER
            late = following is not None and _utc(following.created_at) - _utc(replies[-1].created_at) >= ABANDONED_AFTER
            stopped = following is not None and any(
                r.direction == "out" and r.text.startswith(cancelled) for r in after[1:3]) and cancelled
            if gone or late or stopped:
                found.append(("abandoned", m))
                continue
        if replies and following is not None and not following.text.startswith("/") \
                and _utc(following.created_at) - _utc(replies[-1].created_at) <= REPHRASE_WITHIN:
            a, b = prepare(m.text)[1], prepare(following.text)[1]
            if b and a != b and fuzz.token_set_ratio(a, b) >= REPHRASE_SIMILARITY:
                found.append(("rephrased", m))
    return found


async def _harvest_dead_ends(session: AsyncSession, first_questions: tuple[str, ...], cancelled: tuple[str, ...],
                             now: datetime, limit: int) -> int:
    recent = await session.scalars(
        select(Conversation).where(Conversation.id.in_(
            select(Message.conversation_id).where(Message.created_at >= now - DEAD_END_LOOKBACK).distinct()))
        .order_by(Conversation.id.desc()).limit(limit))
    seen = 0
    for conversation in recent.all():
        rows = await session.scalars(select(Message).where(
            Message.conversation_id == conversation.id, Message.created_at >= now - DEAD_END_LOOKBACK)
            .order_by(Message.id))
        for source, message in dead_ends(list(rows.all()), first_questions, cancelled, now):
            if await session.scalar(select(NluInboxItem.id).where(
                    NluInboxItem.source == source, NluInboxItem.source_id == message.id)):
                continue
            await _add_harvested(session, source, message.id, f"{conversation.channel}:{conversation.chat_id}",
                                 message.text, _utc(message.created_at))
            seen += 1
    return seen


async def harvest(session: AsyncSession, limit: int = 500, first_questions: Sequence[str] = (),
                  cancelled: Sequence[str] = (), now: Optional[datetime] = None) -> int:
    """Adds unhelpful procedure answers, handoffs and dead ends not seen yet; returns how many were
    looked at. `first_questions`: the first question of each form; `cancelled`: what the bot says
    when a form is stopped (both from the domain, motcua.nlu_inbox.form_prompts)."""
    seen = await _harvest_dead_ends(session, tuple(first_questions), tuple(cancelled), _now(now), limit)
    ratings = await session.scalars(
        select(Rating).where(Rating.subject == "procedure", Rating.level == "unsatisfied",
                             ~exists().where(NluInboxItem.source == "unhelpful", NluInboxItem.source_id == Rating.id))
        .order_by(Rating.id).limit(limit))
    for rating in ratings.all():
        text = await _question_before_rating(session, rating)
        await _add_harvested(session, "unhelpful", rating.id, rating.sender_id, text, _utc(rating.created_at),
                             intent="ask_procedure", procedure=rating.subject_ref or None)
        seen += 1
    handoffs = await session.scalars(
        select(Handoff).where(~exists().where(NluInboxItem.source == "handoff", NluInboxItem.source_id == Handoff.id))
        .order_by(Handoff.id).limit(limit))
    for handoff in handoffs.all():
        text = await _message_before_handoff(session, handoff)
        await _add_harvested(session, "handoff", handoff.id, handoff.sender_id, text, _utc(handoff.created_at))
        seen += 1
    return seen


async def open_items(session: AsyncSession, limit: int = 3000) -> list[NluInboxItem]:
    """Items waiting for an admin, newest first."""
    rows = await session.scalars(select(NluInboxItem).where(NluInboxItem.status == "new")
                                 .order_by(NluInboxItem.id.desc()).limit(limit))
    return list(rows.all())


async def resolve(session: AsyncSession, ids: Iterable[int], status: str, actor: str,
                  intent: Optional[str] = None, now: Optional[datetime] = None) -> int:
    """Marks items annotated (with the intent chosen) or dismissed; returns how many changed."""
    if status not in ("annotated", "dismissed"):
        raise ValueError(status)
    result = await session.execute(
        update(NluInboxItem).where(NluInboxItem.id.in_(list(ids)), NluInboxItem.status == "new")
        .values(status=status, resolved_intent=intent, resolved_by=actor[:200], resolved_at=_now(now))
        .execution_options(synchronize_session=False))
    return result.rowcount


async def counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(NluInboxItem.status, func.count()).group_by(NluInboxItem.status))
    return {status: n for status, n in rows.all()}


async def context_of(session: AsyncSession, item: NluInboxItem, before: int = 4) -> list[Message]:
    """The chat's messages up to the item and the bot's reply to it, oldest first (for the page;
    the caller masks them)."""
    messages = await _chat_messages(session, item.sender_id, _utc(item.created_at) + timedelta(seconds=10), limit=12)
    for i, m in enumerate(messages):  # newest first: stop at the item's own message
        if m.direction == "in" and prepare(m.text)[1] == item.folded:
            return list(reversed(messages[max(0, i - 2):i + 1 + before]))
    return list(reversed(messages[:before + 1]))
