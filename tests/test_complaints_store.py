"""Complaints in the store, on SQLite and PostgreSQL: tickets, routing, deadlines."""
import asyncio
import json
import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from motcua.catalogue import load_catalogue
from motcua.store import Database
from motcua.store.complaints import by_ticket, file_complaint, route
from motcua.store.models import ComplaintEvent
from motcua.workdays import VIETNAM

locality = load_catalogue().locality


async def test_fifty_concurrent_filings_get_fifty_distinct_tickets(db_url):
    db = Database(db_url)
    await db.migrate()

    async def one(i: int) -> str:
        async with db.session() as session, session.begin():
            c = await file_complaint(session, locality, sender_id=f"web:c{i}", content=f"Đường hư số {i} cần sửa gấp",
                                     category="ha_tang_giao_thong")
            return c.ticket

    try:
        tickets = await asyncio.gather(*(one(i) for i in range(50)))
    finally:
        await db.dispose()
    year = datetime.now(VIETNAM).year
    assert len(set(tickets)) == 50
    assert sorted(tickets) == [f"PA-{year}-{n:06d}" for n in range(1, 51)]


async def test_routing_deadline_and_audit(db_url):
    db = Database(db_url)
    await db.migrate()
    filed_at = datetime(2027, 2, 3, 3, 0, tzinfo=timezone.utc)  # Wednesday 10:00 in Vietnam, before Tết
    try:
        async with db.session() as session, session.begin():
            c = await file_complaint(session, locality, sender_id="web:x", content="Rác thải đổ bừa bãi ven sông",
                                     category="moi_truong", place="Bờ sông An Lão", now=filed_at)
        async with db.session() as session:
            found = await by_ticket(session, c.ticket.lower())
            events = (await session.scalars(select(ComplaintEvent))).all()
    finally:
        await db.dispose()
    r = route(locality, "moi_truong")
    assert found.agency == r.agency and found.status == "new" and found.place == "Bờ sông An Lão"
    # The demo locality gives environment complaints 10 working days; Tết 2027 (4–10 Feb) is
    # skipped, so a complaint of Wednesday 3 Feb is due on 24 Feb.
    assert r.deadline_days == 10
    deadline = found.deadline_at if found.deadline_at.tzinfo else found.deadline_at.replace(tzinfo=timezone.utc)
    assert deadline.astimezone(VIETNAM).date().isoformat() == "2027-02-24"
    assert [e.action for e in events] == ["filed"]


def test_unknown_category_goes_to_the_other_category():
    assert route(locality, "nonsense").category == "khac"


@pytest.mark.slow  # starts `motcua` as a command line
def test_complaints_list_json(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"

    async def seed():
        db = Database(url)
        await db.migrate()
        async with db.session() as session, session.begin():
            await file_complaint(session, locality, sender_id="web:y", content="Đèn đường tắt cả tháng nay rồi",
                                 category="ha_tang_giao_thong")
        await db.dispose()

    asyncio.run(seed())
    out = subprocess.run([sys.executable, "-m", "motcua.cli", "complaints", "list", "--format", "json"],
                         env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    (row,) = json.loads(out.stdout)
    assert row["ticket_id"].startswith("PA-") and row["status"] == "new"
    assert row["category"] == "ha_tang_giao_thong" and row["agency"] and row["deadline"] and row["overdue"] is False
