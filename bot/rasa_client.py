"""The gateway's client for the Rasa server: one aiohttp session, reused for every turn."""
from __future__ import annotations

import asyncio
import time
from typing import Any, Optional, Sequence, Union
from urllib.parse import quote

import aiohttp

from bot.replies import Reply
from motcua.rasa_api import INTENT_KEY, RasaApi
from motcua.rasa_replicas import RasaReplicas


class RasaUnavailable(Exception):
    """Rasa did not answer (down, starting, overloaded or erroring)."""


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
        custom: dict[str, Any] = item["custom"] if isinstance(item.get("custom"), dict) else {}
        if INTENT_KEY in custom:
            continue  # the turn's intent (intent_of), not something to say
        if text or buttons or item.get("image"):
            replies.append(Reply(text=str(text), buttons=buttons, image=item.get("image"), custom=custom))
        elif custom and replies:
            # Rasa sends a response's `custom` part as its own item, right after its text.
            replies[-1].custom.update(custom)
    return replies


def intent_of(payload: Any) -> Optional[str]:
    """The intent our Rasa adds at the end of its answer (motcua/rasa_run.py); None if absent."""
    for item in reversed(payload) if isinstance(payload, list) else []:
        custom = item.get("custom") if isinstance(item, dict) else None
        if isinstance(custom, dict) and isinstance(custom.get(INTENT_KEY), str):
            return custom[INTENT_KEY]
    return None


def replies_after(events: list[dict], inbox_id: int) -> Optional[list[Reply]]:
    """The bot's answer to the user message tagged with `inbox_id`, read from a tracker's events;
    None when Rasa never saw that message."""
    replies: Optional[list[Reply]] = None
    for event in events:
        kind = event.get("event")
        if kind == "user":
            if replies is not None:
                break  # the next message: the answer ended
            if (event.get("metadata") or {}).get("inbox_id") == inbox_id:
                replies = []
        elif kind == "bot" and replies is not None:
            data = event.get("data") or {}
            item = {"text": event.get("text"), "buttons": data.get("buttons"), "image": data.get("image")}
            replies.extend(parse_replies([item]))
            if isinstance(data.get("custom"), dict) and replies:
                replies[-1].custom.update(data["custom"])
    return replies


class RasaClient:
    """Sends each conversation's turns to its own Rasa server among the replicas (rendezvous
    hashing, motcua/rasa_replicas.py). A server that refuses the connection is skipped for a few
    seconds and the turn goes to the conversation's next server; any other failure is not retried
    elsewhere, since that server may have processed the message already."""

    SKIP_SECONDS = 5.0

    def __init__(self, rasa: Union[str, Sequence[str], RasaReplicas], session: aiohttp.ClientSession,
                 timeout: float = 30.0, token: Optional[str] = None) -> None:
        self.replicas = RasaReplicas.of(rasa)
        self.params = {"token": token} if token else {}
        self.session = session
        self.api = RasaApi(session, token)
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._down_until: dict[str, float] = {}

    async def _order(self, sender_id: str) -> list[str]:
        """This conversation's servers, its own first; ones that just refused, last."""
        ranked = await self.replicas.for_conversation(sender_id)
        now = time.monotonic()
        up = [u for u in ranked if self._down_until.get(u, 0.0) <= now]
        return up + [u for u in ranked if u not in up]

    async def _call(self, sender_id: str, method: str, path: str, **kwargs) -> Any:
        """One request to the conversation's server, its JSON answer. A server that refuses the
        connection never got the request: the conversation's next one is tried. Any other failure
        is final."""
        refused: Optional[Exception] = None
        for base_url in await self._order(sender_id):
            try:
                async with self.session.request(method, f"{base_url}{path}", timeout=self.timeout, **kwargs) as resp:
                    if resp.status != 200:
                        raise RasaUnavailable(f"Rasa answered HTTP {resp.status}")
                    return await resp.json(content_type=None)
            except aiohttp.ClientConnectorError as exc:  # not delivered: safe to try the next server
                self._down_until[base_url] = time.monotonic() + self.SKIP_SECONDS
                refused = exc
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                raise RasaUnavailable(str(exc) or type(exc).__name__) from exc
        raise RasaUnavailable(f"no Rasa server accepted the connection ({refused})")

    async def converse(self, sender_id: str, text: str, metadata: Optional[dict] = None) -> tuple[list[Reply], Optional[str]]:
        """One turn: the replies, and the intent the model gave the message (None if not told)."""
        body: dict[str, Any] = {"sender": sender_id, "message": text}
        if metadata:
            body["metadata"] = metadata
        answer = await self._call(sender_id, "POST", "/webhooks/rest/webhook", json=body)
        return parse_replies(answer), intent_of(answer)

    async def send(self, sender_id: str, text: str, metadata: Optional[dict] = None) -> list[Reply]:
        return (await self.converse(sender_id, text, metadata))[0]

    async def answered(self, sender_id: str, inbox_id: int) -> Optional[list[Reply]]:
        """When an update is processed again (its gateway died, or Rasa timed out), Rasa may have
        answered it already: its tracker says so (the message carries its inbox id as metadata).
        Returns those replies, or None when the message is not in the tracker.
        Raises RasaUnavailable when no server can tell."""
        tracker = await self._call(sender_id, "GET", f"/conversations/{quote(sender_id, safe='')}/tracker",
                                   params=self.params)
        if not isinstance(tracker, dict):
            raise RasaUnavailable("Rasa answered a tracker that is not a JSON object")
        return replies_after(tracker.get("events") or [], inbox_id)

    async def ready(self, timeout: float = 3.0) -> bool:
        """True when a Rasa server answers and has a model loaded."""
        for base_url in await self.replicas.current():
            status = await self.api.status(base_url, timeout)
            if status and (status.get("model_file") or status.get("model_id")):
                return True
        return False
