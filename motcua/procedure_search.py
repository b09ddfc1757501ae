"""From a citizen's words to a procedure: a full-text index over the whole catalogue.

An in-memory SQLite FTS5 index (SQLite is in the standard library, whatever the store) holds,
in the folded Vietnamese view of `nlu/text.py` (no diacritics, one tone placement, shorthand
expanded), every procedure's official name, its aliases and its field:

- the hand-written entries (`catalogue/procedures/*.yml`) with their aliases and the NLU's synonyms;
- the imported commune-level records (`catalogue/national/procedures.jsonl`);
- the index of every national procedure (`catalogue/national/index.jsonl`), so a question about a
  procedure done by the province or a ministry is recognised and routed honestly.

Each syllable and each pair of neighbouring syllables ("khai_sinh") is a term, so bm25 rewards
words in the citizen's order. Everyday words are rewritten into the official ones first
(`catalogue/everyday_words.yml`: "sổ đỏ" → "giấy chứng nhận quyền sử dụng đất"). The best
candidates are then judged by how much of the question they explain: a clear winner is answered,
a procedure with variants ("lưu động", "có yếu tố nước ngoài", …) not named in the question is
asked about, and a question nothing explains gets the honest "not in our catalogue" answer.
Nothing here is trained: a procedure added by `motcua catalogue import` is found after a reload.
"""
from __future__ import annotations

import math
import re
import sqlite3
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Optional, Sequence, Union

import yaml

from motcua import PROJECT_ROOT
from motcua.catalogue import Catalogue, IndexEntry, Procedure, default_dir, load_catalogue, short_name
from nlu.text import fold

# Words that ask rather than name: left out of the query (folded forms, whole phrases first).
QUESTION_WORDS = sorted("""
thu tuc|thu tuc hanh chinh|lam the nao|nhu the nao|the nao|ra sao|nhu nao|lam sao|bao nhieu|bao lau|
may ngay|bao nhieu ngay|bao nhieu tien|het bao nhieu tien|het bao nhieu|het|mat bao lau|mat may ngay|o dau|cho nao|noi nao|
can gi|can nhung gi|nhung gi|giay to gi|ho so gom|gom nhung|can giay to gi|can mang|mang theo|
le phi|chi phi|mien phi|thoi gian|online|truc tuyen|qua mang|dich vu cong|
nop ho so|ho so|cac buoc|trinh tu|quy trinh|co duoc khong|duoc khong|co the|co phai|
xin hoi|cho hoi|cho em hoi|cho toi hoi|xin|em|anh|toi|minh|chau|ad|admin|
muon|phai|duoc|khong|vay|a|ah|nhe|nha|oi|voi|va|thi|la|gi|ai|nao|
khi|neu|truong hop|trong truong hop|doi voi|o|tai|cua|nay|sao|roi|chua|lam|cho|co|
huong dan|giup|tim hieu|ve|viec|se|nhieu|nua|kinh gui|
""".replace("\n", "").split("|"), key=len, reverse=True)
# What distinguishes variants of one procedure in the national list.
VARIANT_MARKERS = ("co yeu to nuoc ngoai", "tai khu vuc bien gioi", "luu dong",
                   "cho nguoi da co ho so giay to ca nhan", "lai")
# A procedure whose name the question says this well (words and order, 0–1) is answered…
SURE_MATCH = 0.7
# …unless another name is said almost as specifically (this share of its weight); then the close
# ones are offered as choices.
RIVAL_SHARE = 0.8
# Citizens ask a commune office: at a near tie its own procedures come first.
COMMUNE_PREFERENCE = 1.15
# How fast a name's later words lose weight in judging how much of it was said.
POSITION_DECAY = 0.3
# Below this, nothing is offered: the honest "not in our catalogue" answer.
CHOICE_MATCH = 0.4
# …and a choice must explain at least this much of the question's known words.
CHOICE_EXPLAINED = 0.35
MAX_CHOICES = 5


# Abbreviations in official names, spelled out so either form is found.
ABBREVIATIONS = {"bhyt": "bao hiem y te", "bhxh": "bao hiem xa hoi", "bhtn": "bao hiem that nghiep",
                 "tnld": "tai nan lao dong", "bnn": "benh nghe nghiep", "gcn": "giay chung nhan",
                 "qsdd": "quyen su dung dat", "htx": "hop tac xa", "ubnd": "uy ban nhan dan"}


def _spell_out(folded: str) -> str:
    """Abbreviations spelled out, numbers without leading zeros ("mức độ 02" = "mức độ 2")."""
    return " ".join(f"{w} {ABBREVIATIONS[w]}" if w in ABBREVIATIONS else (w.lstrip("0") or "0") if w.isdigit() else w
                    for w in folded.split())


