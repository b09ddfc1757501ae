"""Reminders of appointments at the one-stop office: the evening before and shortly before the
time (locality data), pushed on the citizen's channel — the web chat's page collects them. Each
reminder is claimed in the store before it is staged, so with several gateways one sends it."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Optional

from aiohttp import web

from bot import notify
from bot.state import DB
from motcua.appointments import Schedule, when_label
from motcua.catalogue import load_catalogue
from motcua.store import appointments as store
from motcua.store.models import Appointment

log = logging.getLogger(__name__)
CANCEL_BUTTON = "Hủy lịch hẹn"


def reminder_text(a: Appointment, kind: str, schedule: Schedule) -> str:
    counter = schedule.counter(a.counter_id)
    where = f"{counter.name if counter else a.counter_id}, {schedule.office.get('name', '')}"
    lead = ("Nhắc lịch: ngày mai anh/chị có lịch hẹn" if kind == "evening"
            else "Nhắc lịch: sắp đến giờ hẹn của anh/chị")
    return (f"{lead} {a.code} lúc {when_label(a.starts_at)} tại {where} – {schedule.office.get('address', '')}.\n"
            f"Thủ tục: {a.procedure_name}. Anh/chị nhớ mang theo giấy tờ và đọc mã lịch hẹn cho cán bộ tại quầy. "
            f"Nếu không đến được, anh/chị bấm \"{CANCEL_BUTTON}\" để nhường chỗ cho người khác.")


async def remind_once(app: web.Application, now: Optional[datetime] = None) -> int:
    """One pass: every reminder due now, each sent once; returns how many were sent."""
    now = now or datetime.now(timezone.utc)
    schedule = Schedule.of(load_catalogue())
    if not schedule.enabled:
        return 0
    db = app[DB]
    async with db.session() as session:
        due = await store.due_reminders(session, schedule, now)
    sent = 0
    for a, kind in due:
        buttons = [{"title": CANCEL_BUTTON, "payload": f'/cancel_appointment{{"booking_id": "{a.code}"}}'}]
        async with db.session() as session, session.begin():
            if not await store.claim_reminder(session, a, kind, now):
                continue  # another gateway replica is reminding them
            staged = await notify.stage(session, app, a.sender_id, reminder_text(a, kind, schedule), buttons)
        if await notify.send(app, staged):
            sent += 1
    return sent
