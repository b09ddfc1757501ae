"""The durable inbox of channel updates, and the store of long button payloads."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.store.models import ButtonPayload, GatewayHeartbeat, InboxUpdate
from motcua.store.sql import Executor, insert_ignore_id, insert_ignore_row, upsert

INBOX = InboxUpdate.__table__
# The hot path's statements, built once (see motcua/store/sql.py).
_FINISH = update(INBOX).where(INBOX.c.id == bindparam("row_id"))
_EARLIER = (select(INBOX.c.id).where(INBOX.c.channel == bindparam("channel"), INBOX.c.chat_key == bindparam("chat"),
                                     INBOX.c.status == "received", INBOX.c.id < bindparam("row_id")).limit(1))
_PAYLOAD = select(ButtonPayload.__table__.c.payload).where(ButtonPayload.__table__.c.key == bindparam("key"))


async def accept(session: Executor, channel: str, update_id: str, payload: dict[str, Any],
                 owner: Optional[str] = None, chat_key: Optional[str] = None) -> Optional[int]:
    """Store an update; its row id, or None when this update was delivered before."""
    return await insert_ignore_id(session, INBOX, dict(
        channel=channel, update_id=str(update_id), payload=payload, status="received",
        received_at=datetime.now(timezone.utc), owner=owner, chat_key=chat_key))


async def finish(session: Executor, row_id: int, status: str = "done") -> None:
    await session.execute(_FINISH, {"row_id": row_id, "status": status, "processed_at": datetime.now(timezone.utc)})


async def earlier_unanswered(session: Executor, channel: str, chat_key: str, row_id: int) -> bool:
    """Whether an earlier update of the same chat is still waiting for its answer."""
    return await session.scalar(_EARLIER, {"channel": channel, "chat": chat_key, "row_id": row_id}) is not None


async def beat(session: AsyncSession, gateway_id: str) -> None:
    await upsert(session, GatewayHeartbeat.__table__,
                 [{"gateway_id": gateway_id, "last_seen": datetime.now(timezone.utc)}], key=["gateway_id"])


async def claim_unfinished(session: AsyncSession, channel: str, gateway_id: str, dead_after: timedelta,
                           include_own: bool) -> list[InboxUpdate]:
    """Unfinished updates this gateway should process: its own previous incarnation's (at start,
    `include_own`), those of no owner, and those of gateways silent for `dead_after`. Each row is
    claimed by compare-and-set, so two gateways never take up the same update."""
    silent_since = datetime.now(timezone.utc) - dead_after
    alive = select(GatewayHeartbeat.gateway_id).where(GatewayHeartbeat.last_seen >= silent_since,
                                                      GatewayHeartbeat.gateway_id != gateway_id)
    candidates = list((await session.scalars(
        select(InboxUpdate).where(InboxUpdate.channel == channel, InboxUpdate.status == "received",
                                  or_(InboxUpdate.owner.is_(None), InboxUpdate.owner.not_in(alive)))
        .order_by(InboxUpdate.id))).all())
    claimed = []
    for row in candidates:
        if row.owner == gateway_id and not include_own:
            continue  # being processed by this very process
        taken = await session.execute(
            update(InboxUpdate).where(InboxUpdate.id == row.id, InboxUpdate.status == "received",
                                      InboxUpdate.owner.is_(None) if row.owner is None else InboxUpdate.owner == row.owner)
            .values(owner=gateway_id).execution_options(synchronize_session=False))
        if taken.rowcount:
            claimed.append(row)
    return claimed


async def short_payload(session: AsyncSession, payload: str, limit: int = 64) -> str:
    """The payload itself when it fits, else a key ("p:<hash>") stored to find it again."""
    if len(payload.encode()) <= limit:
        return payload
    key = hashlib.sha256(payload.encode()).hexdigest()[:24]
    await insert_ignore_row(session, ButtonPayload.__table__, {"key": key, "payload": payload})
    return f"p:{key}"


async def full_payload(session: AsyncSession, data: str) -> Optional[str]:
    if not data.startswith("p:"):
        return data
    return await session.scalar(_PAYLOAD, {"key": data[2:]})
