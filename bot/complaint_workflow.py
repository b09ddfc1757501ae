"""Officials' actions on a feedback ticket, shared by the dashboard and the officials' Telegram
group: change the store and its audit log, and store what the citizen is told, in one transaction;
then tell the citizen."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Optional

from aiohttp import web

from bot import messages, notify
from bot.state import DB
from motcua.catalogue import load_catalogue
from motcua.store import complaints as store
from motcua.store.models import Complaint, Official
from motcua.store.ratings import rating_buttons

log = logging.getLogger(__name__)
ACTIONS = ("assign", "reply", "resolve", "reopen", "forward")


class Refused(Exception):
    """The action can't be done (bad input, or not this official's ticket); the text says why."""


@dataclass(frozen=True)
class Done:
    ticket: str
    status: str
    agency: str


async def act(app: web.Application, ticket: str, action: str, actor: str, *, text: str = "",
              assignee_id: Optional[int] = None, assignee_name: str = "", agency: str = "",
              may_see: Callable[[Complaint], bool] = lambda c: True, inbox_id: Optional[int] = None) -> Done:
    """Apply one action. `text` is the reply, the result note or the reopening reason; an
    assignment names a dashboard account (`assignee_id`) or, from Telegram, just a name.
    `inbox_id` names the officials' group update asking for it: processed again after a crash, it
    raises notify.Repeated instead of acting (and telling the citizen) twice."""
    if action not in ACTIONS:
        raise Refused("Thao tác không hợp lệ.")
    locality = load_catalogue().locality
    text = text.strip()[:4000]
    if action in ("reply", "resolve", "reopen") and not text:
        raise Refused("Vui lòng nhập nội dung.")
    async with app[DB].session() as session, session.begin():
        await notify.check_repeated(session, inbox_id)
        c = await store.by_ticket(session, ticket)
        if c is None or not may_see(c):
            raise LookupError(ticket)
        agency_name = locality.agency_name(c.agency)
        if action == "assign":
            if c.status == "resolved":
                raise Refused("Phản ánh này đã được xử lý xong.")
            if assignee_id is None and assignee_name:  # someone without a dashboard account (Telegram)
                await store.assign(session, c, None, assignee_name, actor)
            else:
                target = await session.get(Official, assignee_id or 0)
                if target is None or not target.active:
                    raise Refused("Cán bộ không hợp lệ.")
                await store.assign(session, c, target.id, target.full_name, actor)
            notice = messages.COMPLAINT_ASSIGNED.format(ticket=c.ticket, agency=agency_name)
        elif action == "reply":
            await store.reply(session, c, actor, text)
            notice = messages.COMPLAINT_REPLY.format(ticket=c.ticket, agency=agency_name, text=text)
        elif action == "resolve":
            if c.status == "resolved":
                raise Refused("Phản ánh này đã được xử lý xong.")
            await store.resolve(session, c, actor, text)
            notice = messages.COMPLAINT_RESOLVED.format(ticket=c.ticket, agency=agency_name, note=text)
        elif action == "reopen":
            if c.status != "resolved":
                raise Refused("Chỉ mở lại được phản ánh đã xử lý xong.")
            await store.reopen(session, c, actor, text)
            notice = messages.COMPLAINT_REOPENED.format(ticket=c.ticket, reason=text)
        else:  # forward
            if agency not in {a["id"] for a in locality.agencies} or agency == c.agency:
                raise Refused("Cơ quan không hợp lệ.")
            await store.forward(session, c, agency, locality.agency_name(agency), actor)
            notice = messages.COMPLAINT_FORWARDED.format(ticket=c.ticket, agency=locality.agency_name(agency))
        done = Done(c.ticket, c.status, c.agency)
        buttons = rating_buttons("complaint", done.ticket) if action == "resolve" else None
        staged = await notify.stage(session, app, c.sender_id, notice, buttons, inbox_id=inbox_id)
    await notify.send(app, staged)
    log.info("complaint %s: %s (status %s)", done.ticket, action, done.status)
    return done
