"""The store on SQLite and PostgreSQL: migrations, conversations, dossiers, demo seed."""
import asyncio
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, inspect, select

from motcua.demo import seed
from motcua.settings import Settings
from motcua.store import CASE_MIGRATIONS_DIR, Database
from motcua.store.cases import Dossier
from motcua.store.conversations import conversation_for, recent_messages, record_message
from motcua.store.models import Complaint, Conversation, Message


async def test_migrations_create_the_schema_and_are_repeatable(db_url):
    db = Database(db_url)
    try:
        await db.migrate()
        await db.migrate()  # a second start finds the schema in place
        async with db.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert {"conversations", "messages", "alembic_version"} <= tables
        assert await db.ping()
    finally:
        await db.dispose()


async def test_messages_are_stored_in_order_with_buttons(db_url):
    db = Database(db_url)
    try:
        await db.migrate()
        async with db.session() as s, s.begin():
            await record_message(s, "web", "abc", "in", "Xin chào")
            await record_message(s, "web", "abc", "out", "Chào anh/chị", [{"title": "Hỏi", "payload": "/ask_help"}])
            await record_message(s, "telegram", "abc", "in", "kênh khác")
        async with db.session() as s:
            msgs = await recent_messages(s, "web", "abc")
        assert [(m.direction, m.text) for m in msgs] == [("in", "Xin chào"), ("out", "Chào anh/chị")]
        assert msgs[1].buttons == [{"title": "Hỏi", "payload": "/ask_help"}]
    finally:
        await db.dispose()


async def test_concurrent_first_messages_make_one_conversation(db_url):
    db = Database(db_url)
    try:
        await db.migrate()

        async def first_message(i: int) -> None:
            async with db.session() as s, s.begin():
                await record_message(s, "web", "same-chat", "in", f"tin {i}")

        await asyncio.gather(*(first_message(i) for i in range(10)))
        async with db.session() as s:
            assert await s.scalar(select(func.count()).select_from(Conversation)) == 1
            assert await s.scalar(select(func.count()).select_from(Message)) == 10
            conv = await conversation_for(s, "web", "same-chat")
            assert conv.sender_id == "web:same-chat"
    finally:
        await db.dispose()


def test_overdue_is_derived_from_status_and_due_date():
    now = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
    late = Dossier(status="processing", due_at=now - timedelta(hours=1))
    assert late.is_overdue(now)
    assert not Dossier(status="processing", due_at=now + timedelta(days=1)).is_overdue(now)
    for closed in ("done", "returned", "refused", "withdrawn"):
        assert not Dossier(status=closed, due_at=now - timedelta(days=3)).is_overdue(now)


async def test_demo_seed_is_idempotent(db_url):
    settings = Settings(database_url=db_url, case_database_url=db_url)
    first = await seed(settings)
    second = await seed(settings)
    assert first == second and first["dossiers"] >= 10 and first["complaints"] >= 4
    cases = Database(db_url, migrations=CASE_MIGRATIONS_DIR)
    try:
        async with cases.session() as s:
            rows = (await s.scalars(select(Dossier))).all()
        assert len(rows) == first["dossiers"]
        statuses = {d.status for d in rows}
        assert {"processing", "done", "need_supplement", "payment_required", "returned"} <= statuses
        assert any(d.is_overdue() for d in rows)
        assert all(d.phone.startswith("0900") for d in rows)
    finally:
        await cases.dispose()
    store = Database(db_url)
    try:
        async with store.session() as s:
            complaints = (await s.scalars(select(Complaint))).all()
        assert len(complaints) == first["complaints"]
        assert len({c.ticket for c in complaints}) == len(complaints)
    finally:
        await store.dispose()
