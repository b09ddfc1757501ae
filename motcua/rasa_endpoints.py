"""Rasa's endpoints file, written from the settings: where the action server is, and — in
production mode — the SQL tracker store and the Redis lock store that let several Rasa
replicas serve the same conversations, and the model server they pull the published model from.

Passwords are not written to the file: it refers to environment variables (Rasa substitutes
`${VAR}` in plain scalars), which the command that starts Rasa sets."""
from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import yaml

from motcua.settings import Settings

TRACKER_PASSWORD_VAR = "MOTCUA_TRACKER_STORE_PASSWORD"
LOCK_PASSWORD_VAR = "MOTCUA_LOCK_STORE_PASSWORD"
MODEL_SERVER_TOKEN_VAR = "MOTCUA_MODEL_SERVER_TOKEN"
# Rasa's SQL tracker store names dialects as SQLAlchemy does (psycopg2 for PostgreSQL).
_SQL_DIALECTS = {"postgresql": "postgresql", "postgres": "postgresql", "postgresql+psycopg2": "postgresql",
                 "sqlite": "sqlite"}


def tracker_store(url: str) -> tuple[dict[str, Any], dict[str, str]]:
    """RASA_TRACKER_STORE_URL → Rasa's `tracker_store` section, and the env it needs."""
    parts = urlsplit(url)
    dialect = _SQL_DIALECTS.get(parts.scheme)
    if dialect is None:
        raise ValueError(f"RASA_TRACKER_STORE_URL: unsupported scheme {parts.scheme!r} (use postgresql:// or sqlite:///)")
    if dialect == "sqlite":
        path = parts.path[1:] if parts.path.startswith("//") else parts.path.lstrip("/")
        return {"type": "SQL", "dialect": "sqlite", "db": unquote(path)}, {}
    section: dict[str, Any] = {"type": "SQL", "dialect": "postgresql", "url": parts.hostname or "127.0.0.1",
                               "port": parts.port or 5432, "db": unquote(parts.path.lstrip("/")) or "rasa"}
    if parts.query:  # e.g. ?sslmode=require for a managed PostgreSQL
        section["query"] = dict(parse_qsl(parts.query))
    env = {}
    if parts.username:
        section["username"] = unquote(parts.username)
    if parts.password:
        section["password"] = "${%s}" % TRACKER_PASSWORD_VAR
        env[TRACKER_PASSWORD_VAR] = unquote(parts.password)
    return section, env


def lock_store(url: str) -> tuple[dict[str, Any], dict[str, str]]:
    """RASA_LOCK_STORE_URL (redis://[:password@]host:port/db) → Rasa's `lock_store` section."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"RASA_LOCK_STORE_URL: unsupported scheme {parts.scheme!r} (use redis://)")
    section: dict[str, Any] = {"type": "redis", "url": parts.hostname or "127.0.0.1", "port": parts.port or 6379,
                               "db": int(parts.path.lstrip("/") or 0), "key_prefix": "motcua",
                               "use_ssl": parts.scheme == "rediss"}
    env = {}
    if parts.username:  # a Redis ACL user
        section["username"] = unquote(parts.username)
    if parts.password:
        section["password"] = "${%s}" % LOCK_PASSWORD_VAR
        env[LOCK_PASSWORD_VAR] = unquote(parts.password)
    return section, env


def write_endpoints(settings: Settings, dest: Path) -> dict[str, str]:
    """Writes Rasa's endpoints file to `dest`; returns the environment Rasa must be started with."""
    # The domain (~100 kB of JSON) goes only to the actions that read it, the forms' validate_*
    # ones (Rasa's selective domain): building and parsing it was a share of every action call.
    config: dict[str, Any] = {"action_endpoint": {"url": settings.action_server_url, "enable_selective_domain": True}}
    env: dict[str, str] = {}
    if settings.rasa_tracker_store_url:
        config["tracker_store"], extra = tracker_store(settings.rasa_tracker_store_url)
        env.update(extra)
    if settings.rasa_lock_store_url:
        config["lock_store"], extra = lock_store(settings.rasa_lock_store_url)
        env.update(extra)
    if settings.model_server_url:
        # Rasa's model-server protocol (bot/model_server.py); the token is Rasa's own API token.
        config["models"] = {"url": settings.model_server_url, "token": "${%s}" % MODEL_SERVER_TOKEN_VAR,
                            "wait_time_between_pulls": max(1, int(settings.model_pull_seconds))}
        env[MODEL_SERVER_TOKEN_VAR] = settings.rasa_token or ""
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text("# Written by motcua from the settings (RASA_TRACKER_STORE_URL, RASA_LOCK_STORE_URL,\n"
                    "# ACTION_ENDPOINT_URL, MODEL_SERVER_URL) each time Rasa starts; edit those, not this file.\n"
                    + yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return env
