"""`motcua cases import` on SQLite and PostgreSQL: edge cases of real exports."""
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from motcua.cases_import import import_csv, normalize_code
from motcua.store import CASE_MIGRATIONS_DIR, Database
from motcua.store.cases import Dossier, DossierStatusChange, as_utc

HEADER = "code,procedure_id,applicant_name,phone,received_at,due_at,status,agency,note"


def write(tmp_path, lines, name="export.csv", bom=False, crlf=False):
    text = ("\r\n" if crlf else "\n").join([HEADER, *lines]) + "\n"
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


async def rows(url):
    db = Database(url, migrations=CASE_MIGRATIONS_DIR)
    async with db.session() as s:
        dossiers = {d.code: d for d in (await s.scalars(select(Dossier))).all()}
        history = (await s.scalars(select(DossierStatusChange).order_by(DossierStatusChange.id))).all()
    await db.dispose()
    return dossiers, history


async def test_good_rows_are_kept_and_bad_rows_reported_by_line(db_url, tmp_path):
    path = write(tmp_path, [
        "000.00.24.H08-261101-0001,khai_sinh,Nguyễn Văn An,0905123456,2026-11-01,2026-11-01,returned,UBND xã,",
        "000.00.24.H08-261102-0002,ket_hon,Trần Thị Bình,0912345678,2026-11-02T08:30:00,2026-11-07,processing,UBND xã,",
        "000.00.24.H08-261103-0003,cap_so_do,Lê Văn C,0987000111,03/11/2026,2026-11-20,processing,VPĐKĐĐ,",
        "000.00.24.H08-261104-0004,cap_so_do,Lê Văn D,0987000222,2026-11-04,2026-11-24,lost,VPĐKĐĐ,",
        "not a code,cap_so_do,Lê Văn E,0987000333,2026-11-04,2026-11-24,processing,VPĐKĐĐ,",
        "000.00.24.H08-261105-0005,nuoi_chim_yen,Phạm F,+84 935 111 222,2026-11-05,,submitted,UBND xã,",
    ])
    report = await import_csv(path, db_url, known_procedures={"khai_sinh", "ket_hon", "cap_so_do"})
    assert (report.rows, report.inserted, len(report.errors)) == (6, 3, 3)
    assert report.errors[0].startswith("dòng 4: ngày tiếp nhận không hợp lệ")
    assert report.errors[1].startswith("dòng 5: trạng thái không hợp lệ 'lost'")
    assert report.errors[2].startswith("dòng 6: mã hồ sơ không hợp lệ")
    assert report.warnings == ["dòng 7: thủ tục 'nuoi_chim_yen' không có trong danh mục (vẫn nhập)"]
    dossiers, history = await rows(db_url)
    assert set(dossiers) == {"000.00.24.H08-261101-0001", "000.00.24.H08-261102-0002", "000.00.24.H08-261105-0005"}
    d = dossiers["000.00.24.H08-261102-0002"]
    # Naive times are Vietnam's local time; a bare due date means the end of the working day.
    assert as_utc(d.received_at) == datetime(2026, 11, 2, 1, 30, tzinfo=timezone.utc)
    assert as_utc(d.due_at) == datetime(2026, 11, 7, 10, 0, tzinfo=timezone.utc)
    assert dossiers["000.00.24.H08-261105-0005"].phone == "0935111222"
    assert dossiers["000.00.24.H08-261105-0005"].due_at is None
    assert len(history) == 3


async def test_bom_windows_line_ends_and_quoted_fields(db_url, tmp_path):
    path = write(tmp_path, [
        '000.00.24.H08-261101-0001,khai_sinh,"Nguyễn, Văn An",0905123456,2026-11-01,2026-11-02,need_supplement,UBND xã,"Bổ sung ""giấy chứng sinh"""',  # noqa: E501 (data)
    ], bom=True, crlf=True)
    report = await import_csv(path, db_url)
    assert report.errors == [] and report.inserted == 1
    dossiers, _ = await rows(db_url)
    d = dossiers["000.00.24.H08-261101-0001"]
    assert d.applicant_name == "Nguyễn, Văn An" and d.note == 'Bổ sung "giấy chứng sinh"'


async def test_duplicates_keep_the_later_row_and_reimports_record_history(db_url, tmp_path):
    first = write(tmp_path, [
        "000.00.24.H08-261101-0001,cap_so_do,A,0905123456,2026-11-01,2026-11-20,received,VP,",
        "000.00.24.h08 261101 0001,cap_so_do,A,0905123456,2026-11-01,2026-11-20,processing,VP,",
    ])
    report = await import_csv(first, db_url)
    assert report.inserted == 1 and "trùng với dòng 2" in report.warnings[0]
    # The office moves the appointment once, then the dossier is done.
    again = write(tmp_path, ["000.00.24.H08-261101-0001,cap_so_do,A,0905123456,2026-11-01,2026-11-27,processing,VP,trễ đo đạc"],
                  name="second.csv")
    assert (await import_csv(again, db_url)).updated == 1
    assert (await import_csv(again, db_url)).unchanged == 1
    dossiers, history = await rows(db_url)
    d = dossiers["000.00.24.H08-261101-0001"]
    assert d.status == "processing" and d.note == "trễ đo đạc"
    assert as_utc(d.original_due_at).day == 20 and as_utc(d.due_at).day == 27
    assert [h.status for h in history] == ["processing", "processing"]


def test_normalize_code_accepts_what_citizens_type():
    assert normalize_code(" 000.00.24.h08 241105 0012 ") == "000.00.24.H08-241105-0012"
    assert normalize_code("h56.14-240823-0001") == "H56.14-240823-0001"


@pytest.mark.slow  # starts `motcua` as a command line
def test_cli_reports_progress_summary_and_missing_columns(tmp_path):
    good = write(tmp_path, ["H56.14-261101-0001,khai_sinh,A,0905123456,2026-11-01,2026-11-02,processing,UBND,"])
    env_url = f"sqlite+aiosqlite:///{tmp_path / 'cases.db'}"
    import os
    env = {**os.environ, "CASE_DATABASE_URL": env_url}
    out = subprocess.run([sys.executable, "-m", "motcua.cli", "cases", "import", str(good)],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "1 dòng: 1 hồ sơ mới" in out.stdout and "Nhập hồ sơ" in out.stderr  # tqdm draws on stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("code,status\nx,y\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "motcua.cli", "cases", "import", str(bad)],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "thiếu cột: procedure_id" in out.stderr
