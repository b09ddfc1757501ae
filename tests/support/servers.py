"""The bot's servers as processes (tests.support.processes.Process): Rasa, the action server and
`motcua serve …`, on loopback ports; and the dossiers the tests' case databases hold."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

from tests.support.processes import ENGINE_PYTHON, Process

# Dossiers the session's action server can find (phone last 4 digits: 1111, 2222, …).
TEST_DOSSIERS_CSV = """code,procedure_id,applicant_name,phone,received_at,due_at,status,agency,note
000.00.24.H08-261101-0001,ket_hon,Nguyễn Văn An,0905001111,2026-11-01,2099-12-31,processing,UBND xã Hoài Ân,
000.00.24.H08-261101-0002,cap_so_do,Trần Thị Bình,0905002222,2026-10-01,2026-10-20,processing,Văn phòng đăng ký đất đai,Chờ đo đạc
000.00.24.H08-261101-0003,ho_kinh_doanh,Lê Văn Cường,0905003333,2026-11-01,2099-12-31,need_supplement,UBND xã Hoài Ân,Bổ sung hợp đồng thuê mặt bằng
000.00.24.H08-261101-0004,khai_sinh,Phạm Thị Dung,0905004444,2026-11-01,2026-11-02,done,UBND xã Hoài Ân,
000.00.24.H08-261101-0005,chuyen_nhuong_dat,Võ Văn Em,0905005555,2026-11-01,2099-12-31,payment_required,Chi cục Thuế,Nộp thuế thu nhập cá nhân theo thông báo
000.00.24.H08-261101-0006,ket_hon,Đặng Văn Phúc,0905006666,2026-11-01,2099-12-31,processing,UBND xã Hoài Ân,
000.00.24.H08-261101-0107,khai_tu,Ngô Văn Giang,0905007777,2026-11-01,2099-12-31,processing,UBND xã Hoài Ân,
"""


def local(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def rasa_ready(status: int, body: str) -> bool:
    """Rasa's /status once a model is loaded."""
    return status == 200 and "model_file" in body


def rasa_server(name: str, model: Path, port: int, env: dict[str, str], log: Optional[Path],
                token: Optional[str] = None) -> Process:
    """`rasa run --enable-api` on `model`, from the engine's environment, started as `motcua run`
    starts it (motcua/rasa_run.py, with its speed-ups); it calls the action server that
    ACTION_ENDPOINT_URL in `env` names (endpoints.yml). Ready: `await p.ready("/status", …, rasa_ready)`."""
    auth = ["--auth-token", token] if token else []
    return Process(name, [ENGINE_PYTHON, "-m", "motcua.rasa_run", "run", "--enable-api", *auth, "--model", str(model),
                          "--endpoints", "endpoints.yml", "--credentials", "credentials.yml", "--port", str(port)],
                   env, log, local(port))


def action_server(name: str, port: int, env: dict[str, str], log: Optional[Path]) -> Process:
    """The action server (rasa_sdk on actions/), from the engine's environment, started as `motcua
    run` starts it (motcua/actions_run.py). Ready: /health."""
    return Process(name, [ENGINE_PYTHON, "-m", "motcua.actions_run", "--actions", "actions", "--port", str(port)],
                   env, log, local(port))


def motcua_serve(name: str, component: str, port: int, env: dict[str, str], log: Optional[Path]) -> Process:
    """`motcua serve gateway|rasa|actions` (production mode's processes, as in docker-compose.yml)."""
    return Process(name, [sys.executable, "-m", "motcua.cli", "serve", component, "--port", str(port)],
                   env, log, local(port))
