"""One settings object, read from the environment (names fixed by the contract)."""
from __future__ import annotations

import ipaddress
import os
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional
from urllib.parse import urlsplit

from motcua import PROJECT_ROOT


def _opt(env: Mapping[str, str], name: str) -> Optional[str]:
    value = env.get(name, "").strip()
    return value or None


def _venv_python(venv: str) -> str:
    """The interpreter of the checkout's environment `venv` when it exists, else this one."""
    path = PROJECT_ROOT / venv / "bin" / "python"
    return str(path) if path.exists() else sys.executable


def _networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated addresses or ranges (10.0.0.5, 10.244.0.0/16), checked at start."""
    values = tuple(a.strip() for a in env.get(name, "").split(",") if a.strip())
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(f"{name}: {value!r} is neither an IP address nor a range such as 10.0.0.0/8") from None
    return values


def _num(env: Mapping[str, str], name: str, default: float) -> float:
    """A number from the environment; unset or empty (`X=` in an env file) means the default."""
    value = env.get(name, "").strip()
    try:
        return float(value) if value else default
    except ValueError:
        raise ValueError(f"{name} must be a number, not {value!r}") from None


@dataclass(frozen=True)
class Settings:
    port: int = 8080
    database_url: str = "sqlite+aiosqlite:///var/motcua.db"
    case_database_url: str = "sqlite+aiosqlite:///var/cases.db"
    # YAML mapping of a provincial system's table/view to our fields (read-only mode).
    case_database_mapping: Optional[str] = None
    rasa_url: str = "http://127.0.0.1:5005"
    # Every Rasa server the gateway balances across (RASA_URLS, comma-separated); default: rasa_url.
    rasa_urls: tuple[str, ...] = ()
    # Instead, a DNS name with one address per Rasa replica (RASA_SERVICE, e.g. Kubernetes' headless
    # Service http://motcua-rasa-headless:5005), resolved again every RASA_REFRESH_SECONDS.
    rasa_service: Optional[str] = None
    rasa_refresh_seconds: float = 10.0
    # Rasa's tracker store (postgresql://user:pw@host:port/db → SQL) and lock store (redis://host:port/db).
    # Unset: in memory, which is right for one Rasa process only.
    rasa_tracker_store_url: Optional[str] = field(default=None, repr=False)
    rasa_lock_store_url: Optional[str] = field(default=None, repr=False)
    # Trackers kept in memory (no tracker store URL) are dropped after this long without a message:
    # Rasa kept every one for the life of the process (~4 KB a turn). 0: kept for ever.
    rasa_memory_tracker_hours: float = 24.0
    action_server_url: str = "http://127.0.0.1:5055/webhook"
    # Where Rasa pulls its model from (MODEL_SERVER_URL: a gateway's /models/serving), every
    # MODEL_PULL_SECONDS; unset, Rasa serves a model file from MOTCUA_MODELS_DIR.
    model_server_url: Optional[str] = None
    model_pull_seconds: float = 10.0
    models_dir: Path = PROJECT_ROOT / "models"
    # Where admins' annotations and FAQ files go (default: beside the training data, in nlu/data/);
    # with several gateways, a folder they share.
    admin_data_dir: Optional[Path] = None
    telegram_bot_token: Optional[str] = None
    telegram_webhook_secret: Optional[str] = None
    telegram_webhook_url: Optional[str] = None
    telegram_api_base_url: str = "https://api.telegram.org"
    telegram_officials_chat_id: Optional[str] = None
    zalo_bot_token: Optional[str] = None
    zalo_webhook_secret: Optional[str] = None
    zalo_webhook_url: Optional[str] = None
    zalo_api_base_url: str = "https://bot-api.zaloplatforms.com"
    zalo_oa_app_id: Optional[str] = None
    zalo_oa_secret_key: Optional[str] = None
    zalo_oa_access_token: Optional[str] = None
    zalo_oa_api_base_url: str = "https://openapi.zalo.me"
    # Refreshing the OA access token (OAuth v4) needs the app's secret and a refresh token.
    zalo_oa_app_secret: Optional[str] = field(default=None, repr=False)
    zalo_oa_refresh_token: Optional[str] = field(default=None, repr=False)
    zalo_oa_oauth_base_url: str = "https://oauth.zaloapp.com"
    # Customer-service messages are allowed this long after the citizen's last message.
    zalo_oa_reply_window_hours: float = 168.0
    admin_password: Optional[str] = field(default=None, repr=False)
    # Longest citizen message passed on to Rasa; longer ones get a polite reply instead.
    max_message_chars: int = 2000
    rasa_timeout_seconds: float = 30.0
    # "typing…" is shown only when an answer takes longer than this (Telegram, Zalo): a quick answer
    # needs none, and it was one platform call of every turn.
    typing_after_seconds: float = 0.8
    # Rasa's HTTP API token (`rasa run --auth-token`); `motcua run` makes one when unset.
    rasa_token: Optional[str] = field(default=None, repr=False)
    # How often followed dossiers are checked for changes (0: never, e.g. on extra replicas).
    dossier_watch_seconds: float = 60.0
    # How often complaint deadlines are checked for warnings and escalation (0: never).
    escalation_check_seconds: float = 300.0
    # How often new tickets are posted to the officials' Telegram group (0: never).
    officials_feed_seconds: float = 5.0
    # How often replies a platform refused are sent again (0: never).
    outbox_seconds: float = 15.0
    # When officials take chats over ("HH:MM-HH:MM" on working days, or "always").
    handoff_hours: str = "07:30-16:30"
    # This gateway's name among replicas (GATEWAY_ID; default host:port, the same after a restart):
    # a restarted gateway takes up the updates it had accepted; another gateway takes them up once
    # this one has been silent for gateway_dead_after_seconds.
    gateway_id: str = ""
    gateway_dead_after_seconds: float = 60.0
    # Keys that may file complaints through Open311 (POST /open311/v2/requests.json); none: nobody.
    open311_api_keys: tuple[str, ...] = field(default=(), repr=False)
    # Web chat messages accepted per client address per minute, counted in the store so that every
    # gateway agrees (0: no limit, for tests and load benches).
    webchat_rate_per_minute: int = 30
    # Largest web chat request body read, in bytes (a message is at most max_message_chars anyway).
    webchat_max_body: int = 16384
    # The reverse proxies whose X-Forwarded-For names the client (TRUSTED_PROXIES, comma-separated
    # addresses); any other peer is the client itself.
    trusted_proxies: tuple[str, ...] = ()
    # Each process runs from its own environment (Makefile): Rasa, the action server and training
    # from the engine's (Rasa 3.6 and its pins), the public gateway from its own with current,
    # patched packages (MOTCUA_ENGINE_PYTHON, MOTCUA_GATEWAY_PYTHON; the image sets both).
    engine_python: str = field(default_factory=lambda: _venv_python(".venv"))
    gateway_python: str = field(default_factory=lambda: _venv_python(".venv-gateway"))

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "Settings":
        env = os.environ if env is None else env
        d = cls()
        return cls(
            port=int(_num(env, "PORT", d.port)),
            database_url=_opt(env, "DATABASE_URL") or d.database_url,
            case_database_url=_opt(env, "CASE_DATABASE_URL") or d.case_database_url,
            case_database_mapping=_opt(env, "CASE_DATABASE_MAPPING"),
            rasa_url=(_opt(env, "RASA_URL") or d.rasa_url).rstrip("/"),
            rasa_urls=tuple(u.strip().rstrip("/") for u in env.get("RASA_URLS", "").split(",") if u.strip()),
            rasa_service=_opt(env, "RASA_SERVICE"),
            rasa_refresh_seconds=_num(env, "RASA_REFRESH_SECONDS", d.rasa_refresh_seconds),
            rasa_tracker_store_url=_opt(env, "RASA_TRACKER_STORE_URL"),
            rasa_lock_store_url=_opt(env, "RASA_LOCK_STORE_URL"),
            action_server_url=_opt(env, "ACTION_ENDPOINT_URL") or d.action_server_url,
            model_server_url=_opt(env, "MODEL_SERVER_URL"),
            model_pull_seconds=_num(env, "MODEL_PULL_SECONDS", d.model_pull_seconds),
            models_dir=Path(_opt(env, "MOTCUA_MODELS_DIR") or d.models_dir),
            admin_data_dir=Path(v) if (v := _opt(env, "MOTCUA_ADMIN_DATA_DIR")) else None,
            telegram_bot_token=_opt(env, "TELEGRAM_BOT_TOKEN"),
            telegram_webhook_secret=_opt(env, "TELEGRAM_WEBHOOK_SECRET"),
            telegram_webhook_url=_opt(env, "TELEGRAM_WEBHOOK_URL"),
            telegram_api_base_url=(_opt(env, "TELEGRAM_API_BASE_URL") or d.telegram_api_base_url).rstrip("/"),
            telegram_officials_chat_id=_opt(env, "TELEGRAM_OFFICIALS_CHAT_ID"),
            zalo_bot_token=_opt(env, "ZALO_BOT_TOKEN"),
            zalo_webhook_secret=_opt(env, "ZALO_WEBHOOK_SECRET"),
            zalo_webhook_url=_opt(env, "ZALO_WEBHOOK_URL"),
            zalo_api_base_url=(_opt(env, "ZALO_API_BASE_URL") or d.zalo_api_base_url).rstrip("/"),
            zalo_oa_app_id=_opt(env, "ZALO_OA_APP_ID"),
            zalo_oa_secret_key=_opt(env, "ZALO_OA_SECRET_KEY"),
            zalo_oa_access_token=_opt(env, "ZALO_OA_ACCESS_TOKEN"),
            zalo_oa_api_base_url=(_opt(env, "ZALO_OA_API_BASE_URL") or d.zalo_oa_api_base_url).rstrip("/"),
            zalo_oa_app_secret=_opt(env, "ZALO_OA_APP_SECRET"),
            zalo_oa_refresh_token=_opt(env, "ZALO_OA_REFRESH_TOKEN"),
            zalo_oa_oauth_base_url=(_opt(env, "ZALO_OA_OAUTH_BASE_URL") or d.zalo_oa_oauth_base_url).rstrip("/"),
            zalo_oa_reply_window_hours=_num(env, "ZALO_OA_REPLY_WINDOW_HOURS", d.zalo_oa_reply_window_hours),
            admin_password=_opt(env, "MOTCUA_ADMIN_PASSWORD"),
            rasa_token=_opt(env, "RASA_TOKEN"),
            rasa_memory_tracker_hours=_num(env, "RASA_MEMORY_TRACKER_HOURS", d.rasa_memory_tracker_hours),
            typing_after_seconds=_num(env, "TYPING_AFTER_SECONDS", d.typing_after_seconds),
            dossier_watch_seconds=_num(env, "DOSSIER_WATCH_SECONDS", d.dossier_watch_seconds),
            escalation_check_seconds=_num(env, "ESCALATION_CHECK_SECONDS", d.escalation_check_seconds),
            officials_feed_seconds=_num(env, "OFFICIALS_FEED_SECONDS", d.officials_feed_seconds),
            outbox_seconds=_num(env, "OUTBOX_SECONDS", d.outbox_seconds),
            handoff_hours=_opt(env, "HANDOFF_HOURS") or d.handoff_hours,
            gateway_id=_opt(env, "GATEWAY_ID") or d.gateway_id,
            gateway_dead_after_seconds=_num(env, "GATEWAY_DEAD_AFTER_SECONDS", d.gateway_dead_after_seconds),
            open311_api_keys=tuple(k.strip() for k in env.get("OPEN311_API_KEYS", "").split(",") if k.strip()),
            webchat_rate_per_minute=int(_num(env, "WEBCHAT_RATE_PER_MINUTE", d.webchat_rate_per_minute)),
            webchat_max_body=int(_num(env, "WEBCHAT_MAX_BODY", d.webchat_max_body)),
            trusted_proxies=_networks(env, "TRUSTED_PROXIES"),
            engine_python=_opt(env, "MOTCUA_ENGINE_PYTHON") or d.engine_python,
            gateway_python=_opt(env, "MOTCUA_GATEWAY_PYTHON") or d.gateway_python,
        )

    @property
    def instance_id(self) -> str:
        """This gateway among replicas: GATEWAY_ID, else host:port (the same after a restart)."""
        return self.gateway_id or f"{socket.gethostname()}:{self.port}"

    @property
    def rasa_servers(self) -> tuple[str, ...]:
        """The Rasa servers to talk to: RASA_URLS when set, else RASA_URL."""
        return self.rasa_urls or (self.rasa_url,)

    @property
    def rasa_port(self) -> int:
        return urlsplit(self.rasa_url).port or 5005

    @property
    def rasa_host(self) -> str:
        """The interface Rasa binds to: loopback unless RASA_URL names another address."""
        return _bind_host(self.rasa_url)

    @property
    def action_server_host(self) -> str:
        return _bind_host(self.action_server_url)

    @property
    def action_server_port(self) -> int:
        return urlsplit(self.action_server_url).port or 5055


def _bind_host(url: str) -> str:
    host = urlsplit(url).hostname or "127.0.0.1"
    return "127.0.0.1" if host == "localhost" else host
