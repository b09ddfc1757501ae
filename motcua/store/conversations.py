"""Queries on conversations and their messages."""
from __future__ import annotations

from typing import Optional, Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.store.models import Conversation, Message, utcnow
from motcua.store.sql import insert_ignore


async def conversation_for(session: AsyncSession, channel: str, chat_id: str) -> Conversation:
    """The conversation of a chat, created on first contact; safe under concurrent first messages."""
    found = await session.scalar(
        select(Conversation).where(Conversation.channel == channel, Conversation.chat_id == chat_id)
    )
    if found is not None:
        return found
    now = utcnow()
    await session.execute(
        insert_ignore(session, Conversation.__table__).values(
            channel=channel, chat_id=chat_id, created_at=now, last_message_at=now
        )
    )
    return await session.scalar(
        select(Conversation).where(Conversation.channel == channel, Conversation.chat_id == chat_id)
    )


async def record_message(
    session: AsyncSession,
    channel: str,
    chat_id: str,
    direction: str,
    text: str,
    buttons: Optional[Sequence[dict]] = None,
    push: bool = False,
    inbox_id: Optional[int] = None,
) -> Optional[Message]:
    """Store a message; with an inbox id, a second call for the same update stores nothing."""
    conversation = await conversation_for(session, channel, chat_id)
    if inbox_id is not None and await session.scalar(select(Message.id).where(Message.inbox_id == inbox_id)):
        return None
    message = Message(
        conversation_id=conversation.id, direction=direction, text=text, buttons=list(buttons) if buttons else None,
        push=push, inbox_id=inbox_id,
    )
    session.add(message)
    await session.execute(
        update(Conversation).where(Conversation.id == conversation.id).values(last_message_at=utcnow())
    )
    await session.flush()
    return message


async def recent_messages(session: AsyncSession, channel: str, chat_id: str, limit: int = 50) -> list[Message]:
    rows = await session.scalars(
        select(Message)
        .join(Conversation)
        .where(Conversation.channel == channel, Conversation.chat_id == chat_id)
        .order_by(Message.id.desc())
        .limit(limit)
    )
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


async def last_pushed_id(session: AsyncSession, channel: str, chat_id: str) -> int:
    return await session.scalar(
        select(func.coalesce(func.max(Message.id), 0)).join(Conversation)
        .where(Conversation.channel == channel, Conversation.chat_id == chat_id, Message.push)) or 0
