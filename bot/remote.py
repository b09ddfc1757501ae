"""Who is on the other end of a request: the client's address, for limits kept per address."""
from __future__ import annotations

import hashlib
import ipaddress
from functools import lru_cache
from typing import Union

from aiohttp import web

from bot.state import SETTINGS

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    """TRUSTED_PROXIES as networks: an address (10.0.0.5) or a range (10.244.0.0/16, for proxies
    whose addresses change, such as an ingress controller's pods)."""
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def from_trusted_proxy(request: web.Request) -> bool:
    try:
        peer = ipaddress.ip_address(request.remote or "")
    except ValueError:  # a Unix socket, or no peer at all
        return False
    return any(peer in network for network in _networks(request.app[SETTINGS].trusted_proxies))


def client_address(request: web.Request) -> str:
    """The last address our own proxy added to X-Forwarded-For, else the peer (a header sent by
    anyone else is not believed)."""
    peer = request.remote or ""
    if from_trusted_proxy(request):
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
    return request.secure or (from_trusted_proxy(request) and request.headers.get("X-Forwarded-Proto") == "https")
