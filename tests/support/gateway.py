"""The gateway in-process: its real app factory on a free local port, driven through aiohttp's test
client; the settings tests start it with."""
from __future__ import annotations

from typing import Any, Mapping, Optional

from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from motcua.settings import Settings

from tests.support.fake_telegram import TOKEN, WEBHOOK_SECRET, FakeTelegram
from tests.support.fake_zalo import SECRET as ZALO_SECRET
from tests.support.fake_zalo import TOKEN as ZALO_TOKEN
from tests.support.fake_zalo import FakeZalo


def make_settings(**overrides: Any) -> Settings:
    # Every test chats from 127.0.0.1: the per-address limit is tested on its own (test_webchat_limits.py).
    return Settings(**{"webchat_rate_per_minute": 0, **overrides})


def telegram_settings(fake: FakeTelegram, **overrides: Any) -> Settings:
    """make_settings with the Telegram webhook on, the Bot API being `fake`."""
    return make_settings(telegram_bot_token=TOKEN, telegram_webhook_secret=WEBHOOK_SECRET,
                         telegram_webhook_url="https://bot.example.invalid/telegram/webhook",
                         telegram_api_base_url=fake.base_url, **overrides)


async def start_gateway(settings: Settings, items: Optional[Mapping[Any, Any]] = None) -> TestClient:
    """The gateway app (bot.app.create_app) serving on a free port, started (its start-up tasks
    run: migrations, channels); `items` are set on the app before it starts. Close the client."""
    app = create_app(settings)
    for key, value in (items or {}).items():
        app[key] = value
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def telegram_gateway(fake: FakeTelegram, rasa_servers: Mapping[str, str],
                           database_url: Optional[str] = None) -> TestClient:
    """The gateway with Telegram on (the Bot API being `fake`), talking to the session's Rasa."""
    return await start_gateway(telegram_settings(
        fake, database_url=database_url or rasa_servers["database_url"], rasa_url=rasa_servers["rasa_url"],
        case_database_url=rasa_servers["case_database_url"], dossier_watch_seconds=0, outbox_seconds=0))


async def zalo_gateway(fake: FakeZalo, rasa_servers: Mapping[str, str]) -> TestClient:
    """The gateway with the Zalo Bot Platform's webhook on (the API being `fake`), talking to the
    session's Rasa."""
    return await start_gateway(make_settings(
        database_url=rasa_servers["database_url"], rasa_url=rasa_servers["rasa_url"],
        case_database_url=rasa_servers["case_database_url"], dossier_watch_seconds=0,
        zalo_bot_token=ZALO_TOKEN, zalo_webhook_secret=ZALO_SECRET,
        zalo_webhook_url="https://bot.example.invalid/zalo/webhook", zalo_api_base_url=fake.base_url))
