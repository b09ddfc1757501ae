"""The lookup locks in the store (issue 15, item 1), on SQLite and PostgreSQL: per chat, and per
dossier code or ticket whatever chats the tries come from."""
from datetime import datetime, timedelta, timezone

from motcua.store import Database
from motcua.store.lookups import CODE_MAX_FAILURES, LOCK, code_locked_until, locked_until, record_lookup

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc)


async def test_failures_of_one_ticket_from_many_chats_lock_the_ticket_not_the_chats(db_url):
    db = Database(db_url)
    await db.migrate()
    try:
        async with db.session() as s, s.begin():
            for i in range(CODE_MAX_FAILURES - 1):
                await record_lookup(s, f"web:bot-{i}", "PA-2026-000123", "failed", now=NOW - timedelta(minutes=30 - i))
            assert await code_locked_until(s, "PA-2026-000123", now=NOW) is None
            await record_lookup(s, "web:bot-last", "PA-2026-000123", "failed", now=NOW - timedelta(minutes=1))
            until = await code_locked_until(s, "PA-2026-000123", now=NOW)
            assert until == NOW - timedelta(minutes=1) + LOCK
            # No single chat is locked, another ticket is free, and the lock ends.
            assert await locked_until(s, "web:bot-last", now=NOW) is None
            assert await code_locked_until(s, "PA-2026-000124", now=NOW) is None
            assert await code_locked_until(s, "PA-2026-000123", now=until + timedelta(seconds=1)) is None
            # Failures spread over more than the window do not add up.
            for i in range(CODE_MAX_FAILURES):
                await record_lookup(s, f"web:slow-{i}", "PA-2026-000200", "failed", now=NOW - timedelta(minutes=7 * i))
            assert await code_locked_until(s, "PA-2026-000200", now=NOW) is None
    finally:
        await db.dispose()


async def test_the_rate_window_slides_over_the_edge_of_a_minute(db_url):
    """A burst just before and just after a minute's edge is one burst (issue 15, item 7)."""
    from motcua.store import rate_limits

    db = Database(db_url)
    await db.migrate()
    edge = 60 * 29_500_000.0  # the start of some minute
    try:
        async with db.session() as s, s.begin():
            assert [await rate_limits.allow(s, "webchat:1.2.3.4", 3, now=edge - 1 + i * 0.1) for i in range(3)] \
                == [True, True, True]
            assert await rate_limits.allow(s, "webchat:1.2.3.4", 3, now=edge + 1) is False  # not a fresh minute
            assert await rate_limits.allow(s, "webchat:1.2.3.4", 3, now=edge + 59) is True   # the burst has slid out
            assert await rate_limits.allow(s, "webchat:5.6.7.8", 3, now=edge + 1) is True
    finally:
        await db.dispose()
