"""Queries on conversations and their messages."""
from __future__ import annotations

from datetime import datetime
from typing import Optional, Sequence

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.store.models import Conversation, Message, utcnow
from motcua.store.sql import insert_ignore, insert_ignore_id


async def conversation_for(session: AsyncSession, channel: str, chat_id: str) -> Conversation:
    """The conversation of a chat, created on first contact; safe under concurrent first messages."""
    return await session.get(Conversation, await conversation_id(session, channel, chat_id))


async def conversation_id(session: AsyncSession, channel: str, chat_id: str) -> int:
    """The id of a chat's conversation, created on first contact (what record_message needs: no ORM
    object, one indexed SELECT on the hot path)."""
    where = (Conversation.channel == channel, Conversation.chat_id == chat_id)
    found = await session.scalar(select(Conversation.id).where(*where))
    if found is None:
        now = utcnow()
        await session.execute(insert_ignore(session, Conversation.__table__).values(
            channel=channel, chat_id=chat_id, created_at=now, last_message_at=now))
        found = await session.scalar(select(Conversation.id).where(*where))
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
) -> Optional[int]:
    """Store a message; its id. With an inbox id, a second call for the same update stores nothing
    and gives None (messages.inbox_id is unique). `claimed_by` names the gateway about to push it.
    Core statements: every turn stores two or more messages, and the ORM's unit of work was most
    of the gateway's store CPU (bench/load.py)."""
    conv_id = await conversation_id(session, channel, chat_id)
    now = utcnow()
    values = dict(conversation_id=conv_id, direction=direction, text=text, buttons=list(buttons) if buttons else None,
                  push=push, inbox_id=inbox_id, delivery=delivery, created_at=now, claimed_by=claimed_by)
    if inbox_id is None:
        message_id = (await session.execute(insert(Message.__table__).values(**values))).inserted_primary_key[0]
    else:
        message_id = await insert_ignore_id(session, Message.__table__, values)
        if message_id is None:
            return None
    await session.execute(update(Conversation.__table__).where(Conversation.__table__.c.id == conv_id)
                          .values(last_message_at=now))
    return message_id


async def record_replies(session: AsyncSession, channel: str, chat_id: str,
                         replies: Sequence[tuple[str, Optional[Sequence[dict]]]]) -> list[int]:
    """A turn's replies (text, buttons), in order; their ids. One conversation lookup and one touch
    of the conversation for all of them: the transaction holds SQLite's write lock for less time."""
    if not replies:
        return []
    conv_id = await conversation_id(session, channel, chat_id)
    now = utcnow()
    ids = []
    for text, buttons in replies:
        values = dict(conversation_id=conv_id, direction="out", text=text, buttons=list(buttons) if buttons else None,
                      push=False, created_at=now)
        ids.append((await session.execute(insert(Message.__table__).values(**values))).inserted_primary_key[0])
    await session.execute(update(Conversation.__table__).where(Conversation.__table__.c.id == conv_id)
                          .values(last_message_at=now))
    return ids


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
