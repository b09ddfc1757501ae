"""The procedure catalogue and the locality, read from YAML files under `catalogue/`.

Both are data reviewed like code: another commune or province deploys by editing them
(MOTCUA_CATALOGUE_DIR points elsewhere), never by changing the program.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

import yaml
from rapidfuzz import fuzz, process

from motcua import PROJECT_ROOT, national
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
    # National code (ma_thu_tuc); for an imported entry it is also its id.
    code: str = ""
    # "curated" (catalogue/procedures/*.yml, plain wording) or "national" (imported, official facts).
    source: str = "curated"
    url: str = ""
    sector: str = ""
    levels: list[str] = field(default_factory=list)
    conditions: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Procedure":
        missing = [f for f in REQUIRED_FIELDS if data.get(f) in (None, "", [])
                   and not (f == "online" and isinstance(data.get(f), dict))]
        if missing:
            raise ValueError(f"procedure {data.get('id')!r} lacks {', '.join(missing)}")
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def national(self) -> bool:
        return self.source == "national"


@dataclass
class IndexEntry:
    """A procedure of the national list, wherever it is done: enough to route a question."""
    code: str
    name: str
    levels: list[str]
    sector: str = ""
    agency: str = ""
    audience: str = ""
    url: str = ""
    ministry: str = ""
    aliases: list[str] = field(default_factory=list)

    @property
    def at_commune(self) -> bool:
        return "xa" in self.levels


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
    # The national portal's procedure search: for procedures in no list.
    portal: dict[str, Any] = field(default_factory=dict)
    # The agency whose officials answer chats handed over to a person.
    handoff_agency: str = ""
    # Booking a time at the office: counters, sessions, slots, seats (motcua/appointments.py).
    appointments: dict[str, Any] = field(default_factory=dict)

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

    def head_agency(self) -> Optional[str]:
        """The local authority at the top of the routing chain (supervises others, has no supervisor)."""
        supervisors = {a.get("supervisor") for a in self.agencies if a.get("supervisor")}
        for a in self.agencies:
            if not a.get("supervisor") and a["id"] in supervisors:
                return a["name"]
        return None

    @property
    def hotline(self) -> str:
        return str(self.office.get("hotline", "")).strip()


class Catalogue:
    def __init__(self, procedures: list[Procedure], locality: Locality,
                 index: Optional[list[IndexEntry]] = None) -> None:
        self.procedures = {p.id: p for p in procedures}
        self.locality = locality
        self.index = {e.code: e for e in index or []}
        # National code → the entry that answers it (a curated entry wins over the imported record).
        self.by_code: dict[str, str] = {}
        for p in sorted(procedures, key=lambda p: p.national):
            if p.code:
                self.by_code.setdefault(p.code, p.id)
        # Every folded wording (name, aliases, the id itself) → procedure id, for fuzzy matching.
        self._wordings: dict[str, str] = {}
        for p in self.curated():
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
        # Everyday names of national procedures, written by people (never by the importer).
        aliases: dict[str, list[str]] = {}
        for path in sorted((directory / "national" / "aliases").glob("*.yml")):
            for code, names in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
                aliases.setdefault(str(code), []).extend(str(n) for n in names or [])
        imported = directory / "national" / "procedures.jsonl"
        for line in imported.read_text(encoding="utf-8").splitlines() if imported.exists() else []:
            if line.strip():
                entry = procedure_from_national(json.loads(line))
                entry.aliases = aliases.get(entry.code, [])
                procedures.append(entry)
        index_file = directory / "national" / "index.jsonl"
        index = []
        for line in index_file.read_text(encoding="utf-8").splitlines() if index_file.exists() else []:
            if line.strip():
                data = json.loads(line)
                index.append(IndexEntry(**{k: v for k, v in data.items() if k in IndexEntry.__dataclass_fields__},
                                        aliases=aliases.get(data["code"], [])))
        return cls(procedures, locality, index)

    def curated(self) -> list[Procedure]:
        return [p for p in self.procedures.values() if not p.national]

    def get(self, procedure_id: Optional[str]) -> Optional[Procedure]:
        """By id, or by national code (the curated entry when one is linked to it)."""
        key = procedure_id or ""
        return self.procedures.get(self.by_code.get(key, key))

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
        for p in self.curated():
            topics.setdefault(p.topic, []).append(p)
        return {t: ps for t, ps in topics.items() if ps}


# The national record's facts, summarised for a phone screen: the bot links the full official page.
DOC_SECTIONS = ("Giấy tờ phải nộp", "Giấy tờ phải xuất trình")
MAX_LINES = 10


def shorten(text: str, limit: int = 160) -> str:
    """The first sentence, cut at a word boundary: official texts are long."""
    text = re.sub(r"\s+", " ", str(text or "")).strip()
    first = re.split(r"(?<=[.;])\s+(?=[A-ZĐÀ-Ỹ])", text, 1)[0].rstrip(" ;")
    if len(first) <= limit:
        return first
    return first[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _number(value: float) -> str:
    return (f"{value:g}").replace(".", ",")


def _time_text(way: dict) -> str:
    if way.get("days") is None:
        return "chưa có thông tin"
    unit = (way.get("unit") or "").lower()
    return f"{_number(way['days'])} {unit}" if unit else f"{_number(way['days'])} (Cổng Dịch vụ công không ghi đơn vị)"


def _by_channel(ways: list[dict], cell) -> list[str]:
    """"Trực tiếp, Trực tuyến: 5 ngày làm việc" — channels that share a value on one line."""
    grouped: dict[str, list[str]] = {}
    for way in ways:
        grouped.setdefault(cell(way), []).append(national.CHANNEL_TITLES.get(way["channel"], way["channel"]))
    if len(grouped) == 1:
        return [next(iter(grouped))]
    return [f"{', '.join(dict.fromkeys(chs))}: {value}" for value, chs in grouped.items()]


def money(text: str) -> str:
    """"50,000 Việt Nam Đồng" / "Lệ phí : 8.000 Đồng" → "50.000 đồng" / "Lệ phí: 8.000 đồng"."""
    text = re.sub(r"(\d),(?=\d{3}\b)", r"\1.", text)
    text = re.sub(r"\s*(Việt Nam [Đđ]ồng|VNĐ|VND|Đồng)\b", " đồng", text)
    return re.sub(r"\s+:\s*", ": ", text)


def _fee_text(way: dict) -> str:
    fee = way.get("fee") or ""
    fee = "chưa có thông tin" if not fee or fee == national.NO_INFO else money(fee)
    note = way.get("fee_note") or ""
    return f"{fee} ({shorten(note, 200)})" if note and re.search(r"\w{3}", note) else fee


def short_name(name: str, limit: int = 110) -> str:
    """Official names run to 300 characters: the part before the first bracket or semicolon."""
    head = re.split(r"\s*[(;]", name, 1)[0].strip()
    return shorten(head if len(head.split()) >= 3 else name, limit)


def procedure_from_national(entry: dict) -> Procedure:
    """An imported record as a Procedure: official facts, shortened, with the portal link."""
    ways = entry.get("ways") or []
    docs = [d for d in entry.get("documents") or []
            if d["kind"] == "item" or (d["kind"] == "sub" and not d["copies"].startswith("0"))]
    documents = []
    for d in sorted(docs, key=lambda d: d["section"] not in DOC_SECTIONS[:1]):
        copies = f" ({d['copies']})" if d["copies"] and not d["copies"].startswith("0") else ""
        shown = ("Xuất trình: " if d["section"] == DOC_SECTIONS[1] else "") + shorten(d["name"], 150) + copies
        if shown not in documents:
            documents.append(shown)
    if not documents and entry.get("raw", {}).get("thanh_phan_ho_so"):
        documents = [shorten(entry["raw"]["thanh_phan_ho_so"], 300)]
    fee_lines = _by_channel(ways, _fee_text) if ways else ["chưa có thông tin"]
    fee_text = "\n".join(dict.fromkeys(fee_lines))
    duration_lines = list(dict.fromkeys(_by_channel(ways, _time_text))) if ways else ["chưa có thông tin"]
    online = any(w["channel"] == "online" for w in ways)
    channels = ", ".join(dict.fromkeys(national.CHANNEL_TITLES[w["channel"]].lower() for w in ways)) or "trực tiếp"
    agency = next((str(a) for a in (entry.get("agency"), entry.get("competent")) if a and not national.empty(a)),
                  "Ủy ban nhân dân xã").rstrip(". ")
    steps = [shorten(s.lstrip("-+•*) "), 180) for s in (entry.get("steps") or "").split("\n")
             if len(s.strip(" -+•*)")) > 3]
    legal = [f"{t['title'][:120]} ({t['number']})" if t["number"] and t["number"] not in t["title"] else t["title"][:140]
             for t in entry.get("legal_basis") or []]
    result = entry.get("result") or ""
    return Procedure(
        id=entry["code"], code=entry["code"], source="national", name=short_name(entry["name"]), topic="",
        aliases=[], sector=entry.get("sector", ""), levels=entry.get("levels") or [], url=entry.get("url", ""),
        summary=f"Lĩnh vực: {entry.get('sector')}." + (f" Kết quả: {shorten(result, 120)}." if result else ""),
        handled_by={"office": agency, "level": "xa"},
        documents=documents[:MAX_LINES] or ["Chưa có thông tin về thành phần hồ sơ."],
        fee={"text": fee_text, "certainty": "official"},
        duration={"text": "\n".join(duration_lines), "working_days": None, "certainty": "official"},
        place=(entry.get("address") or agency).rstrip(". ") + f". Cách nộp: {channels}.",
        steps=steps[:MAX_LINES] or ["Chưa có thông tin về trình tự thực hiện."],
        online={"available": online,
                "where": "Cổng Dịch vụ công quốc gia (dichvucong.gov.vn)" if online else ""},
        legal_basis=legal[:MAX_LINES], last_checked="", conditions=entry.get("conditions", ""),
    )


@lru_cache(maxsize=4)
def load_catalogue(directory: Optional[str] = None) -> Catalogue:
    """The catalogue, read once per process (it is immutable while the bot runs)."""
    return Catalogue.load(Path(directory) if directory else None)