def _terms(folded: str) -> str:
    """Syllables and syllable pairs: "khai sinh luu dong" → "… khai_sinh sinh_luu luu_dong"."""
    words = folded.split()
    return " ".join(words + [f"{a}_{b}" for a, b in zip(words, words[1:])])


def _strip_phrases(folded: str, phrases: list[str]) -> str:
    text = f" {folded} "
    for phrase in phrases:
        text = text.replace(f" {phrase} ", " ")
    return re.sub(r"\s+", " ", text).strip()


def _stem(name: str) -> str:
    """A name without variant markers and level notes ("(thực hiện tại cấp tỉnh)"): the variants
    of one procedure, and its copies at other levels, share it."""
    name = _strip_phrases(fold(re.sub(r"\([^)]*\)", " ", name)), ["thu tuc"])
    for marker in VARIANT_MARKERS:
        name = f" {name} ".replace(f" {marker} ", " ").strip()
    return re.sub(r"\s+", " ", name).strip()


Target = Union[Procedure, IndexEntry]


@dataclass
class Wording:
    """A name or an alias, as content words (in order) and as pairs of neighbouring words."""
    words: frozenset
    pairs: frozenset
    order: tuple = ()


def _wording(content: str) -> Wording:
    words = content.split()
    return Wording(frozenset(words), frozenset(zip(words, words[1:])), tuple(dict.fromkeys(words)))


@dataclass
class Candidate:
    target: Target
    match: float       # how much of its name (or an alias) the question says, 0–1
    said: float        # weight of the name's words the question says (more specific names say more)
    rank: float        # bm25 (lower is better)
    explained: float   # how much of the question's known words its text explains, 0–1

    @property
    def score(self) -> float:
        """Said fully and specifically, explaining the question; this commune's own procedures
        slightly before others."""
        own = COMMUNE_PREFERENCE if isinstance(self.target, Procedure) else 1.0
        return self.match * self.said * self.explained * own

    @property
    def key(self) -> str:
        return self.target.id if isinstance(self.target, Procedure) else self.target.code


@dataclass
class Resolution:
    """What the question is about. kind: procedure, variants (ask), choices (ask), elsewhere, none."""
    kind: str
    procedure: Optional[Procedure] = None
    entry: Optional[IndexEntry] = None
    options: Sequence[Target] = field(default_factory=list)
    query: str = ""
    # The best candidate's weight said and share of the question explained (Candidate's), for a
    # caller that must be surer than the search itself (a message the NLU gave another intent).
    said: float = 0.0
    explained: float = 0.0


