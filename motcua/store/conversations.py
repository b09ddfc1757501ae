"""Queries on conversations and their messages."""
from __future__ import annotations

from datetime import datetime
from typing import Optional, Sequence

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.store.models import Conversation, Message, utcnow
from motcua.store.sql import Executor, insert_ignore_id, insert_ignore_row

CONVERSATIONS, MESSAGES = Conversation.__table__, Message.__table__
# The hot path's statements, built once (see motcua/store/sql.py).
_CONVERSATION_ID = select(CONVERSATIONS.c.id).where(CONVERSATIONS.c.channel == bindparam("channel"),
                                                    CONVERSATIONS.c.chat_id == bindparam("chat"))
_TOUCH = update(CONVERSATIONS).where(CONVERSATIONS.c.id == bindparam("conv"))
_INSERT_MESSAGE = insert(MESSAGES)
_SET_INTENT = update(MESSAGES).where(MESSAGES.c.id == bindparam("message")).values(intent=bindparam("intent"))


async def conversation_for(session: AsyncSession, channel: str, chat_id: str) -> Conversation:
    """The conversation of a chat, created on first contact; safe under concurrent first messages."""
    return await session.get(Conversation, await conversation_id(session, channel, chat_id))


async def conversation_id(session: Executor, channel: str, chat_id: str) -> int:
    """The id of a chat's conversation, created on first contact (what record_message needs: no ORM
    object, one indexed SELECT on the hot path)."""
    where = {"channel": channel, "chat": chat_id}
    found = await session.scalar(_CONVERSATION_ID, where)
    if found is None:
        now = utcnow()
        await insert_ignore_row(session, CONVERSATIONS, dict(channel=channel, chat_id=chat_id, created_at=now,
                                                             last_message_at=now))
        found = await session.scalar(_CONVERSATION_ID, where)
    return found


async def record_message(
    session: AsyncSession,
    channel: str,
    chat_id: str,
    direction: str,
    text: str,
    buttons: Optional[Sequence[dict]] = None,
    push: bool = False,
    inbox_id: Optional[int] = None,
    delivery: Optional[str] = None,
    claimed_by: Optional[str] = None,
    conversation: Optional[int] = None,
) -> Optional[int]:
    """Store a message (and the conversation's last activity); its id. With an inbox id, a second
    call for the same update stores nothing and gives None (messages.inbox_id is unique).
    `claimed_by` names the gateway about to push it; `conversation` is the chat's conversation id
    when the caller has it. Core statements built once: every turn stores two or more messages, and
    the ORM's unit of work, then building the statements, were most of the gateway's store CPU."""
    conv_id = conversation if conversation is not None else await conversation_id(session, channel, chat_id)
    now = utcnow()
    values = dict(conversation_id=conv_id, direction=direction, text=text, buttons=list(buttons) if buttons else None,
                  push=push, inbox_id=inbox_id, delivery=delivery, created_at=now, claimed_by=claimed_by)
    if inbox_id is None:
        message_id = (await session.execute(_INSERT_MESSAGE, values)).inserted_primary_key[0]
    else:
        message_id = await insert_ignore_id(session, MESSAGES, values)
        if message_id is None:
            return None
    await session.execute(_TOUCH, {"conv": conv_id, "last_message_at": now})
    return message_id


async def record_replies(session: Executor, channel: str, chat_id: str,
                         replies: Sequence[tuple[str, Optional[Sequence[dict]]]],
                         conversation: Optional[int] = None) -> list[int]:
    """A turn's replies (text, buttons), in order; their ids. The conversation's last activity is
    the citizen's message stored just before (record_message), not touched again: the
    transaction holds SQLite's write lock for less time. `conversation` as in record_message."""
    if not replies:
        return []
    conv_id = conversation if conversation is not None else await conversation_id(session, channel, chat_id)
    now = utcnow()
    ids = []
    for text, buttons in replies:
        values = dict(conversation_id=conv_id, direction="out", text=text, buttons=list(buttons) if buttons else None,
                      push=False, inbox_id=None, delivery=None, created_at=now, claimed_by=None)
        ids.append((await session.execute(_INSERT_MESSAGE, values)).inserted_primary_key[0])
    return ids


async def record_intent(session: Executor, message_id: int, intent: str) -> None:
    """The intent Rasa's model gave a citizen's message (written with the turn's replies)."""
    await session.execute(_SET_INTENT, {"message": message_id, "intent": intent[:64]})


async def stored_replies(session: AsyncSession, inbox_id: int) -> list[Message]:
    """The replies already stored for the incoming message of an inbox update: the bot's messages
    after it and before the chat's next incoming one (a gateway killed between storing and sending
    them processes the update again; they are sent, not stored twice)."""
    incoming = (await session.execute(select(Message.id, Message.conversation_id)
                                      .where(Message.inbox_id == inbox_id))).first()
    if incoming is None:
        return []
    next_in = await session.scalar(select(func.min(Message.id)).where(
        Message.conversation_id == incoming.conversation_id, Message.direction == "in", Message.id > incoming.id))
    query = select(Message).where(Message.conversation_id == incoming.conversation_id, Message.direction == "out",
                                  Message.push.is_(False), Message.id > incoming.id)
    if next_in is not None:
        query = query.where(Message.id < next_in)
    return list((await session.scalars(query.order_by(Message.id))).all())


async def recent_messages(session: AsyncSession, channel: str, chat_id: str, limit: int = 50,
                          since: Optional[datetime] = None) -> list[Message]:
    """The chat's last messages, oldest first; with `since`, none older than that."""
    query = select(Message).join(Conversation).where(Conversation.channel == channel, Conversation.chat_id == chat_id)
    if since is not None:
        query = query.where(Message.created_at >= since)
    rows = await session.scalars(query.order_by(Message.id.desc()).limit(limit))
    return list(reversed(rows.all()))


async def pushed_messages(session: AsyncSession, channel: str, chat_id: str, after_id: int,
                          limit: int = 20) -> list[Message]:
    """Messages the bot sent on its own to this chat since `after_id` (for channels that poll)."""
    rows = await session.scalars(
        select(Message).join(Conversation)
        .where(Conversation.channel == channel, Conversation.chat_id == chat_id, Message.push,
               Message.id > after_id)
        .order_by(Message.id).limit(limit))
    return list(rows.all())


async def last_message_in(session: AsyncSession, channel: str, chat_id: str) -> Optional[datetime]:
    """When the citizen last wrote in this chat (None if never)."""
    return await session.scalar(
        select(func.max(Message.created_at)).join(Conversation)
        .where(Conversation.channel == channel, Conversation.chat_id == chat_id, Message.direction == "in"))


async def last_pushed_id(session: AsyncSession, channel: str, chat_id: str) -> int:
    return await session.scalar(
        select(func.coalesce(func.max(Message.id), 0)).join(Conversation)
        .where(Conversation.channel == channel, Conversation.chat_id == chat_id, Message.push)) or 0
