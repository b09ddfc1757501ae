"""The durable inbox of channel updates, and the store of long button payloads."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.store.models import ButtonPayload, InboxUpdate
from motcua.store.sql import insert_ignore


async def accept(session: AsyncSession, channel: str, update_id: str, payload: dict[str, Any]) -> Optional[int]:
    """Store an update; its row id, or None when this update was delivered before."""
    result = await session.execute(insert_ignore(session, InboxUpdate.__table__).values(
        channel=channel, update_id=str(update_id), payload=payload, status="received",
        received_at=datetime.now(timezone.utc)))
    if not result.rowcount:
        return None
    return await session.scalar(select(InboxUpdate.id).where(InboxUpdate.channel == channel,
                                                             InboxUpdate.update_id == str(update_id)))


async def finish(session: AsyncSession, row_id: int, status: str = "done") -> None:
    await session.execute(update(InboxUpdate).where(InboxUpdate.id == row_id)
                          .values(status=status, processed_at=datetime.now(timezone.utc))
                          .execution_options(synchronize_session=False))


async def unfinished(session: AsyncSession, channel: str) -> list[InboxUpdate]:
    return list((await session.scalars(select(InboxUpdate).where(InboxUpdate.channel == channel,
                                                                  InboxUpdate.status == "received")
                                        .order_by(InboxUpdate.id))).all())


async def short_payload(session: AsyncSession, payload: str, limit: int = 64) -> str:
    """The payload itself when it fits, else a key ("p:<hash>") stored to find it again."""
    if len(payload.encode()) <= limit:
        return payload
    key = hashlib.sha256(payload.encode()).hexdigest()[:24]
    await session.execute(insert_ignore(session, ButtonPayload.__table__).values(key=key, payload=payload))
    return f"p:{key}"


async def full_payload(session: AsyncSession, data: str) -> Optional[str]:
    if not data.startswith("p:"):
        return data
    return await session.scalar(select(ButtonPayload.payload).where(ButtonPayload.key == data[2:]))
