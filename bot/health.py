"""`GET /healthz`: ready only when Rasa (with a model) and the database answer."""
import asyncio

from aiohttp import web

from bot.state import DB, RASA


async def healthz(request: web.Request) -> web.Response:
    rasa_ok, db_ok = await asyncio.gather(request.app[RASA].ready(), request.app[DB].ping())
    body = {
        "status": "ok" if rasa_ok and db_ok else "unavailable",
        "rasa": "ok" if rasa_ok else "down",
        "database": "ok" if db_ok else "down",
    }
    return web.json_response(body, status=200 if rasa_ok and db_ok else 503)
