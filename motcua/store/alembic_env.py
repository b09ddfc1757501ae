"""What both Alembic environments (bot store and case database) do: run the migrations on the
connection `Database.migrate()` hands over, or, from the `alembic` command line, on an engine."""
import asyncio
from typing import Callable

from alembic import context
from sqlalchemy import MetaData


def run(metadata: MetaData, default_url: Callable[[], str], version_table: str = "alembic_version") -> None:
    def _run(connection) -> None:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                          version_table=version_table)
        with context.begin_transaction():
            context.run_migrations()

    async def _run_online() -> None:
        from motcua.store import make_engine

        engine = make_engine(context.config.get_main_option("sqlalchemy.url") or default_url())
        async with engine.begin() as conn:
            await conn.run_sync(_run)
        await engine.dispose()

    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_online())
