"""The dossier watcher: notices status or appointment changes of followed dossiers (after an
import, or in an external case database) and tells the citizen on their channel."""
from __future__ import annotations

import logging

from aiohttp import web

from bot import notify
from bot.state import CASES, DB
from motcua.dossier_text import render_change
from motcua.store.ratings import rating_buttons
from motcua.store.subscriptions import active_subscriptions, changed, claim_change

log = logging.getLogger(__name__)
RATE_DOSSIER = "Anh/chị có hài lòng với việc giải quyết hồ sơ này không?"
UNSUBSCRIBE = [{"title": "Hủy theo dõi hồ sơ", "payload": "/unsubscribe_dossier"}]


async def check_once(app: web.Application) -> int:
    """One pass over every active subscription; returns how many notifications were sent."""
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
            if dossier is None or not changed(sub, dossier.status, dossier.due_at):
                continue
            text, buttons = render_change(dossier), UNSUBSCRIBE
            if dossier.status == "returned":
                # The result is in the citizen's hands: time to ask how it went (the yardstick).
                text += "\n" + RATE_DOSSIER
                buttons = rating_buttons("dossier", dossier.code)
            async with db.session() as session, session.begin():
                if not await claim_change(session, sub, dossier.status, dossier.due_at):
                    continue  # another gateway replica is telling them
                # Stored as a pushed message with the change claimed: the web chat collects it on
                # its next poll; if this gateway dies before sending it, the outbox sends it.
                staged = await notify.stage(session, app, sub.sender_id, text, buttons)
            if await notify.send(app, staged):
                sent += 1
