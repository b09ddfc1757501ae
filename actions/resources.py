"""What the actions share in one action-server process: settings and database handles.

Created on first use (inside the action server's event loop) and kept for the process."""
from __future__ import annotations

import asyncio
from typing import Optional

from motcua.settings import Settings
from motcua.store import Database
from motcua.store.case_source import CaseSource, load_mapping

_settings: Optional[Settings] = None
_store: Optional[Database] = None
_store_ready = False
_cases: Optional[CaseSource] = None
_migrating = asyncio.Lock()


def settings() -> Settings:
    global _settings
    if _settings is None:
        _settings = Settings.from_env()
    return _settings


async def store() -> Database:
    """The bot's store; migrated here too, so the action server never depends on start order.
    The first messages after a start arrive together: one of them migrates, the others wait."""
    global _store, _store_ready
    if not _store_ready:
        async with _migrating:
            if _store is None:
                _store = Database(settings().database_url)
            if not _store_ready:
                await _store.migrate()
                _store_ready = True
    assert _store is not None
    return _store


def cases() -> CaseSource:
    global _cases
    if _cases is None:
        s = settings()
        _cases = CaseSource(s.case_database_url, load_mapping(s.case_database_mapping))
    return _cases
