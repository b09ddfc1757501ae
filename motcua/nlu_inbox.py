"""Grouping the NLU inbox for the admin page: identical folded texts are one bucket, and buckets
whose folded texts are nearly the same (rapidfuzz ratio ≥ SIMILARITY, e.g. a typo or one word
more) are one group; groups are sorted by how many messages they hold, then by the newest."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Optional

import yaml
from rapidfuzz import fuzz, process

from motcua.store.models import NluInboxItem
from motcua.training import DOMAIN, RESPONSES

SIMILARITY = 85
MIN_FUZZY_CHARS = 8  # shorter texts only group when identical ("co" and "ko" are not the same)


@dataclass
class Group:
    items: list[NluInboxItem] = field(default_factory=list)

    @property
    def key(self) -> int:
        """The id that names the group in URLs: its newest item of the most frequent text."""
        return self.representative.id

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def representative(self) -> NluInboxItem:
        top = Counter(i.folded for i in self.items).most_common(1)[0][0]
        return max((i for i in self.items if i.folded == top), key=lambda i: i.id)

    @property
    def text(self) -> str:
        """The group's wording as citizens most often wrote it."""
        return self.variants[0][0]

    @property
    def variants(self) -> list[tuple[str, int]]:
        """Distinct texts as citizens wrote them (masked), most frequent first."""
        by_folded: dict[str, Counter] = {}
        for i in self.items:
            by_folded.setdefault(i.folded, Counter())[i.text] += 1
        out = [(texts.most_common(1)[0][0], sum(texts.values())) for texts in by_folded.values()]
        return sorted(out, key=lambda v: -v[1])

    @property
    def sources(self) -> Counter:
        return Counter(i.source for i in self.items)

    @property
    def predicted(self) -> list[tuple[str, Optional[float]]]:
        """What the model understood: each intent with its best confidence, most frequent first."""
        seen = Counter(i.intent for i in self.items if i.intent)
        best = {name: max((i.confidence for i in self.items if i.intent == name and i.confidence is not None),
                          default=None) for name in seen}
        return [(name, best[name]) for name, _ in seen.most_common()]

    @property
    def procedures(self) -> list[str]:
        return [p for p, _ in Counter(i.procedure for i in self.items if i.procedure).most_common()]

    @property
    def last_seen(self) -> datetime:
        return max(i.created_at for i in self.items)

    @property
    def ids(self) -> list[int]:
        return sorted(i.id for i in self.items)


def group_items(items: Iterable[NluInboxItem], similarity: int = SIMILARITY) -> list[Group]:
    buckets: dict[str, list[NluInboxItem]] = {}
    for item in items:
        buckets.setdefault(item.folded, []).append(item)
    # Most frequent texts first, so each group is named after its most common wording.
    ordered = sorted(buckets.items(), key=lambda kv: (-len(kv[1]), -max(i.id for i in kv[1])))
    groups: list[Group] = []
    heads: list[str] = []
    for folded, members in ordered:
        match = None
        if len(folded) >= MIN_FUZZY_CHARS and heads:
            match = process.extractOne(folded, heads, scorer=fuzz.ratio, score_cutoff=similarity,
                                       processor=None)
        if match is not None and len(match[0]) >= MIN_FUZZY_CHARS:
            groups[match[2]].items.extend(members)
        else:
            groups.append(Group(list(members)))
            heads.append(folded)
    return sorted(groups, key=lambda g: (-g.count, -max(i.id for i in g.items)))


def group_of(groups: list[Group], item_id: int) -> Optional[Group]:
    return next((g for g in groups if any(i.id == item_id for i in g.items)), None)


# Forms whose stop the bot announces, and the response it announces it with.
CANCELLED_RESPONSES = ("utter_complaint_cancelled", "utter_lookup_cancelled", "utter_appointment_stopped",
                       "utter_booking_manage_stopped")


@lru_cache(maxsize=2)
def form_prompts(domain_files: tuple[Path, ...] = (DOMAIN, *RESPONSES)) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(each form's first question, what the bot says when a form is stopped), from the domain
    (domain.yml and the features' responses): what the NLU inbox needs to see a form abandoned at
    its first question."""
    forms: dict = {}
    responses: dict = {}
    for path in domain_files:
        part = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        forms.update(part.get("forms") or {})
        responses.update(part.get("responses") or {})

    def text(name: str) -> str:
        return str(((responses.get(name) or [{}])[0]).get("text") or "")

    firsts = [text(f"utter_ask_{form['required_slots'][0]}") for form in forms.values()
              if form.get("required_slots")]
    return tuple(t for t in firsts if t), tuple(t for t in map(text, CANCELLED_RESPONSES) if t)
