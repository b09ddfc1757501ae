"""The procedure catalogue and the locality, read from YAML files under `catalogue/`.

Both are data reviewed like code: another commune or province deploys by editing them
(MOTCUA_CATALOGUE_DIR points elsewhere), never by changing the program.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

import yaml
from rapidfuzz import fuzz, process

from motcua import PROJECT_ROOT
from nlu.text import fold

ASPECTS = ("documents", "fee", "duration", "place", "steps", "online")
ASPECT_TITLES = {
    "documents": "Giấy tờ cần có",
    "fee": "Lệ phí",
    "duration": "Thời gian giải quyết",
    "place": "Nơi nộp hồ sơ",
    "steps": "Các bước thực hiện",
    "online": "Làm trực tuyến",
}
TOPICS = {
    "ho_tich": "Hộ tịch",
    "chung_thuc": "Chứng thực",
    "cu_tru": "Cư trú – căn cước",
    "dat_dai": "Đất đai",
    "kinh_doanh_xay_dung": "Kinh doanh – xây dựng",
    "xa_hoi": "Xã hội – bảo hiểm",
}
REQUIRED_FIELDS = ("id", "name", "topic", "aliases", "summary", "handled_by", "documents", "fee", "duration",
                   "place", "steps", "online", "legal_basis", "last_checked")


def default_dir() -> Path:
    return Path(os.environ.get("MOTCUA_CATALOGUE_DIR") or PROJECT_ROOT / "catalogue")


@dataclass
class Procedure:
    id: str
    name: str
    topic: str
    aliases: list[str]
    summary: str
    handled_by: dict[str, Any]
    documents: list[str]
    fee: dict[str, Any]
    duration: dict[str, Any]
    place: str
    steps: list[str]
    online: dict[str, Any]
    legal_basis: list[str]
    last_checked: Any
    confirm_note: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Procedure":
        missing = [f for f in REQUIRED_FIELDS if data.get(f) in (None, "", [])
                   and not (f == "online" and isinstance(data.get(f), dict))]
        if missing:
            raise ValueError(f"procedure {data.get('id')!r} lacks {', '.join(missing)}")
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Locality:
    unit_name: str
    office: dict[str, Any]
    demo: bool = False
    unit_full_name: str = ""
    province: str = ""
    communes: list[dict[str, Any]] = field(default_factory=list)
    agencies: list[dict[str, Any]] = field(default_factory=list)
    complaint_categories: list[dict[str, Any]] = field(default_factory=list)
    # warn_working_days: how close to its deadline a complaint is flagged "sắp đến hạn".
    escalation: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Locality":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    def agency_name(self, agency_id: Optional[str]) -> str:
        for a in self.agencies:
            if a["id"] == agency_id:
                return a["name"]
        return agency_id or ""

    def supervisor_of(self, agency_id: str) -> Optional[str]:
        for a in self.agencies:
            if a["id"] == agency_id:
                return a.get("supervisor")
        return None

    @property
    def hotline(self) -> str:
        return str(self.office.get("hotline", "")).strip()


class Catalogue:
    def __init__(self, procedures: list[Procedure], locality: Locality) -> None:
        self.procedures = {p.id: p for p in procedures}
        self.locality = locality
        # Every folded wording (name, aliases, the id itself) → procedure id, for fuzzy matching.
        self._wordings: dict[str, str] = {}
        for p in procedures:
            for wording in [p.name, p.id.replace("_", " "), *p.aliases]:
                self._wordings.setdefault(fold(wording), p.id)

    @classmethod
    def load(cls, directory: Optional[Path] = None) -> "Catalogue":
        directory = Path(directory or default_dir())
        procedures = []
        for path in sorted((directory / "procedures").glob("*.yml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            if data.get("id") != path.stem:
                raise ValueError(f"{path}: id {data.get('id')!r} does not match the file name")
            procedures.append(Procedure.from_dict(data))
        locality = Locality.from_dict(yaml.safe_load((directory / "locality.yml").read_text(encoding="utf-8")))
        return cls(procedures, locality)

    def get(self, procedure_id: Optional[str]) -> Optional[Procedure]:
        return self.procedures.get(procedure_id or "")

    def resolve(self, value: Optional[str]) -> Optional[Procedure]:
        """An entity value or a typed name → the procedure, when it is unambiguous."""
        if not value:
            return None
        found = self.get(value) or self.get(self._wordings.get(fold(value)))
        if found:
            return found
        best = self.closest(value, limit=2)
        if best and best[0][1] >= 90 and (len(best) == 1 or best[0][1] - best[1][1] >= 5):
            return best[0][0]
        return None

    def closest(self, text: str, limit: int = 3, cutoff: float = 60) -> list[tuple[Procedure, float]]:
        """Procedures whose wordings are closest to the text (diacritics-free, typo-tolerant)."""
        query = fold(text)
        if not query:
            return []
        scored: dict[str, float] = {}
        for wording, score, _ in process.extract(
            query, list(self._wordings), scorer=fuzz.WRatio, limit=limit * 6, score_cutoff=cutoff
        ):
            pid = self._wordings[wording]
            scored[pid] = max(scored.get(pid, 0), score)
        ranked = sorted(scored.items(), key=lambda kv: -kv[1])[:limit]
        return [(self.procedures[pid], score) for pid, score in ranked]

    def by_topic(self) -> dict[str, list[Procedure]]:
        topics: dict[str, list[Procedure]] = {t: [] for t in TOPICS}
        for p in self.procedures.values():
            topics.setdefault(p.topic, []).append(p)
        return {t: ps for t, ps in topics.items() if ps}


@lru_cache(maxsize=4)
def load_catalogue(directory: Optional[str] = None) -> Catalogue:
    """The catalogue, read once per process (it is immutable while the bot runs)."""
    return Catalogue.load(Path(directory) if directory else None)
