"""The case (dossier) database, CASE_DATABASE_URL: the one-stop office's dossiers.

Read-only to the bot, except through `motcua cases import` and `motcua demo seed`.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional, overload

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import declarative_base

CaseBase: Any = declarative_base()  # SQLAlchemy 1.4 has no type information

# Contract status values, with what a citizen is told (plain Vietnamese).
STATUS_LABELS = {
    "submitted": "Mới đăng ký trực tuyến, chưa được tiếp nhận",
    "received": "Đã tiếp nhận",
    "refused": "Không được tiếp nhận",
    "processing": "Đang xử lý",
    "need_supplement": "Cần bổ sung giấy tờ",
    "payment_required": "Cần thực hiện nghĩa vụ tài chính",
    "withdrawn": "Công dân đã rút hồ sơ",
    "paused": "Tạm dừng xử lý",
    "done": "Đã xử lý xong, chờ trả kết quả",
    "returned": "Đã trả kết quả",
}
# Statuses after which a dossier can no longer be late.
CLOSED_STATUSES = frozenset({"refused", "withdrawn", "done", "returned"})


class Dossier(CaseBase):
    __tablename__ = "dossiers"

    code = Column(String(64), primary_key=True)
    procedure_id = Column(String(64), nullable=False)
    applicant_name = Column(String(200), nullable=False, default="")
    phone = Column(String(20), nullable=False, default="")
    received_at = Column(DateTime(timezone=True), nullable=False)
    due_at = Column(DateTime(timezone=True), nullable=True)
    # The first appointment given. When due_at later differs, the office has moved the date
    # (the apology-and-new-date slip), and the citizen is told both.
    original_due_at = Column(DateTime(timezone=True), nullable=True)
    status = Column(String(20), nullable=False)
    agency = Column(String(200), nullable=False, default="")
    note = Column(Text, nullable=False, default="")
    updated_at = Column(DateTime(timezone=True), nullable=False, default=lambda: datetime.now(timezone.utc))

    def is_overdue(self, now: Optional[datetime] = None) -> bool:
        """Overdue is derived, never stored: open and past its due date."""
        return is_overdue(self.status, self.due_at, now)


@overload
def as_utc(value: datetime) -> datetime: ...


@overload
def as_utc(value: None) -> None: ...


def as_utc(value: Optional[datetime]) -> Optional[datetime]:
    """SQLite gives naive datetimes back: they were stored as UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def is_overdue(status: str, due_at: Optional[datetime], now: Optional[datetime] = None) -> bool:
    if status in CLOSED_STATUSES or due_at is None:
        return False
    return as_utc(due_at) < (now or datetime.now(timezone.utc))


class DossierStatusChange(CaseBase):
    """Every status (and appointment) a dossier went through, as seen by imports."""

    __tablename__ = "dossier_status_history"

    id = Column(Integer, primary_key=True)
    code = Column(String(64), ForeignKey("dossiers.code", ondelete="CASCADE"), nullable=False, index=True)
    status = Column(String(20), nullable=False)
    due_at = Column(DateTime(timezone=True), nullable=True)
    note = Column(Text, nullable=False, default="")
    changed_at = Column(DateTime(timezone=True), nullable=False)
