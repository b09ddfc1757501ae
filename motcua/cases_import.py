"""`motcua cases import FILE.csv`: upsert dossiers from the one-stop system's export.

Bad rows are reported with their line numbers and skipped; good rows are kept. Rows go to the
database in batches (one upsert per batch), and a status or appointment that changed is added
to the dossier's history.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Callable, Collection, Iterator, Optional

from sqlalchemy import select

from motcua.store import CASE_MIGRATIONS_DIR, Database
from motcua.store.cases import STATUS_LABELS, Dossier, DossierStatusChange, as_utc
from motcua.store.sql import upsert
from motcua.workdays import VIETNAM

COLUMNS = ("code", "procedure_id", "applicant_name", "phone", "received_at", "due_at", "status", "agency", "note")
# Dates without a time zone are Vietnam's local time (UTC+7, no daylight saving).
BATCH = 2000
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9.]*-\d{6}-\d{3,6}$")


def normalize_code(text: str) -> str:
    """'000.00.24.h08 241105 0012' → '000.00.24.H08-241105-0012'."""
    code = re.sub(r"[\s_]+", "-", (text or "").strip().upper())
    return re.sub(r"-{2,}", "-", code)


def normalize_phone(text: str) -> str:
    digits = re.sub(r"\D", "", text or "")
    if digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits


def parse_when(text: str, end_of_day: bool = False) -> Optional[datetime]:
    text = (text or "").strip()
    if not text:
        return None
    if len(text) == 10:  # a bare date: an appointment means the end of that working day
        value = datetime.combine(date.fromisoformat(text), time(17, 0) if end_of_day else time(0, 0))
    else:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=VIETNAM)
    return value.astimezone(timezone.utc)


@dataclass
class ImportReport:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.rows} dòng: {self.inserted} hồ sơ mới, {self.updated} cập nhật, {self.unchanged} không đổi, "
                f"{len(self.errors)} dòng lỗi, {len(self.warnings)} cảnh báo")


def parse_row(row: dict, line: int, known_procedures: Collection[str], report: ImportReport) -> Optional[dict]:
    problems = []
    code = normalize_code(row.get("code", ""))
    if not _CODE.match(code):
        problems.append(f"mã hồ sơ không hợp lệ {row.get('code', '')!r}")
    status = (row.get("status") or "").strip().lower()
    if status not in STATUS_LABELS:
        problems.append(f"trạng thái không hợp lệ {row.get('status', '')!r}")
    try:
        received = parse_when(row.get("received_at", ""))
        if received is None:
            problems.append("thiếu ngày tiếp nhận (received_at)")
    except ValueError:
        problems.append(f"ngày tiếp nhận không hợp lệ {row.get('received_at', '')!r}")
        received = None
    try:
        due = parse_when(row.get("due_at", ""), end_of_day=True)
    except ValueError:
        problems.append(f"ngày hẹn trả không hợp lệ {row.get('due_at', '')!r}")
        due = None
    phone = normalize_phone(row.get("phone", ""))
    if phone and len(phone) < 9:
        problems.append("số điện thoại không hợp lệ")  # the number itself is never echoed
    if problems:
        report.errors.append(f"dòng {line}: " + "; ".join(problems))
        return None
    procedure = (row.get("procedure_id") or "").strip()
    if known_procedures and procedure not in known_procedures:
        report.warnings.append(f"dòng {line}: thủ tục {procedure!r} không có trong danh mục (vẫn nhập)")
    return {"code": code, "procedure_id": procedure, "applicant_name": (row.get("applicant_name") or "").strip(),
            "phone": phone, "received_at": received, "due_at": due, "status": status,
            "agency": (row.get("agency") or "").strip(), "note": (row.get("note") or "").strip()}


def read_rows(path: Path, report: ImportReport) -> Iterator[tuple[int, dict]]:
    # utf-8-sig drops a BOM; newline="" lets csv handle Windows line ends and quoted newlines.
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"thiếu cột: {', '.join(missing)} (cần: {', '.join(COLUMNS)})")
        for row in reader:
            yield reader.line_num, row


async def _write_batch(db: Database, batch: dict[str, dict], report: ImportReport, now: datetime) -> None:
    async with db.session() as session, session.begin():
        existing = {
            d.code: d for d in (await session.execute(
                select(Dossier.code, Dossier.status, Dossier.due_at, Dossier.original_due_at, Dossier.note)
                .where(Dossier.code.in_(list(batch)))
            )).all()
        }
        rows, history = [], []
        for code, row in batch.items():
            old = existing.get(code)
            row = {**row, "updated_at": now}
            if old is None:
                report.inserted += 1
                row["original_due_at"] = row["due_at"]
            else:
                row["original_due_at"] = old.original_due_at if old.original_due_at is not None else row["due_at"]
                if old.status == row["status"] and as_utc(old.due_at) == row["due_at"] and old.note == row["note"]:
                    report.unchanged += 1
                    continue
                report.updated += 1
            if old is None or old.status != row["status"] or as_utc(old.due_at) != row["due_at"]:
                history.append({"code": code, "status": row["status"], "due_at": row["due_at"],
                                "note": row["note"], "changed_at": now})
            rows.append(row)
        await upsert(session, Dossier.__table__, rows, key=["code"])
        if history:
            await session.execute(DossierStatusChange.__table__.insert(), history)


async def import_csv(path: Path, database_url: str, known_procedures: Collection[str] = frozenset(),
                     progress: Optional[Callable[[int], None]] = None) -> ImportReport:
    report = ImportReport()
    db = Database(database_url, migrations=CASE_MIGRATIONS_DIR)
    try:
        await db.migrate()
        now = datetime.now(timezone.utc)
        batch: dict[str, dict] = {}
        first_line: dict[str, int] = {}
        for line, raw in read_rows(Path(path), report):
            report.rows += 1
            row = parse_row(raw, line, known_procedures, report)
            if row is not None:
                if row["code"] in first_line:
                    report.warnings.append(
                        f"dòng {line}: mã {row['code']} trùng với dòng {first_line[row['code']]}; lấy dòng sau")
                first_line.setdefault(row["code"], line)
                batch[row["code"]] = row
            if len(batch) >= BATCH:
                await _write_batch(db, batch, report, now)
                batch = {}
            if progress and report.rows % 1000 == 0:
                progress(1000)
        if batch:
            await _write_batch(db, batch, report, now)
        if progress:
            progress(report.rows % 1000)
        return report
    finally:
        await db.dispose()


def count_lines(path: Path) -> int:
    """Data lines (for the progress bar): every line but the header."""
    with open(path, "rb") as f:
        return max(0, sum(1 for _ in f) - 1)
