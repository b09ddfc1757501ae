"""What the bot says to a citizen, whatever the channel: text, buttons, an image and channel hints."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass
class Reply:
    text: str = ""
    buttons: list[dict[str, str]] = field(default_factory=list)
    image: Optional[str] = None
    # Channel hints from the domain's `custom` responses, e.g. {"request_contact": true}.
    custom: dict[str, Any] = field(default_factory=dict)
    # The stored outgoing message (set by the gateway), so a failed send can go to the outbox.
    message_id: Optional[int] = None
    # The platform's ids of the parts it accepted (a long reply is split), so that a reply sent
    # again after a crash skips them (bot/receipts.py).
    sent_parts: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text}
        if self.buttons:
            out["buttons"] = self.buttons
        if self.image:
            out["image"] = self.image
        return out
