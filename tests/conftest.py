"""Shared fixtures: databases (SQLite and PostgreSQL), the trained model, running Rasa servers.

The Rasa model is trained once per test session and cached in models/ by the hash of its data;
Rasa and the action server are started once per session as real processes.
"""
from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from motcua import PROJECT_ROOT
from motcua.settings import Settings

# Rasa and the action server run from the engine's environment (.venv) whichever environment runs
# the tests: the gateway's half of the suite runs in .venv-gateway (Makefile), as it serves.
ENGINE_PYTHON = Settings.from_env().engine_python
GATEWAY_PYTHON = Settings.from_env().gateway_python

PG_ADMIN_DSN = os.environ.get("MOTCUA_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
MODELS_DIR = PROJECT_ROOT / "models"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float, proc: subprocess.Popen | None = None, ok=lambda r, body: r.status == 200):
    """Poll a URL until it answers as expected (or the process died, or time ran out)."""

    async def poll() -> bool:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if proc is not None and proc.poll() is not None:
                    return False
                try:
                    async with http.get(url, timeout=aiohttp.ClientTimeout(total=5)) as r:
                        if ok(r, await r.text()):
                            return True
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    pass
                await asyncio.sleep(0.5)
        return False

    return asyncio.run(poll())


# --- markers ---------------------------------------------------------------------------------

# Tests that start whole processes or clusters: slow, whatever fixtures they use.
SLOW_MODULES = {"test_scale", "test_run", "test_admin_retrain", "test_compose"}


def pytest_collection_modifyitems(config, items) -> None:
    """Markers from what a test needs (pyproject.toml lists them; `make test-fast` leaves out
    rasa, browser and slow): `rasa` for a trained model or running Rasa servers, `pg` for the
    PostgreSQL side of a database test, `browser` for headless Chromium, `slow` for whole processes."""
    for item in items:
        needs = set(getattr(item, "fixturenames", ()))
        if needs & {"trained_model", "rasa_servers", "gateway"}:
            item.add_marker(pytest.mark.rasa)
        if "browser" in needs:
            item.add_marker(pytest.mark.browser)
        if "db_url" in needs and "[postgresql" in item.nodeid:
            item.add_marker(pytest.mark.pg)
        if item.module.__name__.rpartition(".")[2] in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


# --- databases -------------------------------------------------------------------------------

def pg_url(name: str, driver: str = "postgresql+asyncpg") -> str:
    """The URL of database `name` on the test server (MOTCUA_TEST_PG_DSN's host, user and password)."""
    return urlsplit(PG_ADMIN_DSN)._replace(scheme=driver, path=f"/{name}").geturl()


