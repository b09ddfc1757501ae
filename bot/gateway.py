"""The gateway: every channel hands a citizen's text here; it is stored, sent to Rasa,
and the replies are stored and returned to the channel to deliver."""
from __future__ import annotations

import hmac
import logging
from typing import Awaitable, Callable, Optional, Sequence

from aiohttp import web

from bot import handoff, messages, officials, outbox, receipts
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.receipts import Accepted
from bot.replies import Reply
from bot.state import DB, RASA, SETTINGS
from bot.turn import Deferred, Turn
from motcua.store.conversations import conversation_id, record_intent, record_message, record_replies, stored_replies
from motcua.store.deliveries import mark_relayed, relayed
from nlu.text import clean, normalize

log = logging.getLogger(__name__)

async def converse(app: web.Application, channel: str, chat_id: str, raw_text: str,
                   metadata: Optional[dict] = None, turn: Optional[Turn] = None,
                   lead: Sequence[Reply] = (), canned: Optional[Sequence[Reply]] = None) -> list[Reply]:
    """One citizen message in, the bot's replies out (stored both ways). `metadata` goes to Rasa
    with the message (the web chat's client key, read by the lookup actions); `turn` names the
    inbox update it came in (none for the web chat); `lead` replies are stored and sent ahead of
    the answer (a channel's "received your location"); `canned` replies answer instead of Rasa's
    (what the bot does not read, e.g. a sticker: `raw_text` is then what the conversation keeps),
    stored and sent once like any answer."""
    turn = turn or Turn()
    settings = app[SETTINGS]
    text = clean(raw_text or "")
    if not text:
        return [Reply(messages.EMPTY_MESSAGE)]

    db = app[DB]
    inbox_id = turn.inbox_id
    try:
        async with db.session() as session, session.begin():
            # Checked before storing: a message longer than the limit is kept only up to it.
            stored = text if len(text) <= settings.max_message_chars else text[:settings.max_message_chars] + "…"
            conversation = await conversation_id(session, channel, chat_id)
            incoming = await record_message(session, channel, chat_id, "in", stored, inbox_id=inbox_id,
                                            conversation=conversation)
            first_try = incoming is not None
            handed_off = await handoff.check(session, f"{channel}:{chat_id}", text)
    except Exception as exc:
        log.exception("could not store an incoming %s message", channel)
        if inbox_id is not None:  # the update is safe in the inbox: answered when the store is back
            raise Deferred(notify=turn.first) from exc
        # Not stored means not acknowledged: the citizen is asked to send it again.
        return [Reply(messages.BUSY)]

    # (first_try is false only for an update of the inbox that was processed before)
    if not first_try and inbox_id is not None and (earlier := await _earlier_answer(db, inbox_id)) is not None:
        return earlier  # answered before the gateway died: what the platform had not taken is sent now
    relay = handed_off is not None and handed_off.relay_to is not None
    intent: Optional[str] = None
    if handed_off is not None:
        replies = handed_off.replies
        # Relayed once: an update processed again finds its message marked relayed (below).
        if relay and (first_try or inbox_id is None or not await _relayed(db, inbox_id)):
            await handoff.relay(app, handed_off, text)
    elif canned is not None:
        replies = list(canned)
    elif len(text) > settings.max_message_chars:
        replies = [Reply(messages.TOO_LONG.format(limit=settings.max_message_chars))]
    elif not normalize(text):  # only emoji or punctuation: nothing for the model to read
        replies = [Reply(messages.NO_WORDS)]
    else:
        try:
            replies, intent = await _ask_rasa(app[RASA], f"{channel}:{chat_id}", text, inbox_id, first_try, metadata)
        except RasaUnavailable as exc:
            log.warning("Rasa unavailable for a %s message: %s", channel, exc)
            if inbox_id is not None:
                raise Deferred(notify=first_try) from exc
            replies = [Reply(messages.BUSY)]

    replies = [*lead, *replies]
    try:
        async with db.begin() as conn:
            ids = await record_replies(conn, channel, chat_id, [(r.text, r.buttons) for r in replies],
                                       conversation=conversation)
            for reply, message_id in zip(replies, ids):
                reply.message_id = message_id
            if relay and inbox_id is not None:  # the officials saw it: not relayed again after a crash
                await mark_relayed(conn, inbox_id)
            if intent and incoming is not None:  # for the reports' top intents
                await record_intent(conn, incoming, intent)
    except Exception as exc:
        log.exception("could not store the replies of a %s message", channel)
        if inbox_id is not None and handed_off is None:
            # Answered by Rasa but not stored: tried again later, when the answer is read back
            # from Rasa's tracker (see _ask_rasa) and stored before it is sent.
            raise Deferred(notify=turn.first) from exc
    try:  # a citizen writing about their ticket: the officials' feeds show it
        await officials.citizen_wrote(app, f"{channel}:{chat_id}", text)
    except Exception:
        log.exception("could not relay a citizen's message to the officials' group")
    return replies


