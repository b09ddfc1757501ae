"""The gateway in-process: its real app factory on a free local port, driven through aiohttp's test
client; the settings tests start it with."""
from __future__ import annotations

from typing import Any, Mapping, Optional

from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from motcua.settings import Settings

from tests.support.fake_telegram import TOKEN, WEBHOOK_SECRET, FakeTelegram


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
