"""The dossier watcher: notices status or appointment changes of followed dossiers (after an
import, or in an external case database) and tells the citizen on their channel; on the working day
before a dossier's appointment to collect the result (ngày hẹn trả), it reminds them of it."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Optional

from aiohttp import web

from bot import notify
from bot.state import CASES, DB
from motcua.dossier_text import render_change, render_reminder
from motcua.store.case_source import DossierView
from motcua.store.models import DossierSubscription
from motcua.store.ratings import rating_buttons
from motcua.store.subscriptions import (
    active_subscriptions,
    changed,
    claim_change,
    claim_reminder,
    reminder_due,
    reminding_hours,
)
from motcua.workdays import VIETNAM

log = logging.getLogger(__name__)
RATE_DOSSIER = "Anh/chị có hài lòng với việc giải quyết hồ sơ này không?"
UNSUBSCRIBE = [{"title": "Hủy theo dõi hồ sơ", "payload": "/unsubscribe_dossier"}]


async def check_once(app: web.Application, now: Optional[datetime] = None) -> int:
    """One pass over every active subscription at `now` (tests pass their own clock): changes are
    told, appointments reminded; returns how many messages were sent."""
    now = now or datetime.now(timezone.utc)
    reminding = reminding_hours(now)
    db, source = app[DB], app[CASES]
    sent, after = 0, 0
    while True:
        async with db.session() as session:
            batch = await active_subscriptions(session, after_id=after)
        if not batch:
            return sent
        after = batch[-1].id
        current = await source.many(sorted({s.code for s in batch}))
        for sub in batch:
            dossier = current.get(sub.code)
            if dossier is None:
                continue
            if changed(sub, dossier.status, dossier.due_at):
                sent += await _tell_change(app, sub, dossier)
            due_at = dossier.due_at
            if reminding and due_at is not None and reminder_due(sub, dossier.status, due_at, now):
                sent += await _remind(app, sub, dossier, due_at, now)


async def _tell_change(app: web.Application, sub: DossierSubscription, dossier: DossierView) -> int:
    text, buttons = render_change(dossier), UNSUBSCRIBE
    if dossier.status == "returned":
        # The result is in the citizen's hands: time to ask how it went (the yardstick).
        text += "\n" + RATE_DOSSIER
        buttons = rating_buttons("dossier", dossier.code)
    async with app[DB].session() as session, session.begin():
        if not await claim_change(session, sub, dossier.status, dossier.due_at):
            return 0  # another gateway replica is telling them
        # Stored as a pushed message with the change claimed: the web chat collects it on
        # its next poll; if this gateway dies before sending it, the outbox sends it.
        staged = await notify.stage(session, app, sub.sender_id, text, buttons)
    return int(await notify.send(app, staged))


async def _remind(app: web.Application, sub: DossierSubscription, dossier: DossierView, due_at: datetime,
                  now: datetime) -> int:
    text = render_reminder(dossier, now.astimezone(VIETNAM).date())
    async with app[DB].session() as session, session.begin():
        if not await claim_reminder(session, sub, due_at):
            return 0  # another gateway replica is reminding them
        staged = await notify.stage(session, app, sub.sender_id, text, UNSUBSCRIBE)  # sent once, as above
    return int(await notify.send(app, staged))
