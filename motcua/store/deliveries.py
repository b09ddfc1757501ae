"""What the platforms accepted (sent once): each part of a message the bot sends is recorded as
soon as the platform takes it, so that a message sent again after a crash — its update processed
again, a pushed message taken up by another gateway — skips what the citizen already received."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.store.models import Message, utcnow
from motcua.store.sql import Executor

MESSAGES = Message.__table__
# Written for nearly every reply: built once (see motcua/store/sql.py); executed with the values
# of receipt_values (the last part stamps delivered_at too). The fast way to write it is
# motcua/store/receipt_writer.py.
RECEIPT = update(MESSAGES).where(MESSAGES.c.id == bindparam("message"))


@dataclass(frozen=True)
class Receipt:
    """The platform took parts of a stored message: their ids, in order; `whole` when that was the last part."""

    message_id: int
    platform_ids: tuple[str, ...]
    whole: bool


def receipt_values(receipt: Receipt) -> dict:
    values: dict = {"message": receipt.message_id, "platform_ids": " ".join(receipt.platform_ids)}
    if receipt.whole:
        values["delivered_at"] = utcnow()
    return values


async def record(session: Executor, receipts: Sequence[Receipt]) -> None:
    """One small UPDATE per message (by primary key), in the caller's transaction: on the hot path
    it rides with what the turn writes anyway (the inbox row marked done)."""
    for receipt in receipts:
        await session.execute(RECEIPT, receipt_values(receipt))


async def mark_relayed(session: Executor, inbox_id: int) -> None:
    """The citizen's message of this update was relayed to the officials (a handoff)."""
    await session.execute(update(MESSAGES).where(MESSAGES.c.inbox_id == inbox_id).values(delivered_at=utcnow()))


async def relayed(session: AsyncSession, inbox_id: int) -> bool:
    return await session.scalar(select(MESSAGES.c.delivered_at).where(MESSAGES.c.inbox_id == inbox_id)) is not None


async def pushed_for(session: AsyncSession, inbox_id: int) -> bool:
    """Whether this inbox update (of the officials' group) already pushed its message to a citizen."""
    return await session.scalar(select(MESSAGES.c.id).where(MESSAGES.c.inbox_id == inbox_id)) is not None