async def _create_pg_database() -> str:
    name = f"motcua_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def _drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request, tmp_path):
    """A fresh, empty database of each kind: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
        return
    name = await _create_pg_database()
    try:
        yield pg_url(name)
    finally:
        await _drop_pg_database(name)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"


# --- Rasa ------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def trained_model() -> Path:
    from motcua.training import ensure_model

    return ensure_model(MODELS_DIR)


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


@pytest.fixture(scope="session")
def rasa_servers(trained_model, tmp_path_factory):
    """Real Rasa and action servers on free ports, for the whole session, with their own databases."""
    from motcua.cases_import import import_csv

    rasa_port, action_port = free_port(), free_port()
    logs = tmp_path_factory.mktemp("rasa-logs")
    data = tmp_path_factory.mktemp("rasa-data")
    store_url = f"sqlite+aiosqlite:///{data / 'store.db'}"
    cases_url = f"sqlite+aiosqlite:///{data / 'cases.db'}"
    (data / "dossiers.csv").write_text(TEST_DOSSIERS_CSV, encoding="utf-8")
    asyncio.run(import_csv(data / "dossiers.csv", cases_url))
    env = {**os.environ, "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{action_port}/webhook", "PYTHONUNBUFFERED": "1",
           "HANDOFF_HOURS": "always",  # officials "on duty" whenever the tests run
           "DATABASE_URL": store_url, "CASE_DATABASE_URL": cases_url}
    actions = subprocess.Popen(
        [ENGINE_PYTHON, "-m", "rasa_sdk", "--actions", "actions", "--port", str(action_port)],
        cwd=PROJECT_ROOT, env=env, stdout=open(logs / "actions.log", "wb"), stderr=subprocess.STDOUT,
    )
    rasa = subprocess.Popen(
        [ENGINE_PYTHON, "-m", "rasa", "run", "--enable-api", "--model", str(trained_model),
         "--endpoints", "endpoints.yml", "--credentials", "credentials.yml", "--port", str(rasa_port)],
        cwd=PROJECT_ROOT, env=env, stdout=open(logs / "rasa.log", "wb"), stderr=subprocess.STDOUT,
    )
    try:
        ready = wait_http(
            f"http://127.0.0.1:{rasa_port}/status", 240, rasa, ok=lambda r, body: r.status == 200 and "model_file" in body
        ) and wait_http(f"http://127.0.0.1:{action_port}/health", 60, actions)
        if not ready:
            pytest.fail("Rasa did not start:\n" + (logs / "rasa.log").read_text(errors="replace")[-4000:]
                        + (logs / "actions.log").read_text(errors="replace")[-2000:])
        yield {"rasa_url": f"http://127.0.0.1:{rasa_port}", "action_url": f"http://127.0.0.1:{action_port}",
               "database_url": store_url, "case_database_url": cases_url}
    finally:
        for proc in (rasa, actions):
            proc.terminate()
        for proc in (rasa, actions):
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def make_settings(**overrides) -> Settings:
    # Every test chats from 127.0.0.1: the per-address limit is tested on its own (test_webchat_limits.py).
    return Settings(**{"webchat_rate_per_minute": 0, **overrides})


@pytest.fixture
async def gateway(rasa_servers):
    """The gateway app in-process (its real app factory), talking to the session's Rasa,
    sharing the store with the session's action server as in production."""
    from bot.app import create_app

    # The test client is the "proxy": say() names each chat's own client address (per-address locks).
    app = create_app(make_settings(database_url=rasa_servers["database_url"], rasa_url=rasa_servers["rasa_url"],
                                   case_database_url=rasa_servers["case_database_url"], dossier_watch_seconds=0,
                                   escalation_check_seconds=0, trusted_proxies=("127.0.0.1",)))
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


def web_id(name: str) -> str:
    """The web chat's sender id for a test's readable chat name: a UUID, as the page makes (the
    same name, the same id, so a test can look its chat up in the store as "web:" + web_id(name))."""
    try:
        return str(uuid.UUID(name))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"motcua-test:{name}"))


async def updates(client: TestClient, sender: str, after=None) -> dict:
    """What the page's poll gets: the chat named in the X-Webchat-Sender header, never in the URL."""
    params = {} if after is None else {"after": str(after)}
    resp = await client.get("/webchat/updates", params=params, headers={"X-Webchat-Sender": web_id(sender)})
    assert resp.status == 200, await resp.text()
    return await resp.json()


def address_of(sender: str) -> str:
    """A chat's own client address (10.x.y.z, the same for the same chat): citizens are not all
    behind one address, so the per-address lookup lock of one test does not hold for the others."""
    digest = uuid.uuid5(uuid.NAMESPACE_URL, f"motcua-test-address:{sender}").bytes
    return f"10.{digest[0]}.{digest[1]}.{digest[2]}"


async def say(client: TestClient, text: str, sender: str = "tester", address: Optional[str] = None) -> list[dict]:
    """One web chat turn: the replies as the page receives them. The chat's client address goes in
    X-Forwarded-For (believed from a trusted proxy, as the `gateway` fixture's 127.0.0.1 is)."""
    resp = await client.post("/webchat/messages", json={"sender": web_id(sender), "message": text},
                             headers={"X-Forwarded-For": address or address_of(sender)})
    assert resp.status == 200, await resp.text()
    return await resp.json()


# --- Browser -----------------------------------------------------------------------------------

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Headless Debian chromium; no background networking (the machine has no internet).
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


@pytest.fixture
async def browser():
    """Debian's chromium driven by Playwright (`make test` installs chromium when it is missing)."""
    from playwright.async_api import async_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()
