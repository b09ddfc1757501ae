"""One turn of a citizen's update through the gateway: which inbox row it came from and which
attempt at answering it this is, passed from the inbox to the channel handler to the gateway."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from bot import messages
from bot.replies import Reply


@dataclass(frozen=True)
class Turn:
    # The inbox row of the update (None: the web chat, answered while the citizen waits).
    inbox_id: Optional[int] = None
    # 1 the first time; more after a Deferred.
    attempt: int = 1

    @property
    def first(self) -> bool:
        return self.attempt == 1


class Deferred(Exception):
    """Rasa or the store is down and the update is safe in the inbox: it will be processed again later.
    `notify` is true the first time, when the citizen should be asked to wait."""

    def __init__(self, notify: bool) -> None:
        super().__init__("deferred until Rasa answers")
        self.notify = notify
        self.reply = Reply(messages.BUSY_WAIT)
