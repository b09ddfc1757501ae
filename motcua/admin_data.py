"""The training data that admins write from the admin pages, kept in files of their own so that
reviewers can diff them (issue 8):

- annotated examples, and the questions of FAQ answers: `nlu/data/nlu/admin_annotations.yml`
  (Rasa NLU YAML, one block per intent);
- FAQ answers: the intent and its `utter_` response in `nlu/data/admin_domain.yml` (merged with
  domain.yml at training, see motcua.training.domain_argument), and the rule that answers it in
  `nlu/data/admin_rules.yml`.

Before anything is written, `check` compares the new examples with every training example:
the same folded text (no case, no diacritics, shorthand expanded) under the same intent is a
duplicate (not written again), under another intent a conflict (written only if the admin
confirms), and near-identical texts under another intent are shown as a warning.
"""
from __future__ import annotations

import fcntl
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

import yaml
from rapidfuzz import fuzz, process

from motcua import training
from nlu.text import clean, fold, strip_diacritics

HEADER_NLU = ("# Written by the admin pages (/admin/): examples annotated from the NLU inbox and the\n"
              "# questions of FAQ answers added there. Review it like any other change to the data.\n")
HEADER_RULES = "# Written by the admin pages (/admin/faq): one rule per FAQ answer.\n"
HEADER_DOMAIN = ("# Written by the admin pages (/admin/faq): FAQ intents and their answers. Merged with\n"
                 "# domain.yml when the model is trained (motcua/training.py).\n")
FAQ_PREFIX = "faq_"
MAX_EXAMPLE_CHARS = 300
MAX_ANSWER_CHARS = 2000
SIMILAR_SCORE = 92  # rapidfuzz ratio on folded texts for a "near-identical" warning
# Entity markup inside Rasa examples: [text](entity), [text]{"entity": …}, [text][{…}]
_MARKUP = re.compile(r"\[([^\]]+?)\](?:\([^)]*\)|\{[^}]*\}|\[[^\]]*\])")
_SLUG = re.compile(r"^[a-z0-9_]{3,48}$")


@dataclass(frozen=True)
class AdminFiles:
    nlu: Path = training.ADMIN_NLU
    rules: Path = training.ADMIN_RULES
    domain: Path = training.ADMIN_DOMAIN

    @classmethod
    def in_dir(cls, folder: Path) -> "AdminFiles":
        """All three in one folder (tests)."""
        folder = Path(folder)
        return cls(folder / "admin_annotations.yml", folder / "admin_rules.yml", folder / "admin_domain.yml")

    def is_default(self) -> bool:
        return self == AdminFiles()

    def inputs(self) -> training.Inputs:
        """What a training reads with these files."""
        base = training.Inputs()
        return base if self.is_default() else base.with_admin_files(self.nlu, self.rules, self.domain)


@dataclass
class Finding:
    kind: str  # duplicate, conflict, similar
    text: str  # the new example
    intent: str  # the existing example's intent
    example: str  # the existing example
    file: str


@dataclass
class Check:
    findings: list[Finding] = field(default_factory=list)

    def of(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    @property
    def conflicts(self) -> list[Finding]:
        return self.of("conflict")

    @property
    def duplicates(self) -> list[Finding]:
        return self.of("duplicate")


class DataError(ValueError):
    """Something the admin must fix (the message is Vietnamese, for the page)."""


def plain(example: str) -> str:
    """An example's text without entity markup."""
    return _MARKUP.sub(r"\1", example).strip()


def clean_example(text: str) -> str:
    """One line, no markup characters (a citizen's "[" must not read as an entity), bounded."""
    text = clean(text or "").replace("\n", " ").replace("\r", " ")
    text = text.replace("[", "(").replace("]", ")").replace("{", "(").replace("}", ")")
    return re.sub(r"\s+", " ", text).strip()[:MAX_EXAMPLE_CHARS]


# --- reading ----------------------------------------------------------------------------------

def _nlu_files(files: AdminFiles) -> list[Path]:
    """The training data files that hold NLU examples (a top-level `nlu:` key)."""
    return [f for f in training._files(files.inputs().data_paths())
            if re.search(r"^nlu:", f.read_text(encoding="utf-8"), re.MULTILINE)]


def _load_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return data if isinstance(data, dict) else {}


def _examples_of(block: dict) -> list[str]:
    raw = block.get("examples")
    if isinstance(raw, str):
        return [line.strip()[2:].strip() for line in raw.splitlines() if line.strip().startswith("- ")]
    if isinstance(raw, list):  # the long form: - text: …
        return [str(item.get("text", "")).strip() for item in raw if isinstance(item, dict)]
    return []


_index_cache: dict[tuple, dict] = {}


def example_index(files: AdminFiles) -> dict[str, list[tuple[str, str, str]]]:
    """folded text → [(intent, example as written, file name)] for every training example."""
    nlu_files = _nlu_files(files)
    key = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in nlu_files)
    if key in _index_cache:
        return _index_cache[key]
    index: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for f in nlu_files:
        for block in _load_yaml(f).get("nlu") or []:
            if not isinstance(block, dict) or "intent" not in block:
                continue
            for example in _examples_of(block):
                text = plain(example)
                if text:
                    index[fold(text)].append((str(block["intent"]), text, f.name))
    _index_cache.clear()
    _index_cache[key] = dict(index)
    return _index_cache[key]


