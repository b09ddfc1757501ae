"""A fake of an HTTP API (Telegram's, Zalo's, Rasa's) served on a free local port for a test."""
from __future__ import annotations

import contextlib
from typing import AsyncIterator, TypeVar

from aiohttp.test_utils import TestServer

Fake = TypeVar("Fake")


@contextlib.asynccontextmanager
async def served(fake: Fake) -> AsyncIterator[Fake]:
    """`fake` (anything with an aiohttp `app`) listening on 127.0.0.1; its `base_url` is set to
    where the bot should call it."""
    server = TestServer(fake.app)  # type: ignore[attr-defined]
    await server.start_server()
    fake.base_url = str(server.make_url("")).rstrip("/")  # type: ignore[attr-defined]
    try:
        yield fake
    finally:
        await server.close()
