"""A promoted model reaches every Rasa replica without a shared volume (issue 17, item 3): the
model files are kept in the store, the gateways serve the published one with Rasa's model-server
protocol (GET /models/serving, ETag / If-None-Match, ?token=), and Rasa replicas started with
MODEL_SERVER_URL pull it — at start, every MODEL_PULL_SECONDS, and at once on PUT /model."""
from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

import aiohttp
import pytest

from bot.state import DB
from motcua.rasa_api import RasaApi
from motcua.rasa_replicas import RasaReplicas
from motcua.retrain import Retrainer, Workspace
from motcua.store import model_files

from tests.support.gateway import make_settings, start_gateway
from tests.support.processes import free_port, stop_all
from tests.support.servers import motcua_serve

TOKEN = "model-server-token"


def two_models(trained_model: Path, folder: Path) -> tuple[Path, Path]:
    """Two model files of different names (the same bytes: what differs for Rasa is the name)."""
    folder.mkdir(parents=True, exist_ok=True)
    a, b = folder / "motcua-aaaaaaaaaaaaaaaa.tar.gz", folder / "motcua-bbbbbbbbbbbbbbbb.tar.gz"
    for path in (a, b):
        shutil.copyfile(trained_model, path)
    return a, b


@pytest.fixture
def model_pair(tmp_path) -> tuple[Path, Path]:
    folder = tmp_path / "models"
    folder.mkdir()
    a, b = folder / "motcua-1111111111111111.tar.gz", folder / "motcua-2222222222222222.tar.gz"
    a.write_bytes(b"model A " * 1000)
    b.write_bytes(b"model B " * 1000)
    return a, b


async def test_the_published_model_is_served_with_rasas_protocol(store_url, tmp_path, model_pair):
    a, b = model_pair
    gateway = await start_gateway(make_settings(database_url=store_url, rasa_token=TOKEN, dossier_watch_seconds=0,
                                                escalation_check_seconds=0))
    try:
        assert (await gateway.get("/models/serving")).status == 401
        assert (await gateway.get("/models/serving", params={"token": "wrong"})).status == 401
        assert (await gateway.get("/models/serving", params={"token": TOKEN})).status == 404  # none yet

        async with gateway.app[DB].session() as session, session.begin():
            assert await model_files.keep(session, a, "base1") == a.name
            assert await model_files.keep(session, a, "base1") == a.name  # kept once
            await model_files.keep(session, b, "base2")
            with pytest.raises(LookupError):
                await model_files.publish(session, "motcua-unknown.tar.gz")
            await model_files.publish(session, a.name)

        resp = await gateway.get("/models/serving", params={"token": TOKEN})
        assert resp.status == 200 and await resp.read() == a.read_bytes()
        assert resp.headers["ETag"] == a.name and resp.headers["filename"] == a.name
        same = await gateway.get("/models/serving", params={"token": TOKEN}, headers={"If-None-Match": a.name})
        assert same.status == 304 and await same.read() == b""

        async with gateway.app[DB].session() as session, session.begin():
            await model_files.publish(session, b.name)
        moved = await gateway.get("/models/serving", params={"token": TOKEN}, headers={"If-None-Match": a.name})
        assert moved.status == 200 and moved.headers["ETag"] == b.name and await moved.read() == b.read_bytes()

        # A deployment's `motcua train --publish`: a model for other data replaces the published one,
        # a model for the same data does not (admins promoted b for base2).
        async with gateway.app[DB].session() as session, session.begin():
            assert await model_files.publish_for_data(session, a, "base2") == b.name
            assert await model_files.publish_for_data(session, a, "base3") == a.name
            assert (await model_files.published(session)).name == a.name
    finally:
        await gateway.close()


async def _serving(api: RasaApi, url: str) -> str | None:
    return await api.serving(url, timeout=3)


async def _until(check, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if await check():
            return time.monotonic() - started
        await asyncio.sleep(0.25)
    raise AssertionError(f"not within {timeout} s")


@pytest.mark.slow
async def test_every_replica_pulls_the_promoted_model_and_a_rollback(tmp_path, trained_model):
    """Two Rasa replicas with no model on disk (their models folder is empty) start on the published
    model; a promotion (publish, then PUT /model on each) reaches both at once; a model published
    without any PUT reaches both by their periodic pull."""
    a, b = two_models(trained_model, tmp_path / "gateway-models")
    settings = make_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}", rasa_token=TOKEN,
                             dossier_watch_seconds=0, escalation_check_seconds=0, models_dir=tmp_path / "gateway-models")
    gateway = await start_gateway(settings)
    async with gateway.app[DB].session() as session, session.begin():
        await model_files.publish(session, await model_files.keep(session, a, "base"))
    empty = tmp_path / "replica-models"
    empty.mkdir()
    env = {**os.environ, "RASA_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1", "MOTCUA_MODELS_DIR": str(empty),
           "MODEL_SERVER_URL": f"http://127.0.0.1:{gateway.server.port}/models/serving", "MODEL_PULL_SECONDS": "1",
           "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}/webhook"}
    replicas = [motcua_serve(f"rasa{n}", "rasa", free_port(), env, tmp_path / f"rasa{n}.log").start() for n in (1, 2)]
    urls = [r.url for r in replicas]
    try:
        async with aiohttp.ClientSession() as http:
            api = RasaApi(http, TOKEN)

            async def all_serve(name: str):
                async def check() -> bool:
                    return all([await _serving(api, u) == name for u in urls])
                return check

            await _until(await all_serve(a.name), 240)
            assert not list(empty.iterdir()), "a replica wrote a model into its own folder"

            # Promotion as the admin page does it: kept and published, then PUT /model on each replica.
            retrainer = Retrainer(gateway.app[DB], http, RasaReplicas(urls), TOKEN, Workspace(settings.models_dir))
            async with gateway.app[DB].session() as session, session.begin():
                await model_files.publish(session, await model_files.keep(session, b, "base"))
            await retrainer.swap(b)
            assert [await _serving(api, u) for u in urls] == [b.name, b.name]

            # Rollback published without any PUT (as if the gateway that promoted died): pulled.
            async with gateway.app[DB].session() as session, session.begin():
                await model_files.publish(session, a.name)
            await _until(await all_serve(a.name), 30)
    finally:
        stop_all(replicas, grace=20)
        await gateway.close()