def known_intents(files: AdminFiles) -> list[str]:
    """Intents of domain.yml and of the admins' FAQ fragment."""
    intents: list[str] = []
    for path in files.inputs().domain_files():
        for item in _load_yaml(path).get("intents") or []:
            name = next(iter(item)) if isinstance(item, dict) else str(item)
            if name not in intents:
                intents.append(name)
    return intents


def faq_answers(files: AdminFiles) -> dict[str, str]:
    """FAQ intent → its answer, as the admins wrote them."""
    responses = _load_yaml(files.domain).get("responses") or {}
    out = {}
    for name, variants in responses.items():
        if name.startswith("utter_" + FAQ_PREFIX) and variants:
            out[name.removeprefix("utter_")] = str(variants[0].get("text", ""))
    return out


def check(files: AdminFiles, texts: Iterable[str], intent: str) -> Check:
    """Duplicates, conflicts and near-identical examples under other intents, for new examples."""
    index = example_index(files)
    result = Check()
    keys = list(index)
    for text in texts:
        folded = fold(text)
        for other_intent, example, file in index.get(folded, []):
            kind = "duplicate" if other_intent == intent else "conflict"
            result.findings.append(Finding(kind, text, other_intent, example, file))
        if folded in index:
            continue
        for match, score, _ in process.extract(folded, keys, scorer=fuzz.ratio, score_cutoff=SIMILAR_SCORE, limit=3):
            for other_intent, example, file in index[match]:
                if other_intent != intent:
                    result.findings.append(Finding("similar", text, other_intent, example, file))
    return result


# --- writing ----------------------------------------------------------------------------------

class _Locked:
    """One writer at a time: a lock on the folder of the annotations file (it also covers a
    second gateway on the same host, and leaves no lock file among the training data)."""

    def __init__(self, files: AdminFiles) -> None:
        self.folder = files.nlu.parent

    def __enter__(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.folder, os.O_RDONLY)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _read_blocks(path: Path) -> dict[str, list[str]]:
    blocks: dict[str, list[str]] = {}
    for block in _load_yaml(path).get("nlu") or []:
        if isinstance(block, dict) and "intent" in block:
            blocks.setdefault(str(block["intent"]), []).extend(_examples_of(block))
    return blocks


def _render_nlu(blocks: dict[str, list[str]]) -> str:
    lines = [HEADER_NLU.rstrip("\n"), 'version: "3.1"', "nlu:"]
    for intent in sorted(blocks):
        lines.append(f"- intent: {intent}")
        lines.append("  examples: |")
        lines += [f"    - {example}" for example in blocks[intent]]
    return "\n".join(lines) + "\n"


def mark_entity(text: str, wording: str, entity: str, value: str) -> Optional[str]:
    """The example with `wording` marked as the entity (found regardless of case and diacritics);
    None when the wording is not in the text."""
    wording = clean_example(wording)
    if not wording:
        return None
    bare_text, bare_wording = strip_diacritics(text).lower(), strip_diacritics(wording).lower()
    if len(bare_text) != len(text):  # decomposed input: fall back to an exact, case-blind search
        bare_text, bare_wording = text.lower(), wording.lower()
    at = bare_text.find(bare_wording)
    if at < 0:
        return None
    span = text[at:at + len(wording)]
    return f'{text[:at]}[{span}]{{"entity": "{entity}", "value": "{value}"}}{text[at + len(wording):]}'


