"""Which Rasa servers there are, and which of them a conversation belongs to.

The servers are a fixed list (RASA_URLS, else RASA_URL) or every address a DNS name resolves to
(RASA_SERVICE; in Kubernetes a headless Service, whose name answers with one address per ready
replica), resolved again at most every `refresh_seconds`.

Each conversation is pinned to one server by rendezvous hashing (highest random weight): every
server gets a score from a hash of (server, conversation) and the highest score wins. Rasa's
open-source lock store does not keep one conversation's turns in order across servers
(RasaHQ/rasa#9213), so a conversation's turns must all reach the same one. When a server goes away,
only its own conversations move (each to its second-ranked server); when one is added, it takes
over only the conversations that now rank it first.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import time
from typing import Awaitable, Callable, Optional, Sequence, Union
from urllib.parse import urlsplit, urlunsplit

from motcua.settings import Settings

log = logging.getLogger(__name__)

# host, port → the addresses the name resolves to (tests give their own).
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve_addresses(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def rendezvous(conversation: str, servers: Sequence[str]) -> list[str]:
    """The servers in this conversation's order of preference: the first is its home."""
    def score(server: str) -> bytes:
        return hashlib.blake2b(f"{server}\0{conversation}".encode(), digest_size=8).digest()
    return sorted(servers, key=score, reverse=True)


class RasaReplicas:
    def __init__(self, urls: Sequence[str], service: Optional[str] = None, refresh_seconds: float = 10.0,
                 resolve: Resolver = resolve_addresses) -> None:
        self.fixed = [u.rstrip("/") for u in urls]
        self.service = service.rstrip("/") if service else None
        self.refresh_seconds = refresh_seconds
        self.resolve = resolve
        self._found: list[str] = []
        self._found_at = float("-inf")
        self._lock = asyncio.Lock()

    async def current(self) -> list[str]:
        """The servers now: the fixed list, or the service's addresses (the last ones found while
        DNS does not answer; the service's own URL if it never did)."""
        if not self.service:
            return self.fixed
        if time.monotonic() - self._found_at >= self.refresh_seconds:
            async with self._lock:
                if time.monotonic() - self._found_at >= self.refresh_seconds:
                    await self._refresh()
        return self._found or [self.service]

    async def _refresh(self) -> None:
        assert self.service
        parts = urlsplit(self.service)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses = await self.resolve(parts.hostname or "", port)
        except OSError as exc:
            log.warning("could not resolve the Rasa service %s: %s", parts.hostname, exc)
            addresses = []
        self._found_at = time.monotonic()
        if addresses:
            found = [urlunsplit((parts.scheme, f"[{a}]:{port}" if ":" in a else f"{a}:{port}", parts.path, "", ""))
                     for a in addresses]
            if found != self._found:
                log.info("Rasa replicas: %s", ", ".join(found))
            self._found = found

    @classmethod
    def of(cls, rasa: "Union[str, Sequence[str], RasaReplicas]") -> "RasaReplicas":
        """Replicas as given: one URL, a fixed list of URLs, or replicas already made."""
        return rasa if isinstance(rasa, RasaReplicas) else cls([rasa] if isinstance(rasa, str) else rasa)

    @classmethod
    def from_settings(cls, settings: Settings) -> "RasaReplicas":
        return cls(settings.rasa_servers, settings.rasa_service, settings.rasa_refresh_seconds)

    async def for_conversation(self, conversation: str) -> list[str]:
        """The current servers in this conversation's order of preference."""
        return rendezvous(conversation, await self.current())
