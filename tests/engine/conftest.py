"""What the engine tests share: the bot's words as Rasa renders them from the domain."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import pytest
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa_sdk.executor import CollectingDispatcher

from motcua import training


@lru_cache(maxsize=1)
def domain() -> Domain:
    """domain.yml merged with the features' responses (responses/*.yml), as training merges them."""
    return Domain.load([str(p) for p in (training.DOMAIN, *training.RESPONSES)])


def render(sent: CollectingDispatcher | list[dict[str, Any]], slots: dict[str, Any] | None = None) -> list[str]:
    """The texts of the messages an action sent (its dispatcher, or the dispatcher's messages),
    filled the way Rasa fills them when it receives them from the action server
    (rasa.core.actions.action.RemoteAction._utter_responses)."""
    nlg = TemplatedNaturalLanguageGenerator(domain().responses)
    texts = []
    for message in sent.messages if isinstance(sent, CollectingDispatcher) else sent:
        message = dict(message)
        name = message.pop("response", None)
        if not name:
            texts.append(message.get("text") or "")
            continue
        assert name in domain().responses, f"{name} is not a response of the domain"
        draft = nlg.generate_from_slots(name, slots or {}, "rest", **message)
        assert draft is not None and draft.get("text"), name
        texts.append(draft["text"])
    return texts


@pytest.fixture
def rendered():
    return render


@pytest.fixture
def merged_domain() -> Domain:
    return domain()
