"""The outbox's queries: stored outgoing messages a platform would not take, marked for another
try (`delivery = "retry"`), claimed by one gateway at a time (compare-and-set: `sending`, with
the gateway's name) and marked sent (with what the platform accepted), retried or failed; and
messages a gateway was sending when it died, handed back to the outbox."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Optional, Sequence

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.store.deliveries import MESSAGES, Receipt
from motcua.store.models import Conversation, GatewayHeartbeat, Message, utcnow


@dataclass(frozen=True)
class Waiting:
    id: int
    text: str
    buttons: Optional[list]
    created_at: datetime
    channel: str
    chat_id: str
    platform_ids: tuple[str, ...]  # parts the platform took before


async def mark_for_retry(session: AsyncSession, message_ids: Sequence[int]) -> None:
    await session.execute(update(MESSAGES).where(MESSAGES.c.id.in_(list(message_ids))).values(delivery="retry"))


async def _move(session: AsyncSession, message_id: int, expect: str, gateway_id: Optional[str] = None,
                **values: Any) -> bool:
    """Compare-and-set from `expect` (and, when named, this gateway's claim); False when another
    gateway moved it first."""
    where = [MESSAGES.c.id == message_id, MESSAGES.c.delivery == expect]
    if gateway_id is not None:
        where.append(MESSAGES.c.claimed_by == gateway_id)
    result: Any = await session.execute(update(MESSAGES).where(*where).values(**values))
    return bool(result.rowcount == 1)


async def claim(session: AsyncSession, message_id: int, gateway_id: str) -> bool:
    """This gateway takes a waiting message; False when another one took it first."""
    return await _move(session, message_id, "retry", delivery="sending", claimed_by=gateway_id)


async def release(session: AsyncSession, message_id: int, gateway_id: str) -> bool:
    """Still refused: back in the outbox for the next pass."""
    return await _move(session, message_id, "sending", gateway_id, delivery="retry")


async def give_up(session: AsyncSession, message_id: int) -> bool:
    return await _move(session, message_id, "retry", delivery="failed")


async def record_sent(session: AsyncSession, receipt: Receipt, gateway_id: str) -> bool:
    """The platform took parts of a claimed message (all of them: it is sent): one UPDATE."""
    values: dict[str, Any] = {"platform_ids": " ".join(receipt.platform_ids)}
    if receipt.whole:
        values.update(delivery="sent", delivered_at=utcnow())
    return await _move(session, receipt.message_id, "sending", gateway_id, **values)


async def nothing_to_send(session: AsyncSession, message_id: int, gateway_id: str) -> bool:
    """A claimed message of a chat no channel here sends to (e.g. the web chat's, collected by its page)."""
    return await _move(session, message_id, "sending", gateway_id, delivery="sent")


async def waiting(session: AsyncSession, limit: int) -> list[Waiting]:
    """Messages waiting for another try, oldest first."""
    rows = (await session.execute(
        select(Message.id, Message.text, Message.buttons, Message.created_at, Conversation.channel,
               Conversation.chat_id, Message.platform_ids)
        .join(Conversation).where(Message.delivery == "retry").order_by(Message.id).limit(limit))).all()
    return [Waiting(row.id, row.text, row.buttons, row.created_at, row.channel, row.chat_id,
                    tuple((row.platform_ids or "").split())) for row in rows]


async def reclaim(session: AsyncSession, gateway_id: str, dead_after: Optional[timedelta] = None) -> int:
    """Messages a gateway was sending when it died, back to the outbox (`retry`): pushed messages
    it stored and had not seen accepted, and its outbox claims. With `dead_after` None, this
    gateway's own from its previous incarnation (call it at start, before anything is sent);
    otherwise those of other gateways silent for `dead_after`. Only messages in flight are read
    (a partial index); the platform may have taken one in the instant before the gateway died,
    and it is then sent twice — the one window left."""
    in_flight = and_(MESSAGES.c.claimed_by.isnot(None), MESSAGES.c.delivered_at.is_(None),
                     or_(MESSAGES.c.delivery == "sending", and_(MESSAGES.c.delivery.is_(None), MESSAGES.c.push)))
    if dead_after is None:
        whose = MESSAGES.c.claimed_by == gateway_id
    else:
        alive = select(GatewayHeartbeat.gateway_id).where(
            GatewayHeartbeat.last_seen >= datetime.now(timezone.utc) - dead_after)
        whose = and_(MESSAGES.c.claimed_by != gateway_id, MESSAGES.c.claimed_by.not_in(alive))
    result: Any = await session.execute(update(MESSAGES).where(in_flight, whose).values(delivery="retry"))
    return int(result.rowcount or 0)
