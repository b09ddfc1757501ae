"""Rasa's endpoints file written from the settings: the sections it holds, passwords kept out of
the file, and Rasa itself reading it (env substitution, real tracker and lock stores)."""
from __future__ import annotations

import uuid

import pytest
import yaml

from motcua.rasa_endpoints import (
    LOCK_PASSWORD_VAR,
    MODEL_SERVER_TOKEN_VAR,
    TRACKER_PASSWORD_VAR,
    lock_store,
    tracker_store,
    write_endpoints,
)
from motcua.settings import Settings

PG_PASSWORD = "p@ss:w/rd%20?#"
PG_URL = "postgresql://motcua%40corp:p%40ss%3Aw%2Frd%2520%3F%23@db.example.vn:6543/rasa_prod"
REDIS_PASSWORD = "r3d!s p@ss"
REDIS_URL = "redis://:r3d%21s%20p%40ss@cache.example.vn:6380/2"
ACTION_URL = "http://127.0.0.1:5055/webhook"


def written(dest) -> dict:
    return yaml.safe_load(dest.read_text(encoding="utf-8"))


# --- tracker_store ---------------------------------------------------------------------------

def test_postgresql_url_becomes_an_sql_section_with_the_password_in_env_only():
    section, env = tracker_store(PG_URL)
    assert section == {
        "type": "SQL", "dialect": "postgresql", "url": "db.example.vn", "port": 6543, "db": "rasa_prod",
        "username": "motcua@corp", "password": "${MOTCUA_TRACKER_STORE_PASSWORD}",
    }
    assert env == {TRACKER_PASSWORD_VAR: PG_PASSWORD}


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg2"])
def test_postgresql_scheme_aliases_give_the_postgresql_dialect(scheme):
    section, _ = tracker_store(f"{scheme}://u@h:5433/d")
    assert section["dialect"] == "postgresql"
    assert (section["url"], section["port"], section["db"], section["username"]) == ("h", 5433, "d", "u")


def test_postgresql_defaults_for_host_port_and_database():
    section, env = tracker_store("postgresql://")
    assert section == {"type": "SQL", "dialect": "postgresql", "url": "127.0.0.1", "port": 5432, "db": "rasa"}
    assert env == {}


def test_postgresql_without_password_needs_no_env():
    section, env = tracker_store("postgresql://postgres@127.0.0.1/test")
    assert "password" not in section
    assert section["username"] == "postgres"
    assert env == {}


def test_sqlite_relative_path():
    assert tracker_store("sqlite:///var/rasa.db") == ({"type": "SQL", "dialect": "sqlite", "db": "var/rasa.db"}, {})


def test_sqlite_absolute_path():
    assert tracker_store("sqlite:////srv/motcua/var/rasa tracker.db") == (
        {"type": "SQL", "dialect": "sqlite", "db": "/srv/motcua/var/rasa tracker.db"}, {})


def test_sqlite_percent_encoded_path_is_decoded():
    section, _ = tracker_store("sqlite:////srv/h%E1%BB%93%20s%C6%A1.db")
    assert section["db"] == "/srv/hồ sơ.db"


@pytest.mark.parametrize("url", ["mysql://u:p@h/db", "mongodb://h/db", "redis://h:6379/0", "http://h/x",
                                 "postgresql+asyncpg://u@h/db", "sqlite+aiosqlite:///x.db", "/var/rasa.db", ""])
def test_tracker_store_rejects_unsupported_schemes(url):
    with pytest.raises(ValueError, match="RASA_TRACKER_STORE_URL"):
        tracker_store(url)


# --- lock_store ------------------------------------------------------------------------------

def test_redis_url_with_db_index_and_password():
    section, env = lock_store(REDIS_URL)
    assert section == {
        "type": "redis", "url": "cache.example.vn", "port": 6380, "db": 2, "key_prefix": "motcua",
        "use_ssl": False, "password": "${MOTCUA_LOCK_STORE_PASSWORD}",
    }
    assert env == {LOCK_PASSWORD_VAR: REDIS_PASSWORD}


def test_redis_defaults_for_host_port_and_db():
    section, env = lock_store("redis://")
    assert section == {"type": "redis", "url": "127.0.0.1", "port": 6379, "db": 0, "key_prefix": "motcua",
                       "use_ssl": False}
    assert env == {}


def test_rediss_means_ssl():
    section, _ = lock_store("rediss://cache.example.vn:6379/1")
    assert section["use_ssl"] is True
    assert (section["url"], section["port"], section["db"]) == ("cache.example.vn", 6379, 1)


@pytest.mark.parametrize("url", ["http://h:6379/0", "memcached://h", "postgresql://h/db", "unix:///tmp/redis.sock",
                                 "127.0.0.1:6379", ""])
def test_lock_store_rejects_unsupported_schemes(url):
    with pytest.raises(ValueError, match="RASA_LOCK_STORE_URL"):
        lock_store(url)


