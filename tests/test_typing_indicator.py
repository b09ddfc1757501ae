""""typing…" only while an answer is slow (Telegram and Zalo, fake Rasa answering fast or slowly):
a quick answer sends no chat action; a slow one shows it once, before the reply."""
import asyncio

import pytest

from bot.inbox import TASKS

from tests.support import fake_rasa, fake_zalo
from tests.support.fake_telegram import WEBHOOK_SECRET, text_update
from tests.support.gateway import make_settings, start_gateway, telegram_settings


async def settle(app) -> None:
    while app[TASKS]:
        await asyncio.gather(*list(app[TASKS]))


@pytest.mark.parametrize("rasa_seconds, typing", [(0.0, False), (0.6, True)])
async def test_telegram_shows_typing_only_for_a_slow_answer(fake_tg, sqlite_url, rasa_seconds, typing):
    async with fake_rasa.running(latency=(rasa_seconds, rasa_seconds)) as rasa:
        client = await start_gateway(telegram_settings(
            fake_tg, database_url=sqlite_url, rasa_url=rasa.base_url, dossier_watch_seconds=0,
            escalation_check_seconds=0, outbox_seconds=0, typing_after_seconds=0.2))
        try:
            resp = await client.post("/telegram/webhook", json=text_update(4_400_001, "xin chào"),
                                     headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})
            assert resp.status == 200
            await settle(client.server.app)
        finally:
            await client.close()
    methods = [m for m in fake_tg.methods() if m in ("sendChatAction", "sendMessage")]
    assert methods == (["sendChatAction"] if typing else []) + ["sendMessage"] * 3


@pytest.mark.parametrize("rasa_seconds, typing", [(0.0, False), (0.6, True)])
async def test_zalo_shows_typing_only_for_a_slow_answer(sqlite_url, rasa_seconds, typing):
    async with fake_rasa.running(latency=(rasa_seconds, rasa_seconds)) as rasa, \
            fake_zalo.running("9876:zalo-test") as zalo:
        client = await start_gateway(make_settings(
            database_url=sqlite_url, rasa_url=rasa.base_url, dossier_watch_seconds=0, escalation_check_seconds=0,
            outbox_seconds=0, zalo_bot_token=zalo.token, zalo_webhook_secret="s",
            zalo_webhook_url="https://bot.example.invalid/zalo/webhook", zalo_api_base_url=zalo.base_url,
            typing_after_seconds=0.2))
        try:
            resp = await client.post("/zalo/webhook", json=fake_zalo.text_event("z-typing", "xin chào"),
                                     headers={"X-Bot-Api-Secret-Token": "s"})
            assert resp.status == 200
            await settle(client.server.app)
        finally:
            await client.close()
        methods = [m for m, _ in zalo.calls if m in ("sendChatAction", "sendMessage")]
    assert methods == (["sendChatAction"] if typing else []) + ["sendMessage"] * 3
