"""Phone and CCCD numbers never reach a log in clear (issue 15, item 5): every spelling, every
process (the gateway's formatter, Rasa's and the action server's output), tracebacks and SQL
parameters included."""
import asyncio
import logging
import subprocess
import sys

import pytest
from sqlalchemy import text

from motcua import PROJECT_ROOT
from motcua.logs import MaskingFormatter, mask_personal_data
from motcua.store import make_engine

from tests.support.processes import ENGINE_PYTHON

SPELLINGS = ["0912345678", "0912 345 678", "0912.345.678", "0912-345-678", "sdt0912345678", "(091) 2345678",
             "+84 912345678", "+84912345678", "001203004567", "001-203-004-567", "001 203 004 567", "123456789"]


@pytest.mark.parametrize("number", SPELLINGS)
def test_every_spelling_is_masked(number):
    masked = mask_personal_data(f"liên hệ {number} nhé")
    digits = "".join(c for c in number if c.isdigit())
    assert digits not in "".join(c for c in masked if c.isdigit() or c == "*") or digits[:-2] not in masked
    assert masked.endswith(f"{digits[-2:]} nhé") and "*" * 7 in masked


@pytest.mark.parametrize("kept", ["000.00.24.H08-241105-0012", "PA-2026-000123", "LH-2026-000042", "ngày 2026-11-01",
                                  "lệ phí 4.500.000 đồng", "10:30",
                                  "2026-12-06 07:59:37,089 INFO alembic", "lúc 2026-12-06T07:59:37.123", "mã 1.000593",
                                  "năm 2026, 40 tuổi"])
def test_codes_dates_and_amounts_stay_readable(kept):
    assert mask_personal_data(kept) == kept


@pytest.mark.parametrize("text, masked", [
    ("2026-12-06 07:59:37 gọi 0905123456", "2026-12-06 07:59:37 gọi ********56"),
    ("0905-12-34-56", "********56"),  # a phone in date-like groups is not a date
    ("2026-12-06-0905", "**********05"),
])
def test_a_date_beside_a_number_keeps_the_number_masked(text, masked):
    assert mask_personal_data(text) == masked


def test_a_traceback_is_masked_too():
    try:
        raise ValueError("không tìm thấy hồ sơ của 0905-123-456")
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "lỗi với %s", ("052190001234",), sys.exc_info())
    line = MaskingFormatter("%(message)s").format(record)
    assert "0905-123-456" not in line and "052190001234" not in line and "Traceback" in line and "**56" in line


def test_sql_errors_do_not_carry_bound_parameters(tmp_path):
    async def fail() -> str:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
        try:
            async with engine.begin() as conn:
                await conn.execute(text("CREATE TABLE t (phone TEXT UNIQUE)"))
                await conn.execute(text("INSERT INTO t VALUES (:p)"), {"p": "0905123456"})
                await conn.execute(text("INSERT INTO t VALUES (:p)"), {"p": "0905123456"})
        except Exception as exc:  # the IntegrityError as it would be logged
            return str(exc)
        finally:
            await engine.dispose()
        return ""

    message = asyncio.run(fail())
    assert "UNIQUE" in message and "0905123456" not in message


@pytest.mark.slow  # starts Rasa's and rasa-sdk's command lines
@pytest.mark.parametrize("command", [
    ["motcua.actions_run", "--actions", "khong_co_0905123456", "--port", "1"],
    ["motcua.rasa_run", "data", "validate", "--domain", "/nonexistent/khong_0905123456.yml", "--data", "/nonexistent"],
], ids=["action server", "rasa"])
def test_rasa_and_the_action_server_print_nothing_in_clear(command):
    """The two entry points `motcua run` and `motcua serve` use mask the process's own output before
    Rasa or rasa-sdk set up their logging: here each prints a path or module name with a phone number."""
    out = subprocess.run([ENGINE_PYTHON, "-m", *command], cwd=PROJECT_ROOT, capture_output=True, text=True,
                         timeout=180)
    both = out.stdout + out.stderr
    assert "********56" in both and "0905123456" not in both, both[-2000:]


@pytest.mark.slow  # starts the action server's command line
def test_the_action_server_entry_point_runs_rasa_sdk():
    out = subprocess.run([ENGINE_PYTHON, "-m", "motcua.actions_run", "--help"], cwd=PROJECT_ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "--actions" in out.stdout
