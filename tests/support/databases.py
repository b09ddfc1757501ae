"""Test databases: fresh PostgreSQL databases on the server MOTCUA_TEST_PG_DSN names (its host,
port, user and password; default the local server, user postgres, trust auth, database test), made
and dropped per test, bench or cluster; SQLite stores copied from one migrated once."""
from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import AsyncIterator
from urllib.parse import urlsplit

import asyncpg

from motcua.store import Database

PG_ADMIN_DSN = os.environ.get("MOTCUA_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def pg_url(name: str, driver: str = "postgresql+asyncpg", admin: str = PG_ADMIN_DSN) -> str:
    """The URL of database `name` on the test server (the admin DSN's host, user and password)."""
    return urlsplit(admin)._replace(scheme=driver, path=f"/{name}").geturl()


async def create_pg_database(prefix: str = "motcua_test", admin: str = PG_ADMIN_DSN) -> str:
    """A new, empty database on the test server; its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def drop_pg_database(name: str, admin: str = PG_ADMIN_DSN) -> None:
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def pg_database(prefix: str = "motcua_test", driver: str = "postgresql+asyncpg") -> AsyncIterator[str]:
    """A fresh database's URL, dropped afterwards (connections and all)."""
    name = await create_pg_database(prefix)
    try:
        yield pg_url(name, driver)
    finally:
        await drop_pg_database(name)


def migrated_sqlite_store(path: Path) -> Path:
    """A SQLite file at `path` with the bot's store schema at its head (Database.migrate, run in a
    thread of its own: callable with or without a running event loop)."""

    async def migrate() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            await db.migrate()
        finally:
            await db.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, migrate()).result()
    return path


def copy_sqlite(template: Path, url: str) -> None:
    """The SQLite database of `url` (sqlite+aiosqlite:///PATH) made a copy of `template`."""
    source, target = sqlite3.connect(template), sqlite3.connect(url.split(":///", 1)[1])
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
