"""The gateway's client for the Rasa server: one aiohttp session, reused for every turn."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Optional

import aiohttp


class RasaUnavailable(Exception):
    """Rasa did not answer (down, starting, overloaded or erroring)."""


@dataclass
class Reply:
    text: str = ""
    buttons: list[dict[str, str]] = field(default_factory=list)
    image: Optional[str] = None
    # Channel hints from the domain's `custom` responses, e.g. {"request_contact": true}.
    custom: dict[str, Any] = field(default_factory=dict)
    # The stored outgoing message (set by the gateway), so a failed send can go to the outbox.
    message_id: Optional[int] = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text}
        if self.buttons:
            out["buttons"] = self.buttons
        if self.image:
            out["image"] = self.image
        return out


def parse_replies(payload: Any) -> list[Reply]:
    """Rasa REST channel output → replies (unknown keys ignored, malformed items skipped)."""
    replies = []
    for item in payload if isinstance(payload, list) else []:
        if not isinstance(item, dict):
            continue
        buttons = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in item.get("buttons") or []
            if isinstance(b, dict)
        ]
        text = item.get("text") or ""
        custom = item.get("custom") if isinstance(item.get("custom"), dict) else {}
        if text or buttons or item.get("image"):
            replies.append(Reply(text=str(text), buttons=buttons, image=item.get("image"), custom=custom))
        elif custom and replies:
            # Rasa sends a response's `custom` part as its own item, right after its text.
            replies[-1].custom.update(custom)
    return replies


class RasaClient:
    def __init__(self, base_url: str, session: aiohttp.ClientSession, timeout: float = 30.0,
                 token: Optional[str] = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.params = {"token": token} if token else {}
        self.session = session
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def send(self, sender_id: str, text: str, metadata: Optional[dict] = None) -> list[Reply]:
        body: dict[str, Any] = {"sender": sender_id, "message": text}
        if metadata:
            body["metadata"] = metadata
        try:
            async with self.session.post(
                f"{self.base_url}/webhooks/rest/webhook", json=body, timeout=self.timeout
            ) as resp:
                if resp.status != 200:
                    raise RasaUnavailable(f"Rasa answered HTTP {resp.status}")
                return parse_replies(await resp.json(content_type=None))
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise RasaUnavailable(str(exc) or type(exc).__name__) from exc

    async def ready(self, timeout: float = 3.0) -> bool:
        """True when Rasa answers and has a model loaded."""
        try:
            async with self.session.get(
                f"{self.base_url}/status", params=self.params, timeout=aiohttp.ClientTimeout(total=timeout)
            ) as resp:
                if resp.status != 200:
                    return False
                status = await resp.json(content_type=None)
                return bool(status.get("model_file") or status.get("model_id"))
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, AttributeError):
            return False