# --- write_endpoints -------------------------------------------------------------------------

def test_without_store_urls_only_the_action_endpoint_is_written(tmp_path):
    dest = tmp_path / "nested" / "dir" / "endpoints.yml"
    env = write_endpoints(Settings(action_server_url=ACTION_URL), dest)
    assert env == {}
    assert written(dest) == {"action_endpoint": {"url": ACTION_URL, "enable_selective_domain": True}}
    assert dest.read_text(encoding="utf-8").startswith("# Written by motcua")


def test_production_settings_write_both_stores_and_keep_passwords_out_of_the_file(tmp_path):
    settings = Settings(action_server_url=ACTION_URL, rasa_tracker_store_url=PG_URL, rasa_lock_store_url=REDIS_URL)
    dest = tmp_path / "endpoints.yml"

    env = write_endpoints(settings, dest)

    assert env == {TRACKER_PASSWORD_VAR: PG_PASSWORD, LOCK_PASSWORD_VAR: REDIS_PASSWORD}
    config = written(dest)
    assert list(config) == ["action_endpoint", "tracker_store", "lock_store"]
    assert config["tracker_store"] == {
        "type": "SQL", "dialect": "postgresql", "url": "db.example.vn", "port": 6543, "db": "rasa_prod",
        "username": "motcua@corp", "password": "${MOTCUA_TRACKER_STORE_PASSWORD}",
    }
    assert config["lock_store"]["password"] == "${MOTCUA_LOCK_STORE_PASSWORD}"
    text = dest.read_text(encoding="utf-8")
    for secret in (PG_PASSWORD, "p%40ss", "p@ss", REDIS_PASSWORD, "r3d%21s", "r3d!s"):
        assert secret not in text
    # the store URLs (with their passwords) are not shown in the settings' repr either
    assert "p%40ss" not in repr(settings) and "r3d%21s" not in repr(settings)


def test_write_endpoints_rejects_a_bad_store_url(tmp_path):
    with pytest.raises(ValueError):
        write_endpoints(Settings(rasa_lock_store_url="memcached://h"), tmp_path / "endpoints.yml")


def test_rewriting_replaces_the_previous_file(tmp_path):
    dest = tmp_path / "endpoints.yml"
    write_endpoints(Settings(rasa_tracker_store_url=PG_URL), dest)
    write_endpoints(Settings(action_server_url=ACTION_URL), dest)
    assert written(dest) == {"action_endpoint": {"url": ACTION_URL, "enable_selective_domain": True}}


# --- Rasa reads the file ---------------------------------------------------------------------

def rasa_endpoints(dest):
    from rasa.core.utils import read_endpoints_from_path

    return read_endpoints_from_path(str(dest))


def test_rasa_reads_the_file_with_the_passwords_substituted(tmp_path, monkeypatch):
    dest = tmp_path / "endpoints.yml"
    env = write_endpoints(
        Settings(action_server_url=ACTION_URL, rasa_tracker_store_url=PG_URL, rasa_lock_store_url=REDIS_URL), dest)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    endpoints = rasa_endpoints(dest)

    assert endpoints.action.url == ACTION_URL
    assert endpoints.tracker_store.type == "SQL"
    assert endpoints.tracker_store.url == "db.example.vn"
    assert endpoints.tracker_store.kwargs == {"dialect": "postgresql", "port": 6543, "db": "rasa_prod",
                                              "username": "motcua@corp", "password": PG_PASSWORD}
    assert endpoints.lock_store.type == "redis"
    assert endpoints.lock_store.url == "cache.example.vn"
    assert endpoints.lock_store.kwargs == {"port": 6380, "db": 2, "key_prefix": "motcua", "use_ssl": False,
                                           "password": REDIS_PASSWORD}


def test_rasa_refuses_the_file_when_the_password_variable_is_not_set(tmp_path, monkeypatch):
    from rasa.shared.exceptions import RasaException

    dest = tmp_path / "endpoints.yml"
    write_endpoints(Settings(rasa_tracker_store_url=PG_URL), dest)
    monkeypatch.delenv(TRACKER_PASSWORD_VAR, raising=False)
    with pytest.raises(RasaException, match=TRACKER_PASSWORD_VAR):
        rasa_endpoints(dest)


def tracker_for(sender: str):
    from rasa.shared.core.events import BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    return DialogueStateTracker.from_events(sender, [
        UserUttered("xin chào", intent={"name": "greet", "confidence": 1.0}, metadata={"inbox_id": 41}),
        BotUttered("Xin chào! Tôi có thể giúp gì?", data={"buttons": [{"title": "Tra cứu", "payload": "/tra_cuu"}]}),
    ])


async def save_and_retrieve(store, sender: str):
    await store.save(tracker_for(sender))
    retrieved = await store.retrieve(sender)
    assert retrieved is not None
    return [(e.as_dict()["event"], e.as_dict().get("text")) for e in retrieved.events], retrieved


