"""The gateway's aiohttp app factory, used by `python -m bot` and by the tests."""
from __future__ import annotations

import asyncio
import logging
from typing import Optional

import aiohttp
from aiohttp import web

from bot import health, inbox, messages
from bot.state import CASES, DB, HTTP, RASA, SETTINGS
from bot.watcher import watch
from motcua.store.case_source import CaseSource, load_mapping
from bot.handlers import telegram, webchat, zalo, zalo_oa
from bot.rasa_client import RasaClient
from motcua.settings import Settings
from motcua.store import Database

log = logging.getLogger(__name__)

ROUTES = [
    web.get("/", webchat.page),
    web.post("/webchat/messages", webchat.post_message),
    web.get("/webchat/updates", webchat.get_updates),
    web.get("/healthz", health.healthz),
    web.post("/telegram/webhook", telegram.webhook),
    web.post("/zalo/webhook", zalo.webhook),
    web.post("/zalo-oa/webhook", zalo_oa.webhook),
    web.static("/static", webchat.STATIC_DIR),
]


@web.middleware
async def no_stack_traces(request: web.Request, handler):
    """Unexpected errors are logged here and answered in Vietnamese, never with a trace."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return web.json_response([{"text": messages.BUSY}], status=500)


async def _resources(app: web.Application):
    settings: Settings = app[SETTINGS]
    db = Database(settings.database_url)
    await db.migrate()
    app[DB] = db
    app[CASES] = CaseSource(settings.case_database_url, load_mapping(settings.case_database_mapping))
    # One client session for every Rasa call: connection reuse is most of a turn's speed.
    connector = aiohttp.TCPConnector(limit=200, keepalive_timeout=60)
    async with aiohttp.ClientSession(connector=connector) as http:
        app[HTTP] = http
        app[RASA] = RasaClient(settings.rasa_url, http, settings.rasa_timeout_seconds, settings.rasa_token)
        watcher = asyncio.create_task(watch(app)) if settings.dossier_watch_seconds > 0 else None
        yield
        if watcher:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
    await app[CASES].dispose()
    await db.dispose()


def create_app(settings: Optional[Settings] = None) -> web.Application:
    app = web.Application(client_max_size=256 * 1024, middlewares=[no_stack_traces])
    app[SETTINGS] = settings or Settings.from_env()
    inbox.setup(app)
    app.cleanup_ctx.append(_resources)
    app.cleanup_ctx.append(telegram.telegram_ctx)
    app.cleanup_ctx.append(zalo.zalo_ctx)
    app.cleanup_ctx.append(zalo_oa.zalo_oa_ctx)
    app.add_routes(ROUTES)
    return app