async def _earlier_answer(db, inbox_id: int) -> Optional[list[Reply]]:
    """The replies stored for an update processed again that the platform has not accepted yet
    (parts it took are skipped; replies in the outbox are the outbox's); None when none were
    stored (the answer is asked of Rasa's tracker, then of Rasa)."""
    try:
        async with db.session() as session:
            stored = await stored_replies(session, inbox_id)
    except Exception as exc:
        log.exception("could not read the stored replies of an update processed again")
        raise Deferred(notify=False) from exc
    if not stored:
        return None
    return [Reply(m.text, list(m.buttons or []), message_id=m.id, sent_parts=(m.platform_ids or "").split())
            for m in stored if m.delivered_at is None and m.delivery is None]


async def _relayed(db, inbox_id: int) -> bool:
    try:
        async with db.session() as session:
            return await relayed(session, inbox_id)
    except Exception as exc:
        log.exception("could not read whether a handed-off message was relayed")
        raise Deferred(notify=False) from exc


async def _ask_rasa(rasa: RasaClient, sender: str, text: str, inbox_id: Optional[int], first_try: bool,
                    metadata: Optional[dict] = None) -> tuple[list[Reply], Optional[str]]:
    """One turn in Rasa: its replies and the message's intent. The message carries its inbox id,
    so that an update processed again (its gateway was killed, or Rasa timed out after all) is not
    a second turn: if Rasa's tracker already holds it, its answer there is the answer (intent
    unknown then: the first try may have stored it)."""
    if inbox_id is not None and not first_try:
        earlier = await rasa.answered(sender, inbox_id)
        if earlier is not None:
            log.info("an update processed again had been answered by Rasa already; not sent twice")
            return earlier or [Reply(messages.NOT_UNDERSTOOD)], None
    if inbox_id is not None:
        metadata = {**(metadata or {}), "inbox_id": inbox_id}
    replies, intent = await rasa.converse(sender, text, metadata)
    return replies or [Reply(messages.NOT_UNDERSTOOD)], intent


async def answer(app: web.Application, channel: str, chat_id: str, text: str,
                 send: Callable[[Reply, Optional[Accepted]], Awaitable[None]], turn: Turn,
                 lead: Sequence[Reply] = (), canned: Optional[Sequence[Reply]] = None) -> None:
    """converse() for channels with an inbox: replies are sent with `send`, and what the platform
    accepts is recorded at once (bot/receipts.py), so that the update processed again after a
    crash sends only the rest. When Rasa is down the citizen is asked once to wait, and Deferred
    tells the inbox to try the update again. A reply the platform would not take (after the
    channel's own retries) goes to the outbox, with the ones after it so their order holds."""
    try:
        replies = await converse(app, channel, chat_id, text, turn=turn, lead=lead, canned=canned)
    except Deferred as wait:
        if wait.notify:
            await send(wait.reply, None)
        raise
    accepted = receipts.recorder(app)
    for i, reply in enumerate(replies):
        try:
            await send(reply, accepted)
        except Exception as exc:
            log.warning("a %s reply could not be sent (%s); it goes to the outbox", channel, exc)
            await outbox.defer(app, [r.message_id for r in replies[i:] if r.message_id])
            return


def require_secret(request: web.Request, header: str, expected: Optional[str]) -> None:
    """403 unless the webhook header carries the configured secret (constant-time comparison);
    with no secret configured, every delivery is refused."""
    given = request.headers.get(header, "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise web.HTTPForbidden()
