"""The escalation scheduler: every few minutes, complaints near their deadline are flagged and
overdue ones escalated to the supervising agency. The officials' Telegram group hears of both
(under the ticket's post); the citizen is told of an escalation."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Optional

from aiohttp import web

from bot import messages, notify, officials
from bot.state import DB
from motcua.catalogue import load_catalogue
from motcua.escalation import Change, check_deadlines

log = logging.getLogger(__name__)


async def check_once(app: web.Application, now: Optional[datetime] = None) -> list[Change]:
    """One pass at `now` (tests pass their own clock)."""
    locality = load_catalogue().locality
    staged = []
    async with app[DB].session() as session, session.begin():
        changes = await check_deadlines(session, locality, now or datetime.now(timezone.utc))
        # The citizen's notice is stored with the escalation: sent once, even if this gateway dies.
        for change in changes:
            if change.kind == "escalated":
                staged.append(await notify.stage(session, app, change.sender_id, messages.COMPLAINT_ESCALATED.format(
                    ticket=change.ticket, agency=locality.agency_name(change.agency))))
    for pushed in staged:
        await notify.send(app, pushed)
    for change in changes:
        agency = locality.agency_name(change.agency)
        if change.kind == "escalated":
            await officials.ticket_note(
                app, change.ticket, f"{change.ticket} đã quá hạn xử lý và được chuyển lên {agency}.")
        else:
            await officials.ticket_note(app, change.ticket, f"{change.ticket} sắp đến hạn xử lý ({agency}).")
        log.info("complaint %s: %s (%s)", change.ticket, change.kind, change.agency)
    return changes