async def test_rasa_creates_a_sqlite_tracker_store_from_an_absolute_path(tmp_path):
    from rasa.core.tracker_store import SQLTrackerStore, TrackerStore

    db_file = tmp_path / "tracker.db"
    dest = tmp_path / "endpoints.yml"
    write_endpoints(Settings(rasa_tracker_store_url=f"sqlite:///{db_file}"), dest)

    store = TrackerStore.create(rasa_endpoints(dest).tracker_store)
    try:
        assert isinstance(store, SQLTrackerStore)
        assert store.engine.url.database == str(db_file)
        events, _ = await save_and_retrieve(store, "web:abc")
        assert events == [("user", "xin chào"), ("bot", "Xin chào! Tôi có thể giúp gì?")]
        assert db_file.exists()
    finally:
        store.engine.dispose()


async def test_rasa_creates_a_sqlite_tracker_store_from_a_relative_path(tmp_path, monkeypatch):
    from rasa.core.tracker_store import SQLTrackerStore, TrackerStore

    monkeypatch.chdir(tmp_path)
    write_endpoints(Settings(rasa_tracker_store_url="sqlite:///tracker.db"), tmp_path / "endpoints.yml")

    store = TrackerStore.create(rasa_endpoints(tmp_path / "endpoints.yml").tracker_store)
    try:
        assert isinstance(store, SQLTrackerStore)
        assert store.engine.url.database == "tracker.db"
        await store.save(tracker_for("web:rel"))
        assert (tmp_path / "tracker.db").exists()
    finally:
        store.engine.dispose()


async def test_rasa_creates_a_postgresql_tracker_store_that_saves_and_retrieves(tmp_path, monkeypatch):
    """Against the local PostgreSQL (trust auth: the substituted password is accepted and unused)."""
    import sqlalchemy as sa
    from rasa.core.tracker_store import SQLTrackerStore, TrackerStore

    dest = tmp_path / "endpoints.yml"
    env = write_endpoints(
        Settings(rasa_tracker_store_url="postgresql://postgres:tr%40ck%3Aer@127.0.0.1:5432/test"), dest)
    assert env == {TRACKER_PASSWORD_VAR: "tr@ck:er"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    endpoint = rasa_endpoints(dest).tracker_store
    assert endpoint.kwargs["password"] == "tr@ck:er"
    store = TrackerStore.create(endpoint)
    sender = f"motcua-test-{uuid.uuid4().hex}"
    try:
        assert isinstance(store, SQLTrackerStore)
        url = store.engine.url
        assert (url.get_backend_name(), url.host, url.port, url.database, url.username, url.password) == (
            "postgresql", "127.0.0.1", 5432, "test", "postgres", "tr@ck:er")
        events, retrieved = await save_and_retrieve(store, sender)
        assert events == [("user", "xin chào"), ("bot", "Xin chào! Tôi có thể giúp gì?")]
        assert retrieved.events[0].metadata == {"inbox_id": 41}
        assert sender in list(await store.keys())
    finally:
        with store.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM events WHERE sender_id = :s"), {"s": sender})
        store.engine.dispose()


def test_rasa_creates_a_redis_lock_store_with_the_motcua_prefix(tmp_path):
    from rasa.core.lock_store import LockStore, RedisLockStore

    dest = tmp_path / "endpoints.yml"
    assert write_endpoints(Settings(rasa_lock_store_url="redis://127.0.0.1:6379/0"), dest) == {}

    store = LockStore.create(rasa_endpoints(dest).lock_store)

    assert isinstance(store, RedisLockStore)
    assert store.key_prefix.startswith("motcua")
    assert store.key_prefix == "motcua:lock:"
    conversation = f"motcua-test-{uuid.uuid4().hex}"
    try:
        store.issue_ticket(conversation)
        assert store.red.exists(f"motcua:lock:{conversation}") == 1
        assert store.get_lock(conversation) is not None
    finally:
        store.delete_lock(conversation)
    assert store.red.exists(f"motcua:lock:{conversation}") == 0
    store.red.close()


def test_a_model_server_makes_rasa_pull_the_published_model_with_its_token_in_env_only(tmp_path):
    settings = Settings(model_server_url="http://motcua-model-server:8080/models/serving", model_pull_seconds=10,
                        rasa_token="s3cret")
    env = write_endpoints(settings, tmp_path / "endpoints.yml")
    text = (tmp_path / "endpoints.yml").read_text(encoding="utf-8")
    assert yaml.safe_load(text)["models"] == {"url": "http://motcua-model-server:8080/models/serving",
                                              "token": "${%s}" % MODEL_SERVER_TOKEN_VAR, "wait_time_between_pulls": 10}
    assert "s3cret" not in text and env == {MODEL_SERVER_TOKEN_VAR: "s3cret"}
    write_endpoints(Settings(), tmp_path / "e2.yml")  # without one, Rasa serves a model file
    assert "models" not in yaml.safe_load((tmp_path / "e2.yml").read_text(encoding="utf-8"))
