"""The lookup locks in the store (issue 15, item 1), on SQLite and PostgreSQL: per chat, and per
dossier code or ticket whatever chats the tries come from, and per web chat client address."""
from datetime import datetime, timedelta, timezone

from motcua.store import Database
from motcua.store.lookups import (
    CLIENT_MAX_FAILURES,
    CODE_MAX_FAILURES,
    LOCK,
    client_locked_until,
    code_locked_until,
    locked_until,
    record_lookup,
)

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


async def test_failures_from_one_client_across_chats_and_codes_lock_that_client(db_url):
    db = Database(db_url)
    await db.migrate()
    client, other = "a" * 24, "b" * 24
    try:
        async with db.session() as s, s.begin():
            for i in range(CLIENT_MAX_FAILURES - 1):  # a new chat and a new code every try
                await record_lookup(s, f"web:c-{i}", f"X-261201-{i:04d}", "failed", client_key=client,
                                    now=NOW - timedelta(minutes=50 - i))
            assert await client_locked_until(s, client, now=NOW) is None
            await record_lookup(s, "web:c-last", "X-261201-9999", "failed", client_key=client,
                                now=NOW - timedelta(minutes=2))
            until = await client_locked_until(s, client, now=NOW)
            assert until == NOW - timedelta(minutes=2) + LOCK
            # Neither a chat nor a code is locked; another client and a channel without one are free.
            assert await locked_until(s, "web:c-last", now=NOW) is None
            assert await code_locked_until(s, "X-261201-9999", now=NOW) is None
            assert await client_locked_until(s, other, now=NOW) is None
            assert await client_locked_until(s, None, now=NOW) is None
            # Verified lookups do not count.
            for i in range(CLIENT_MAX_FAILURES):
                await record_lookup(s, f"web:v-{i}", "X", "verified", client_key=other, now=NOW)
            assert await client_locked_until(s, other, now=NOW) is None
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
