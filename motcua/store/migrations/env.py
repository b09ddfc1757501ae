"""Alembic environment of the bot's store (DATABASE_URL)."""
from motcua.settings import Settings
from motcua.store.alembic_env import run
from motcua.store.models import Base

run(Base.metadata, lambda: Settings.from_env().database_url)