class ProcedureSearch:
    def __init__(self, catalogue: Catalogue, everyday: Optional[dict[str, list[str]]] = None,
                 synonyms: Optional[dict[str, str]] = None) -> None:
        self.catalogue = catalogue
        # Everyday phrase (folded) → official wording (folded), longest phrase first.
        self.everyday_by_word: dict[str, list[tuple[list[str], str]]] = {}
        for phrase, officials in sorted((everyday or {}).items(), key=lambda kv: -len(fold(kv[0]).split())):
            words = fold(phrase).split()
            if words:
                self.everyday_by_word.setdefault(words[0], []).append((words, " ".join(fold(v) for v in officials)))
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        self.db.execute("CREATE VIRTUAL TABLE docs USING fts5(key UNINDEXED, name, aliases, sector, "
                        "tokenize=\"unicode61 remove_diacritics 0 tokenchars '_'\")")
        self.targets: dict[str, Target] = {}
        self.wordings: dict[str, list[Wording]] = {}   # key → its name's and aliases' wordings
        self.stems: dict[str, str] = {}                 # key → variant stem
        rows = []
        wordings: dict[str, list[str]] = {}
        for wording, value in (synonyms or {}).items():
            wordings.setdefault(value, []).append(wording)
        for p in catalogue.procedures.values():
            if p.national and catalogue.by_code.get(p.code) != p.id:
                continue  # a record linked to a hand-written entry is answered by that entry
            aliases = p.aliases + wordings.get(p.id, [])
            official = catalogue.index[p.code].name if p.code in catalogue.index else p.name
            # A hand-written entry is found by its plain name; an imported one by its full official name.
            rows.append(self._add(p.id, p, official if p.national else p.name, aliases, p.sector, stem_name=official))
        for e in catalogue.index.values():
            if e.code in catalogue.by_code:
                continue
            rows.append(self._add(e.code, e, e.name, e.aliases, e.sector, stem_name=e.name))
        self.db.executemany("INSERT INTO docs VALUES (?, ?, ?, ?)", rows)
        # A word's weight: rare words ("khai", "sinh") say more than common ones ("cap", "giay").
        df: dict[str, int] = {}
        for ws in self.wordings.values():
            for w in set().union(*(x.words for x in ws)) if ws else ():
                df[w] = df.get(w, 0) + 1
        n = len(self.wordings)
        self.idf = {w: math.log((n + 1) / (c + 0.5)) for w, c in df.items()}

    def _add(self, key: str, target: Target, name: str, aliases: list[str], sector: str,
             stem_name: str) -> tuple[str, str, str, str]:
        # Aliases are everyday words: rewritten like the questions, so both meet in official words.
        folded_name, folded_aliases = _spell_out(fold(name)), [_spell_out(self.rewrite(a)) for a in aliases]
        self.targets[key] = target
        short = short_name(name)
        contents = [self._content(_spell_out(fold(short)))] + [self._content(a) for a in folded_aliases]
        self.wordings[key] = [_wording(c) for c in contents if c]
        self.stems[key] = _stem(stem_name)
        return (key, _terms(folded_name), " | ".join(_terms(a) for a in folded_aliases), _terms(fold(sector)))

    @staticmethod
    def _content(folded: str) -> str:
        return _strip_phrases(folded, QUESTION_WORDS)

    def rewrite(self, text: str) -> str:
        """The question with the official words added after each everyday phrase (folded; one pass,
        longest phrase first, so added words are never rewritten again)."""
        words, out, i = fold(text).split(), [], 0
        while i < len(words):
            for phrase, official in self.everyday_by_word.get(words[i], ()):
                n = len(phrase)
                if words[i:i + n] == phrase:
                    out += phrase + ([official] if official != " ".join(phrase) else [])
                    i += n
                    break
            else:
                out.append(words[i])
                i += 1
        return " ".join(out)

    def _weight(self, words) -> float:
        # fsum: exact whatever the order — a set's order changes with each process's string hashing,
        # and a plain sum's last bits with it, which could flip a threshold from one run to the next.
        return math.fsum(self.idf.get(w, 0.0) for w in words)

    def _judge(self, asked: Wording, wording: Wording) -> tuple[float, float]:
        """(share of the wording the question says — its words and their order —, weight said).

        An official name starts with what is done ("Gia hạn giấy phép xây dựng") and goes on with
        qualifiers ("đối với công trình cấp III, cấp IV"): later words count for less in the share."""
        said = self._weight(wording.words & asked.words)
        decay = [self.idf.get(w, 0.0) / (1 + POSITION_DECAY * i) for i, w in enumerate(wording.order)]
        share = math.fsum(d for d, w in zip(decay, wording.order) if w in asked.words) / (math.fsum(decay) or 1.0)
        order = len(wording.pairs & asked.pairs) / len(wording.pairs) if wording.pairs else share
        return (share + order) / 2, said

    def candidates(self, text: str, limit: int = 40) -> tuple[str, list[Candidate]]:
        """(the question's content words, its candidates best first)."""
        return self._ranked(self.rewrite(text), limit)

    def _ranked(self, rewritten: str, limit: int = 40) -> tuple[str, list[Candidate]]:
        query = self._content(_spell_out(rewritten))
        if not query:
            return query, []
        asked = _wording(query)
        # Every term quoted: the citizen's words are never FTS5 syntax.
        fts_query = " OR ".join(f'"{t}"' for t in dict.fromkeys(_terms(query).split()))
        found = self.db.execute(
            "SELECT key, bm25(docs, 0, 1.0, 1.0, 0.2) AS rank FROM docs WHERE docs MATCH ? ORDER BY rank LIMIT ?",
            (fts_query, limit)).fetchall()
        out = []
        known = self._weight(asked.words) or 1.0
        for key, rank in found:
            # Each wording (the name, an alias) judged on its own; the best one speaks for the procedure.
            judged = []
            for w in self.wordings[key]:
                match, said = self._judge(asked, w)
                judged.append(Candidate(self.targets[key], match, said, rank, self._weight(asked.words & w.words) / known))
            if judged:
                out.append(max(judged, key=lambda c: (c.match >= CHOICE_MATCH, c.score)))
        # Among names said well enough, the best score first (said fully and specifically: "khai sinh
        # có yếu tố nước ngoài" before "khai sinh"; this commune's own procedures slightly ahead),
        # then the fuller match, then bm25.
        out.sort(key=lambda c: (c.match < CHOICE_MATCH, -round(c.score, 1), -c.match, c.rank))
        return query, out

    def resolve(self, text: str) -> Resolution:
        rewritten = self.rewrite(text)  # once: the ranking and the variant markers both read it
        query, found = self._ranked(rewritten)
        # One content word ("còn", "con", "giấy") names no procedure.
        if len(query.split()) < 2 or not found or found[0].match < CHOICE_MATCH:
            return Resolution("none", query=query)
        return replace(self._decide(rewritten, query, found), said=found[0].said, explained=found[0].explained)

    def _decide(self, rewritten: str, query: str, found: list[Candidate]) -> Resolution:
        best = found[0]
        # Rivals: other names said almost as fully and as specifically, that are not a shorter
        # form of the chosen one ("khai tử" beside "khai tử lưu động") nor one of its variants.
        shown = short_name(best.target.name).lower()
        rivals = [c for c in found[1:] if c.match >= CHOICE_MATCH and c.score >= RIVAL_SHARE * best.score
                  and self._stem_of(c) != self._stem_of(best) and not self._inside(c, best)
                  and short_name(c.target.name).lower() != shown]
        # Sure: its name said well, or said enough while explaining the whole question; no rival.
        if not rivals and (best.match >= SURE_MATCH or best.explained >= 0.8):
            if isinstance(best.target, IndexEntry):
                return Resolution("elsewhere", entry=best.target, query=query)
            variants = self.variants(best.key)
            named = [m for m in VARIANT_MARKERS if f" {m} " in f" {rewritten} "]
            if len(variants) > 1 and not named:
                plain = [v for v in variants if not self._is_variant(v)]
                if best.target in plain or len(plain) == 1:
                    chosen = best.target if best.target in plain else plain[0]
                    others = [v for v in variants if v is not chosen]
                    return Resolution("procedure", procedure=chosen, options=others[:MAX_CHOICES], query=query)
                return Resolution("variants", options=variants[:MAX_CHOICES + 1], query=query)
            return Resolution("procedure", procedure=best.target, query=query)
        # Offered only when they explain the question too: never a list of unrelated procedures;
        # and a single unsure candidate is no choice at all.
        choices = [c.target for c in [best, *rivals] if c.explained >= CHOICE_EXPLAINED]
        if len(choices) < 2:
            return Resolution("none", query=query)
        # One choice per name as shown (the national list repeats a name per level of government).
        choices = list({short_name(t.name).lower(): t for t in reversed(choices)}.values())[::-1][:MAX_CHOICES]
        entries = [t for t in choices if isinstance(t, IndexEntry)]
        if len(entries) == len(choices) and len({self.stems[t.code] for t in entries}) == 1:
            return Resolution("elsewhere", entry=entries[0], query=query)  # one procedure at several levels
        return Resolution("choices", options=choices, query=query) if len(choices) > 1 else Resolution("none", query=query)

    def _inside(self, other: Candidate, best: Candidate) -> bool:
        """A shorter name whose words the chosen, more specific one also has ("khai tử" in
        "khai tử lưu động") is no rival."""
        mine = set().union(*(w.words for w in self.wordings[best.key]))
        return other.said < best.said and any(w.words <= mine for w in self.wordings[other.key])

    @staticmethod
    def _is_variant(p: Procedure) -> bool:
        return any(f" {m} " in f" {fold(p.name)} " for m in VARIANT_MARKERS)

    def _stem_of(self, c: Candidate) -> str:
        return self.stems.get(c.key, "")

    def variants(self, key: str) -> list[Procedure]:
        """Procedures of this catalogue sharing the name but for a variant marker (the plain one first)."""
        stem = self.stems.get(key)
        if not stem:
            return []
        found = [p for k, s in self.stems.items() if s == stem
                 for p in [self.targets[k]] if isinstance(p, Procedure)]
        return sorted(found, key=lambda p: (p.national, len(p.name)))


def load_everyday_words(directory: Optional[Path] = None) -> dict[str, list[str]]:
    path = Path(directory or default_dir()) / "everyday_words.yml"
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(k): [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in data.items()}


def load_synonyms(path: Optional[Path] = None) -> dict[str, str]:
    """The NLU's synonyms (wording → procedure id): more names for the hand-written entries."""
    path = Path(path or PROJECT_ROOT / "nlu" / "data" / "nlu" / "synonyms.yml")
    if not path.exists():
        return {}
    out = {}
    for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
        value = str(block.get("synonym") or "")
        for line in str(block.get("examples") or "").splitlines():
            wording = line.strip().removeprefix("- ").strip()
            if value and wording:
                out[wording] = value
    return out


@lru_cache(maxsize=4)
def load_search(directory: Optional[str] = None) -> ProcedureSearch:
    """The index over the catalogue, built once per process (about a second for 2,600 names)."""
    catalogue = load_catalogue(directory)
    return ProcedureSearch(catalogue, load_everyday_words(Path(directory) if directory else None), load_synonyms())
