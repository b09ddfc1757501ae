"""Posts in an officials' feed: which tickets and handoffs are not posted yet, and the post each
row carries (`officials_post_id`), claimed by compare-and-set so that with several gateways each
is posted once (POSTING while a gateway posts it)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional, Union

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.store.complaints import OPEN_STATUSES
from motcua.store.handoffs import OPEN as OPEN_HANDOFFS
from motcua.store.models import Complaint, Handoff, Official

POSTING = -1


async def unposted_complaints(session: AsyncSession, since: datetime, limit: int = 50) -> list[Complaint]:
    """Open tickets filed since `since` that are not in the feed yet, oldest first."""
    return list((await session.scalars(
        select(Complaint).where(Complaint.officials_post_id.is_(None), Complaint.created_at >= since,
                                Complaint.status.in_(OPEN_STATUSES)).order_by(Complaint.id).limit(limit))).all())


async def unposted_handoffs(session: AsyncSession) -> list[Handoff]:
    return list((await session.scalars(select(Handoff).where(Handoff.status.in_(OPEN_HANDOFFS),
                                                             Handoff.officials_post_id.is_(None)))).all())


async def set_post(session: AsyncSession, model: Union[type[Complaint], type[Handoff]], row_id: int,
                   value: Optional[int], expect: Optional[int]) -> bool:
    """The row's post moves from `expect` to `value`; False when another gateway moved it first."""
    column = model.officials_post_id
    result: Any = await session.execute(
        update(model).where(model.id == row_id, column.is_(None) if expect is None else column == expect)
        .values(officials_post_id=value))
    return bool(result.rowcount == 1)


async def official_of_telegram_user(session: AsyncSession, telegram_user_id: int) -> Optional[Official]:
    """The active official whose account is linked to this Telegram user."""
    return await session.scalar(select(Official).where(Official.telegram_user_id == str(telegram_user_id),
                                                       Official.active))
