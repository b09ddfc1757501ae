"""The action server's shared handles: the first messages after a start arrive together, and the
store is migrated once, not once per message at the same time (which Alembic does not survive)."""
import asyncio

from actions import resources
from motcua.settings import Settings
from motcua.store import Database


async def test_messages_arriving_together_migrate_the_store_once(tmp_path, monkeypatch):
    monkeypatch.setattr(resources, "_settings", Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/bot.db"))
    monkeypatch.setattr(resources, "_store", None)
    monkeypatch.setattr(resources, "_store_ready", False)
    migrations = []
    original = Database.migrate

    async def counted(self):
        migrations.append(self)
        await original(self)

    monkeypatch.setattr(Database, "migrate", counted)
    stores = await asyncio.gather(*(resources.store() for _ in range(50)))
    assert len(migrations) == 1 and all(s is stores[0] for s in stores)
    await stores[0].dispose()
