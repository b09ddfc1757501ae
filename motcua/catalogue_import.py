"""`motcua catalogue import FILE.jsonl`: the national database's procedure records → the catalogue.

Two files under `catalogue/national/`, one JSON line per procedure, sorted by national code, so a
re-import shows as a readable diff:

- `procedures.jsonl` — commune-level procedures with every official fact, parsed (ways to submit
  with time and fee, documents with form and count, legal basis; steps and conditions as text);
- `index.jsonl` — every procedure seen (name, levels, field, agency, portal link), to route a
  question about a procedure done elsewhere.

A full record whose level includes "Cấp xã" becomes an entry; any other record goes to the index
only. A record that cannot be used is rejected and reported with its code and field; a table that
cannot be fully read is kept raw and reported as a warning. The 20 hand-written entries
(`catalogue/procedures/*.yml`) are never written: the record of their national code is stored
and linked to them (`curated`), and the bot answers with the hand-written text.
Nothing is written unless the whole file was read: a malformed file leaves the catalogue as it was.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional

from motcua import national

PROCEDURES_FILE = "procedures.jsonl"
INDEX_FILE = "index.jsonl"


class MalformedFile(ValueError):
    """The file is not JSON lines: nothing is imported."""


@dataclass
class ImportReport:
    records: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    linked: dict[str, str] = field(default_factory=dict)         # code → curated id
    index_created: int = 0
    index_updated: int = 0
    rejected: list[str] = field(default_factory=list)            # "code (line N) field: why"
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.index_created or self.index_updated)

    def summary(self) -> str:
        return (f"{self.records} bản ghi: {self.created} thủ tục mới, {self.updated} cập nhật, "
                f"{self.unchanged} không đổi, {len(self.linked)} gắn với mục biên soạn sẵn, "
                f"{len(self.rejected)} bị từ chối; danh mục tra cứu: {self.index_created} mới, "
                f"{self.index_updated} cập nhật")


def read_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                raise MalformedFile(f"dòng {number} không phải JSON ({exc.msg}, cột {exc.colno})") from None


def read_entries(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    return {entry["code"]: entry for _, entry in read_jsonl(path)}


def write_entries(path: Path, entries: dict[str, dict]) -> None:
    """Atomically: sorted by code, one JSON object a line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        for code in sorted(entries, key=_code_key):
            f.write(json.dumps(entries[code], ensure_ascii=False, sort_keys=True) + "\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _code_key(code: str) -> tuple:
    head, _, tail = code.partition(".")
    return (int(head) if head.isdigit() else 99, tail)


def count_records(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for line in f if line.strip())


def import_file(path: Path, directory: Path, curated_codes: dict[str, str],
                progress: Optional[Callable[[int], None]] = None) -> ImportReport:
    """Read every record first; then write both files, each only if something changed."""
    report = ImportReport()
    procedures = read_entries(directory / PROCEDURES_FILE)
    index = read_entries(directory / INDEX_FILE)
    new_procedures, new_index = dict(procedures), dict(index)
    seen: dict[str, int] = {}
    names: dict[str, str] = {}
    for line, record in read_jsonl(path):
        report.records += 1
        if progress:
            progress(1)
        problems = national.check_record(record)
        code = str(record.get("ma_thu_tuc") or "").strip() if isinstance(record, dict) else ""
        label = f"{code or '(không mã)'} (dòng {line})"
        if not problems and code in seen:
            problems = [("ma_thu_tuc", f"mã trùng với dòng {seen[code]}")]
        if problems:
            report.rejected += [f"{label} {f or 'bản ghi'}: {why}" for f, why in problems]
            continue
        seen[code] = line
        entry = national.index_entry(record)
        if entry["name"] in names:
            report.warnings.append(f"{label} ten_thu_tuc: trùng tên với {names[entry['name']]} (giữ cả hai, phân biệt bằng mã)")
        names.setdefault(entry["name"], code)
        if code not in index:
            report.index_created += 1
        elif index[code] != entry:
            report.index_updated += 1
        new_index[code] = entry
        if not (national.is_full(record) and "xa" in entry["levels"]):
            continue
        parsed = national.parse_record(record)
        report.warnings += [f"{label} {f}: {why}" for f, why in parsed.problems]
        full = national.full_entry(record, parsed)
        full["curated"] = curated_codes.get(code)
        if full["curated"]:
            report.linked[code] = full["curated"]
        if code not in procedures:
            report.created += 1
        elif procedures[code] != full:
            report.updated += 1
        else:
            report.unchanged += 1
        new_procedures[code] = full
    if new_procedures != procedures:
        write_entries(directory / PROCEDURES_FILE, new_procedures)
    if new_index != index:
        write_entries(directory / INDEX_FILE, new_index)
    return report
