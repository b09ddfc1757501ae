"""`GET /models/serving`: Rasa's model-server protocol, so that every Rasa replica pulls the
published model from any gateway, wherever it runs (no shared volume).

Rasa asks every `wait_time_between_pulls` seconds with `If-None-Match: <the ETag it serves>` and
`?token=` (its endpoints file, motcua/rasa_endpoints.py): the answer is 304 while the published
model is the one it has, else the file, named in the `filename` header, its name as the ETag (so
Rasa's /status reports it). The token is RASA_TOKEN, which the gateways and Rasa already share."""
from __future__ import annotations

import hmac

from aiohttp import web

from bot.state import DB, SETTINGS
from motcua.store import model_files


async def serving(request: web.Request) -> web.Response:
    token = request.app[SETTINGS].rasa_token
    if not token or not hmac.compare_digest(request.query.get("token", "").encode(), token.encode()):
        raise web.HTTPUnauthorized(text="token required")
    async with request.app[DB].session() as session:
        current = await model_files.published(session)
        if current is None:
            raise web.HTTPNotFound(text="no model published yet")
        if request.headers.get("If-None-Match", "").strip('"') == current.name:
            return web.Response(status=304, headers={"ETag": current.name})
        content = await model_files.content(session, current.name)
    assert content is not None  # published rows keep their bytes
    return web.Response(body=content, content_type="application/gzip",
                        headers={"ETag": current.name, "filename": current.name})
