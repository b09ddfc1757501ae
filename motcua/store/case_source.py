"""Reading dossiers: from the embedded case database, or read-only from the one-stop system's.

With CASE_DATABASE_MAPPING pointing to a YAML file, the provincial system's table or view is
read through that mapping (configuration, not code edits):

    table: v_ho_so_mot_cua          # a table or view; `schema:` optional
    columns:                        # our field: their column (code, phone, received_at, due_at, status required)
      code: ma_ho_so
      procedure_id: ma_thu_tuc
      applicant_name: ten_nguoi_nop
      phone: so_dien_thoai
      received_at: ngay_tiep_nhan
      due_at: ngay_hen_tra
      status: trang_thai
      agency: don_vi_xu_ly
      note: ghi_chu
    statuses:                       # their status value: ours (contract values)
      "1": submitted
      "2": received
    utc_offset_hours: 7             # how to read their times without a zone (default: Vietnam, +7)
"""
from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional

import yaml
from sqlalchemy import DateTime, column, select, table

from motcua.store import CASE_MIGRATIONS_DIR, Database
from motcua.store.cases import STATUS_LABELS, Dossier, as_utc

FIELDS = ("code", "procedure_id", "applicant_name", "phone", "received_at", "due_at", "original_due_at",
          "status", "agency", "note")
REQUIRED = ("code", "phone", "received_at", "due_at", "status")
DATE_FIELDS = ("received_at", "due_at", "original_due_at")


@dataclass
class DossierView:
    code: str
    phone: str
    received_at: datetime
    due_at: Optional[datetime]
    status: str
    procedure_id: str = ""
    applicant_name: str = ""
    agency: str = ""
    note: str = ""
    original_due_at: Optional[datetime] = None


def load_mapping(path: Optional[str]) -> Optional[dict[str, Any]]:
    if not path:
        return None
    mapping = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    missing = [f for f in REQUIRED if f not in (mapping.get("columns") or {})]
    if not mapping.get("table") or missing:
        raise ValueError(f"{path}: needs `table` and columns for {', '.join(missing) or 'table'}")
    unknown = {v for v in (mapping.get("statuses") or {}).values() if v not in STATUS_LABELS}
    if unknown:
        raise ValueError(f"{path}: unknown status values {sorted(unknown)}")
    return mapping


class CaseSource:
    def __init__(self, url: str, mapping: Optional[dict[str, Any]] = None) -> None:
        self.mapping = mapping
        self.db = Database(url, migrations=CASE_MIGRATIONS_DIR)
        self._ready = mapping is not None  # an external database is never migrated by us
        # Alembic's setup is not safe to run twice at once in one process (the watcher's first pass
        # and a first lookup can meet): the first use migrates, the others wait for it.
        self._migrating = asyncio.Lock()
        if mapping:
            cols = mapping["columns"]
            self._naive_zone = timezone(timedelta(hours=float(mapping.get("utc_offset_hours", 7))))
            self._table = table(mapping["table"], *[column(c, DateTime if f in DATE_FIELDS else None)
                                                    for f, c in cols.items()], schema=mapping.get("schema"))
            self._select = select(*[self._table.c[cols[f]].label(f) for f in FIELDS if f in cols])
            self._code_col = self._table.c[cols["code"]]
        else:
            self._select = select(*[getattr(Dossier, f).label(f) for f in FIELDS])
            self._code_col = Dossier.code

    async def _ensure_schema(self) -> None:
        if self._ready:
            return
        async with self._migrating:
            if not self._ready:
                await self.db.migrate()
                self._ready = True

    def _view(self, row: Any) -> DossierView:
        data = dict(row._mapping)
        if self.mapping:
            statuses = self.mapping.get("statuses") or {}
            data["status"] = statuses.get(str(data["status"]), str(data["status"]))
        for key in DATE_FIELDS:
            value = data.get(key)
            if isinstance(value, datetime):
                # Our own database keeps UTC; a provincial system keeps its local time.
                if self.mapping and value.tzinfo is None:
                    value = value.replace(tzinfo=self._naive_zone)
                data[key] = as_utc(value).astimezone(timezone.utc)
        data["phone"] = re.sub(r"\D", "", str(data.get("phone") or ""))
        fields: dict[str, Any] = {k: ("" if v is None and k in ("procedure_id", "applicant_name", "agency", "note")
                                      else v) for k, v in data.items()}
        return DossierView(**fields)

    async def get(self, code: str) -> Optional[DossierView]:
        await self._ensure_schema()
        async with self.db.session() as session:
            row = (await session.execute(self._select.where(self._code_col == code))).first()
        return self._view(row) if row else None

    async def many(self, codes: list[str]) -> dict[str, DossierView]:
        await self._ensure_schema()
        async with self.db.session() as session:
            rows = (await session.execute(self._select.where(self._code_col.in_(codes)))).all()
        return {v.code: v for v in map(self._view, rows)}

    async def dispose(self) -> None:
        await self.db.dispose()
