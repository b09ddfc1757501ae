"""Dossier reminders (issue 19): a follower is told the working day before the appointment to
collect the result, once per due date, on SQLite and PostgreSQL."""
from datetime import datetime, timezone

from sqlalchemy import select

from motcua.store import Database
from motcua.store.models import DossierSubscription
from motcua.store.subscriptions import subscribe

CODE = "000.00.24.H08-261001-0001"


async def test_migration_0017_keeps_subscriptions_and_leaves_them_unreminded(db_url):
    db = Database(db_url)
    try:
        await db.migrate("0016")
        async with db.session() as s, s.begin():
            await subscribe(s, "web:a", CODE, "processing", datetime(2026, 10, 19, 10, 0, tzinfo=timezone.utc))
        await db.migrate()
        async with db.session() as s:
            sub = (await s.scalars(select(DossierSubscription))).one()
        assert (sub.code, sub.last_status, sub.active, sub.reminded_due_at) == (CODE, "processing", True, None)
    finally:
        await db.dispose()
