"""Rasa's HTTP API beyond the conversation webhook, for one Rasa server at a time: its status (is
a model loaded, which), a conversation's tracker, and putting a model or tracker events in. The
gateway's turn client (bot/rasa_client.py) and the retraining job (motcua/retrain/job.py) share
it. Every call answers None or False when the server does not answer, instead of raising;
`put_model` alone raises, since a model swap that fails must be told."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Optional
from urllib.parse import quote

import aiohttp

# The key under which our Rasa (motcua/rasa_run.py) adds the turn's intent to the REST channel's
# answer, as a `custom` item after the replies; the gateway takes it out (bot/rasa_client.py).
INTENT_KEY = "motcua_intent"


class RasaApi:
    def __init__(self, http: aiohttp.ClientSession, token: Optional[str] = None) -> None:
        self.http = http
        self.params = {"token": token} if token else {}

    async def _get_object(self, url: str, timeout: float) -> Optional[dict[str, Any]]:
        """A GET whose answer is a JSON object; None when the server does not answer one."""
        try:
            async with self.http.get(url, params=self.params, timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                body = await resp.json(content_type=None) if resp.status == 200 else None
                return body if isinstance(body, dict) else None
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            return None

    async def status(self, url: str, timeout: float = 5.0) -> Optional[dict[str, Any]]:
        """GET /status: the model Rasa serves (`model_file`, `model_id`); None when it does not answer."""
        return await self._get_object(f"{url}/status", timeout)

    async def serving(self, url: str, timeout: float = 5.0) -> Optional[str]:
        """The file name of the model the server serves; None when it does not answer or has none."""
        name = (await self.status(url, timeout) or {}).get("model_file")
        return Path(name).name if name else None

    async def tracker(self, url: str, sender: str, timeout: float = 10.0) -> Optional[dict[str, Any]]:
        return await self._get_object(f"{url}/conversations/{quote(sender, safe='')}/tracker", timeout)

    async def put_tracker_events(self, url: str, sender: str, events: list, timeout: float = 10.0) -> bool:
        try:
            async with self.http.put(f"{url}/conversations/{quote(sender, safe='')}/tracker/events",
                                     params=self.params, json=events,
                                     timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                return resp.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return False

    async def put_model(self, url: str, path: Path, timeout: float) -> tuple[int, str]:
        """PUT /model: (HTTP status, body); raises aiohttp's errors when the server cannot be reached."""
        async with self.http.put(f"{url}/model", params=self.params, json={"model_file": str(Path(path).resolve())},
                                 timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            return resp.status, await resp.text()
