"""Alembic environment of the embedded case database (CASE_DATABASE_URL)."""
from motcua.settings import Settings
from motcua.store.alembic_env import run
from motcua.store.cases import CaseBase

# Its own version table, so the bot store and the case database may share one PostgreSQL database.
run(CaseBase.metadata, lambda: Settings.from_env().case_database_url, version_table="alembic_version_cases")