def procedure_wording(files: AdminFiles, text: str, procedure: str) -> Optional[str]:
    """The longest wording already annotated for this procedure that appears in the text."""
    folded = f" {fold(text)} "
    wordings = set()
    for f in _nlu_files(files):
        for match in re.finditer(r"\[([^\]]+?)\]\{[^}]*\"value\":\s*\"" + re.escape(procedure) + r"\"",
                                 f.read_text(encoding="utf-8")):
            wordings.add(match.group(1))
    for wording in sorted(wordings, key=len, reverse=True):
        if f" {fold(wording)} " in folded:
            bare = strip_diacritics(text).lower()
            at = bare.find(strip_diacritics(wording).lower())
            if at >= 0:
                return text[at:at + len(wording)]
    return None


def add_examples(files: AdminFiles, intent: str, texts: Iterable[str], procedure: Optional[str] = None,
                 wording: str = "") -> list[str]:
    """Appends examples under an intent (duplicates of existing examples are skipped); with a
    procedure, its wording in each example is marked as the `procedure` entity. Returns what
    was written."""
    written = []
    with _Locked(files):
        index = example_index(files)
        blocks = _read_blocks(files.nlu)
        seen = set()
        for text in texts:
            text = clean_example(text)
            if not text or fold(text) in seen or any(i == intent for i, _, _ in index.get(fold(text), [])):
                continue
            seen.add(fold(text))
            example = text
            if procedure:
                marked = mark_entity(text, wording or procedure_wording(files, text, procedure) or "",
                                     "procedure", procedure)
                example = marked or text
            if example in blocks.get(intent, []):
                continue
            blocks.setdefault(intent, []).append(example)
            written.append(example)
        if written:
            _write(files.nlu, _render_nlu(blocks))
    return written


def faq_intent(slug: str) -> str:
    slug = fold(slug).replace(" ", "_").replace("-", "_")
    slug = re.sub(r"[^a-z0-9_]", "", slug).strip("_")
    return slug if slug.startswith(FAQ_PREFIX) else FAQ_PREFIX + slug


def add_faq(files: AdminFiles, slug: str, answer: str, questions: Iterable[str]) -> str:
    """A new FAQ intent: its answer (domain fragment), the rule that gives it, and its questions.
    Returns the intent name. Raises DataError for what the admin must fix."""
    intent = faq_intent(slug)
    if not _SLUG.match(intent.removeprefix(FAQ_PREFIX)):
        raise DataError("Mã câu hỏi chỉ gồm chữ không dấu, số và dấu gạch dưới (3–48 ký tự).")
    answer = clean(answer or "").strip().replace("{", "(").replace("}", ")")
    if not answer or len(answer) > MAX_ANSWER_CHARS:
        raise DataError(f"Câu trả lời không được để trống và dài tối đa {MAX_ANSWER_CHARS} ký tự.")
    questions = [q for q in (clean_example(q) for q in questions) if q]
    if len(questions) < 2:
        raise DataError("Cần ít nhất 2 cách hỏi khác nhau để mô hình học được câu hỏi mới.")
    if intent in known_intents(files):
        raise DataError(f"Ý định {intent} đã có.")
    with _Locked(files):
        domain = _load_yaml(files.domain)
        domain.setdefault("version", "3.1")
        domain.setdefault("intents", []).append(intent)
        domain.setdefault("responses", {})[f"utter_{intent}"] = [{"text": answer}]
        _write(files.domain, HEADER_DOMAIN + yaml.safe_dump(domain, allow_unicode=True, sort_keys=False, width=1000))
        rules = _load_yaml(files.rules)
        rules.setdefault("version", "3.1")
        rules.setdefault("rules", []).append(
            {"rule": f"FAQ {intent}", "steps": [{"intent": intent}, {"action": f"utter_{intent}"}]})
        _write(files.rules, HEADER_RULES + yaml.safe_dump(rules, allow_unicode=True, sort_keys=False, width=1000))
    add_examples(files, intent, questions)
    return intent
