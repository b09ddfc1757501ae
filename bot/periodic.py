"""The gateway's background passes (dossier watcher, escalation, outbox, officials' feed,
handoff timeouts) share one loop: wait, run a pass, log what it did; a failing pass is logged
and the next one runs as usual."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)


async def every(app: web.Application, seconds: float, one_pass: Callable[[web.Application], Awaitable[Any]],
                what: str) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            done = await one_pass(app)
            if done:
                log.info("%s: %s", what, len(done) if isinstance(done, list) else done)
        except Exception:
            log.exception("%s pass failed", what)
