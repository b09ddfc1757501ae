"""Who is on the other end of a request: the client's address, for limits kept per address."""
from __future__ import annotations

import hashlib

from aiohttp import web

from bot.state import SETTINGS


def client_address(request: web.Request) -> str:
    """The last address our own proxy added to X-Forwarded-For, else the peer (a header sent by
    anyone else is not believed)."""
    peer = request.remote or ""
    if peer in request.app[SETTINGS].trusted_proxies:
        forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",") if a.strip()]
        if forwarded:
            return forwarded[-1]
    return peer


def client_key(request: web.Request) -> str:
    """The client's address as the action server sees it (per-address lookup lock): hashed, so that
    trackers and the lookup audit do not hold addresses in clear (a hash of an address is no secret,
    but it is not written down as one)."""
    return hashlib.sha256(client_address(request).encode()).hexdigest()[:24]


def is_https(request: web.Request) -> bool:
    """HTTPS to us, or to our own proxy (its X-Forwarded-Proto; anyone else's is not believed)."""
    return request.secure or (request.remote in request.app[SETTINGS].trusted_proxies
                              and request.headers.get("X-Forwarded-Proto") == "https")
