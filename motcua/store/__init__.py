"""The bot's store: one async engine per database URL, sessions, migrations.

`bot/` and `actions/` both import from here, so models and queries exist once.
"""
from __future__ import annotations

import asyncio
import weakref
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import AsyncAdaptedQueuePool

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The embedded case (dossier) database has its own schema history: in production it is
# the one-stop system's database, which the bot only reads.
CASE_MIGRATIONS_DIR = Path(__file__).resolve().parent / "case_migrations"
# Any fixed number: every replica takes this PostgreSQL lock before migrating, so two
# gateways starting together do not both create the same tables.
_MIGRATION_LOCK_ID = 725_1_2025


def make_engine(url: str, **kwargs) -> AsyncEngine:
    """An async engine; SQLite files get their folder created, WAL and a busy timeout."""
    parsed = make_url(url)
    # A failed statement's message must not carry the phone number it was bound to.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            # SQLAlchemy 1.4 gives file databases no pool: every session would open a connection (a
            # thread, the pragmas below) and close it. Kept open, a turn's store writes cost half the
            # CPU (bench/load/, README "Measurements").
            kwargs.setdefault("poolclass", AsyncAdaptedQueuePool)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def _upgrade(sync_conn, script_location: Path, revision: str = "head") -> None:
    from alembic import command
    from alembic.config import Config

    if sync_conn.dialect.name == "postgresql":
        sync_conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_ID})
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, revision)


class Database:
    """An engine and its session factory, with the checks the gateway needs."""

    def __init__(self, url: str, migrations: Path = MIGRATIONS_DIR, **engine_kwargs) -> None:
        self.url = url
        self.migrations = migrations
        self.engine = make_engine(url, **engine_kwargs)
        self.session = sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        _OPEN.add(self)

    def begin(self):
        """A plain connection in a transaction (`async with db.begin() as conn`), committed at the
        end: for Core statements on the hot path, which need no ORM session (~0.15 ms of CPU less a
        transaction on PostgreSQL, `bench/gateway_cpu.py`)."""
        return self.engine.begin()

    async def migrate(self, revision: str = "head") -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(_upgrade, self.migrations, revision)

    async def ping(self, timeout: float = 3.0) -> bool:
        try:
            async with self.engine.connect() as conn:
                await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout)
            return True
        except Exception:  # any failure means "down" for health checks
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()


# Every Database of this process, for dispose_all.
_OPEN: "weakref.WeakSet[Database]" = weakref.WeakSet()


async def dispose_all() -> None:
    """Closes every Database of this process. A SQLite connection's thread (aiosqlite) is not a
    daemon thread: a process that ends with one open waits for it for ever. The action server
    opens its databases on first use and has no other place to close them (motcua/actions_run.py)."""
    for db in list(_OPEN):
        await db.dispose()
