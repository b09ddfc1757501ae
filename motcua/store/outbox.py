"""The outbox's queries: stored outgoing messages a platform would not take, marked for another
try (`delivery = "retry"`), claimed by one gateway at a time (compare-and-set) and marked sent,
retried or failed."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional, Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.store.models import Conversation, Message


async def mark_for_retry(session: AsyncSession, message_ids: Sequence[int]) -> None:
    await session.execute(update(Message).where(Message.id.in_(list(message_ids)))
                          .values(delivery="retry").execution_options(synchronize_session=False))


async def set_delivery(session: AsyncSession, message_id: int, delivery: str, expect: Optional[str]) -> bool:
    """Moves a message from `expect` to `delivery`; False when another gateway moved it first."""
    result: Any = await session.execute(
        update(Message).where(Message.id == message_id, Message.delivery == expect)
        .values(delivery=delivery).execution_options(synchronize_session=False))
    return bool(result.rowcount == 1)


async def waiting(session: AsyncSession, limit: int) -> list[tuple[int, str, Optional[list], datetime, str, str]]:
    """Messages waiting for another try, oldest first: (id, text, buttons, created_at, channel, chat id)."""
    rows = (await session.execute(
        select(Message.id, Message.text, Message.buttons, Message.created_at, Conversation.channel,
               Conversation.chat_id)
        .join(Conversation).where(Message.delivery == "retry").order_by(Message.id).limit(limit))).all()
    return [tuple(row) for row in rows]
