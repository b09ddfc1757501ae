"""Fixtures and markers. Helpers the tests import are in tests/support/.

The Rasa model is trained once per test session and cached in models/ by the hash of its data;
Rasa and the action server are started once per session as real processes.
"""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from motcua import PROJECT_ROOT
from motcua.store import Database

from tests.support import fake_telegram
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.databases import copy_sqlite, create_pg_database, drop_pg_database, migrated_sqlite_store, pg_url
from tests.support.processes import NotReady, free_port, stop_all
from tests.support.servers import TEST_DOSSIERS_CSV, action_server, rasa_ready, rasa_server

# --- markers ---------------------------------------------------------------------------------

# Tests that start whole processes or clusters: slow, whatever fixtures they use.
SLOW_MODULES = {"test_scale", "test_run", "test_admin_retrain", "test_compose", "test_sent_once"}


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

@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request, tmp_path):
    """A fresh, empty database of each kind: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
        return
    name = await create_pg_database()
    try:
        yield pg_url(name)
    finally:
        await drop_pg_database(name)


@pytest.fixture(scope="session")
def store_template(tmp_path_factory) -> Path:
    """A SQLite file with the bot's store schema at its head, migrated once per session."""
    return migrated_sqlite_store(tmp_path_factory.mktemp("store-template") / "store.db")


@pytest.fixture
def store_url(db_url, store_template) -> str:
    """A fresh database of each kind for a gateway's store: on SQLite a copy of the session's
    migrated store (the gateway's migration at start finds nothing left to do), on PostgreSQL the
    new, empty database (the gateway migrates it at start)."""
    if db_url.startswith("sqlite"):
        copy_sqlite(store_template, db_url)
    return db_url


@pytest.fixture
async def db(db_url):
    """The bot's store on a fresh database of each kind, migrated: for tests of its queries."""
    database = Database(db_url)
    await database.migrate()
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def sqlite_url(tmp_path, store_template) -> str:
    """A SQLite store for a gateway, as store_url's."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    copy_sqlite(store_template, url)
    return url


# --- Rasa ------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def trained_model() -> Path:
    from motcua.training import ensure_model

    return ensure_model(PROJECT_ROOT / "models")


@pytest.fixture(scope="session")
def rasa_servers(trained_model, tmp_path_factory):
    """Real Rasa and action servers on free ports, for the whole session, with their own databases."""
    from motcua.cases_import import import_csv

    logs = tmp_path_factory.mktemp("rasa-logs")
    data = tmp_path_factory.mktemp("rasa-data")
    store_url = f"sqlite+aiosqlite:///{data / 'store.db'}"
    cases_url = f"sqlite+aiosqlite:///{data / 'cases.db'}"
    (data / "dossiers.csv").write_text(TEST_DOSSIERS_CSV, encoding="utf-8")
    asyncio.run(import_csv(data / "dossiers.csv", cases_url))
    action_port = free_port()
    env = {**os.environ, "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{action_port}/webhook", "PYTHONUNBUFFERED": "1",
           "HANDOFF_HOURS": "always",  # officials "on duty" whenever the tests run
           "DATABASE_URL": store_url, "CASE_DATABASE_URL": cases_url}
    actions = action_server("actions", action_port, env, logs / "actions.log").start()
    rasa = rasa_server("rasa", trained_model, free_port(), env, logs / "rasa.log").start()
    try:
        try:
            rasa.wait_ready("/status", 240, rasa_ready)
            actions.wait_ready("/health", 60)
        except NotReady as exc:
            pytest.fail(f"Rasa did not start: {exc}")
        yield {"rasa_url": rasa.url, "action_url": actions.url, "database_url": store_url, "case_database_url": cases_url}
    finally:
        stop_all([rasa, actions], grace=20)


@pytest.fixture
async def gateway(rasa_servers):
    """The gateway app in-process (its real app factory), talking to the session's Rasa,
    sharing the store with the session's action server as in production."""
    # Imported here: the gateway's code needs the gateway's aiohttp, and the engine's half of the
    # suite (tests/engine, in .venv) loads this file too.
    from tests.support.gateway import make_settings, start_gateway

    # The test client is the "proxy": say() names each chat's own client address (per-address locks).
    client = await start_gateway(make_settings(
        database_url=rasa_servers["database_url"], rasa_url=rasa_servers["rasa_url"],
        case_database_url=rasa_servers["case_database_url"], dossier_watch_seconds=0, escalation_check_seconds=0,
        trusted_proxies=("127.0.0.1",)))
    try:
        yield client
    finally:
        await client.close()


# --- channels ----------------------------------------------------------------------------------

@pytest.fixture
async def fake_tg():
    """A fake Telegram Bot API on a free local port, knowing the bot by fake_telegram.TOKEN."""
    async with fake_telegram.running(fake_telegram.TOKEN) as fake:
        yield fake


@pytest.fixture
async def tg(fake_tg, rasa_servers):
    """The gateway with Telegram on, against the fake Bot API: (client, fake)."""
    from tests.support.gateway import telegram_gateway  # the gateway's environment only (see `gateway`)

    client = await telegram_gateway(fake_tg, rasa_servers)
    yield client, fake_tg
    await client.close()


@pytest.fixture
async def zalo(rasa_servers):
    """The gateway with the Zalo Bot Platform on, against a fake Zalo API: (client, fake)."""
    from aiohttp.test_utils import TestServer

    from tests.support.fake_zalo import TOKEN, FakeZalo
    from tests.support.gateway import zalo_gateway

    fake = FakeZalo(TOKEN)
    server = TestServer(fake.app)
    await server.start_server()
    fake.base_url = str(server.make_url("")).rstrip("/")
    client = await zalo_gateway(fake, rasa_servers)
    yield client, fake
    await client.close()
    await server.close()


# --- browser -----------------------------------------------------------------------------------

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
