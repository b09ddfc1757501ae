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

    def shown_text(self, can_share_location: bool = True) -> str:
        """The text; on a channel where a citizen cannot share a place on the map (the web chat,
        Zalo Bot Platform), the response's `without_location` wording when it has one (a question
        that otherwise offers to send a location)."""
        if not can_share_location and self.custom.get("without_location"):
            return str(self.custom["without_location"])
        return self.text

    def as_json(self, can_share_location: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.shown_text(can_share_location)}
        if self.buttons:
            out["buttons"] = self.buttons
        if self.image:
            out["image"] = self.image
        return out
