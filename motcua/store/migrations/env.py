"""Alembic environment: runs on a connection handed over by `Database.migrate()`,
or, from the `alembic` command line, on its own async engine."""
import asyncio

from alembic import context

from motcua.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    from motcua.settings import Settings
    from motcua.store import make_engine

    engine = make_engine(config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url)
    async with engine.begin() as conn:
        await conn.run_sync(_run)
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_online())
