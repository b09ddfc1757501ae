"""Read-only mode: a provincial system's own table, read through a mapping (SQLite and PostgreSQL)."""
import asyncio
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from motcua.store import make_engine
from motcua.store.case_source import CaseSource, load_mapping

MAPPING = """
table: ho_so_mot_cua
columns:
  code: ma_ho_so
  procedure_id: ma_thu_tuc
  applicant_name: ten_cong_dan
  phone: dien_thoai
  received_at: ngay_nhan
  due_at: ngay_hen
  status: trang_thai
  agency: don_vi
  note: ghi_chu
statuses:
  "4": processing
  "9": done
"""


async def test_lookup_through_a_mapping(db_url, tmp_path):
    engine = make_engine(db_url)
    async with engine.begin() as conn:
        await conn.execute(text(
            "CREATE TABLE ho_so_mot_cua (ma_ho_so VARCHAR(64) PRIMARY KEY, ma_thu_tuc VARCHAR(64), ten_cong_dan TEXT,"
            " dien_thoai VARCHAR(20), ngay_nhan TIMESTAMP, ngay_hen TIMESTAMP, trang_thai VARCHAR(4), don_vi TEXT,"
            " ghi_chu TEXT)"))
        await conn.execute(text(
            "INSERT INTO ho_so_mot_cua VALUES ('H56.14-261101-0001', 'khai_sinh', 'A', '0905 123 456',"
            " '2026-11-01 08:00:00', '2026-11-03 10:00:00', '4', 'UBND xã', NULL)"))
    await engine.dispose()
    (tmp_path / "mapping.yml").write_text(MAPPING, encoding="utf-8")
    source = CaseSource(db_url, load_mapping(str(tmp_path / "mapping.yml")))
    try:
        d = await source.get("H56.14-261101-0001")
        assert d.status == "processing" and d.phone == "0905123456" and d.procedure_id == "khai_sinh"
        assert d.received_at == datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc)  # 08:00 in Vietnam
        assert d.note == "" and d.original_due_at is None
        assert await source.get("H56.14-261101-0002") is None
        assert set(await source.many(["H56.14-261101-0001", "x"])) == {"H56.14-261101-0001"}
    finally:
        await source.dispose()
    # Read-only: nothing of ours was created in their database.
    engine = make_engine(db_url)
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: __import__("sqlalchemy").inspect(c).get_table_names())
    await engine.dispose()
    assert tables == ["ho_so_mot_cua"]


def test_a_mapping_without_required_columns_is_refused(tmp_path):
    (tmp_path / "m.yml").write_text("table: t\ncolumns:\n  code: ma\n", encoding="utf-8")
    with pytest.raises(ValueError, match="phone"):
        load_mapping(str(tmp_path / "m.yml"))
    (tmp_path / "m2.yml").write_text(MAPPING.replace("processing", "dang_xu_ly"), encoding="utf-8")
    with pytest.raises(ValueError, match="unknown status"):
        load_mapping(str(tmp_path / "m2.yml"))


async def test_first_uses_at_once_migrate_the_embedded_case_database_once(tmp_path):
    """The watcher's first pass and a first lookup can meet in one gateway: Alembic's setup is not
    safe to run twice at once in a process, so the first use migrates and the others wait."""
    source = CaseSource(f"sqlite+aiosqlite:///{tmp_path / 'cases.db'}")
    try:
        found = await asyncio.gather(*(source.get(f"000.00.24.H08-261101-000{i}") for i in range(5)),
                                     source.many(["000.00.24.H08-261101-0001"]))
    finally:
        await source.dispose()
    assert found == [None] * 5 + [{}]
