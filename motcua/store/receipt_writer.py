"""Receipts written the moment the platform accepts a part (sent once, issue 20).

A part the platform took and the gateway had not written down yet is sent a second time if the
gateway dies then: the time from the platform's answer to the receipt's commit is the window for a
double. Through the gateway's ordinary transactions that time was 2 ms at the median and up to
0.2 s under load (the kill test, `tests/test_sent_once.py`): on SQLite a writer that finds the
file locked sleeps in SQLite's busy handler (1, 2, 5 … 100 ms steps) whatever the holder does, and
every statement is a hop to aiosqlite's thread and back through a busy event loop. So receipts
take their own way to the store:

- SQLite: a connection of the event loop's own thread, whose UPDATE and COMMIT take ~0.1 ms and
  do not yield. It never waits inside SQLite (busy timeout 0): when another writer holds the file,
  it tries again after a turn of the event loop, then every millisecond (the holder's transaction
  moves on meanwhile), so it gets the lock about when it is free instead of after a busy-handler
  sleep.
- PostgreSQL: an autocommit connection of its own (one round trip, no BEGIN and COMMIT).

Both commit without waiting for the disk (SQLite `synchronous=NORMAL`, PostgreSQL
`synchronous_commit=off`): a killed gateway loses nothing written that way; a machine or database
crash may lose the last receipts, which costs a part sent twice, never a message lost — the
messages themselves are written by the ordinary, durable transactions. Any failure falls back to
an ordinary transaction."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from typing import Optional, Sequence, Union

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import StaticPool

from motcua.store import Database, make_engine
from motcua.store.deliveries import RECEIPT, Receipt, receipt_values, record

log = logging.getLogger(__name__)

# How long receipts keep trying SQLite's lock between event-loop turns before each waits in an
# ordinary transaction (the holder is then slow for another reason: another process, a checkpoint).
LOCKED_PATIENCE_SECONDS = 2.0
RETRY_SECONDS = 0.001


class ReceiptWriter:
    """`await writer.write(receipts)`: committed when it returns (or raises)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        url = make_url(db.url)
        self._sqlite: Optional[_SqliteReceipts] = None
        self._postgres: Optional[AsyncEngine] = None
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            self._sqlite = _SqliteReceipts(url.database)
        elif url.get_backend_name() == "postgresql" and url.get_driver_name() == "asyncpg":
            self._postgres = make_engine(db.url, isolation_level="AUTOCOMMIT", pool_size=4, max_overflow=16,
                                         pool_pre_ping=False,
                                         connect_args={"server_settings": {"synchronous_commit": "off"}})

    async def write(self, receipts: Sequence[Receipt]) -> None:
        if not receipts:
            return
        try:
            if self._sqlite is not None and await self._sqlite.write(receipts):
                return
            if self._postgres is not None:
                async with self._postgres.connect() as conn:
                    for r in receipts:  # each committed on its own (autocommit)
                        await conn.execute(RECEIPT, receipt_values(r))
                return
        except Exception as exc:  # noqa: BLE001 - any failure of the fast way: the ordinary one
            log.info("a receipt took the ordinary way (%s)", type(exc).__name__)
        async with self.db.begin() as conn:
            await record(conn, receipts)

    async def open(self) -> None:
        """Connects ahead of the first receipt (a new connection would widen its window)."""
        if self._sqlite is not None:
            self._sqlite.engine.connect().close()
        if self._postgres is not None:
            async with contextlib.AsyncExitStack() as stack:
                for _ in range(self._postgres.pool.size()):
                    await stack.enter_async_context(self._postgres.connect())

    async def close(self) -> None:
        if self._sqlite is not None:
            await self._sqlite.close()
        if self._postgres is not None:
            await self._postgres.dispose()


class _SqliteReceipts:
    """Receipts written from the event loop's thread. One that finds the file locked waits with
    the others that come meanwhile; one task tries again (after one turn of the event loop, then
    every millisecond: the holder's transaction moves on in between) and writes them all in one
    transaction when the lock is free — a group commit, and only one task trying, so the holder is
    not slowed down by the tries."""

    def __init__(self, path: str) -> None:
        self.engine = _sqlite_engine(path)
        self._waiting: list[tuple[Sequence[Receipt], asyncio.Future]] = []
        self._retrying: Optional[asyncio.Task] = None

    async def write(self, receipts: Sequence[Receipt]) -> bool:
        """True when written; False when the file stayed locked for LOCKED_PATIENCE_SECONDS."""
        if not self._waiting and self._try(receipts):
            return True
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((receipts, done))
        if self._retrying is None or self._retrying.done():
            self._retrying = asyncio.ensure_future(self._retry())
        return await done

    def _try(self, receipts: Sequence[Receipt]) -> bool:
        try:
            with self.engine.begin() as conn:  # no await inside: nothing else runs meanwhile
                for r in receipts:
                    conn.execute(RECEIPT, receipt_values(r))
            return True
        except OperationalError as exc:
            if _locked(exc):
                return False
            raise

    async def _retry(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LOCKED_PATIENCE_SECONDS
        tries = 0
        while self._waiting:
            # The holder's transaction goes on meanwhile: first after one turn of the event loop (it
            # is often committing), then every millisecond (tries cost CPU the holder needs).
            await asyncio.sleep(0 if tries == 0 else RETRY_SECONDS)
            tries += 1
            batch, self._waiting = self._waiting, []
            written: Union[bool, Exception]
            try:
                written = self._try([r for receipts, _ in batch for r in receipts])
            except Exception as exc:  # noqa: BLE001 - each writer takes the ordinary way
                written = exc
            if written is False and loop.time() < deadline:
                self._waiting = batch + self._waiting
                continue
            tries = 0
            for _, done in batch:
                if done.done():  # its writer was cancelled
                    continue
                if isinstance(written, Exception):
                    done.set_exception(written)
                else:
                    done.set_result(written)
            deadline = loop.time() + LOCKED_PATIENCE_SECONDS

    async def close(self) -> None:
        if self._retrying is not None:
            await asyncio.gather(self._retrying, return_exceptions=True)
        self.engine.dispose()


def _locked(exc: OperationalError) -> bool:
    return isinstance(exc.orig, sqlite3.OperationalError) and "locked" in str(exc.orig)


def _sqlite_engine(path: str) -> Engine:
    # One connection, used only from the event loop's thread (StaticPool); check_same_thread off
    # because the pool may close it from elsewhere at the end.
    engine = create_engine(f"sqlite:///{path}", poolclass=StaticPool, hide_parameters=True,
                           connect_args={"timeout": 0, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # noqa: ANN001
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=0")
        cur.execute("PRAGMA synchronous=NORMAL")  # per connection: the store's own writes stay FULL
        # Checkpoints (copying the WAL into the file) are left to the store's other connections:
        # one here would run in the event loop's thread.
        cur.execute("PRAGMA wal_autocheckpoint=0")
        cur.close()

    return engine
