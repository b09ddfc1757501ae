"""The web chat's limits (issue 15, item 7), by real requests against the running gateway: bodies
over a few KB refused before they are read, and messages per client address per minute counted in
the store, so that two gateways on one database agree."""
import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot import messages
from motcua.store import Database
from motcua.store.models import Message

from tests.support.chat import web_id
from tests.support.gateway import make_settings, start_gateway
from tests.support.processes import free_port


async def gateway(db_url, **settings) -> TestClient:
    return await start_gateway(make_settings(database_url=db_url, rasa_url=f"http://127.0.0.1:{free_port()}", **settings))


async def stored(db_url) -> int:
    db = Database(db_url)
    async with db.session() as s:
        n = await s.scalar(select(func.count()).select_from(Message).where(Message.direction == "in"))
    await db.dispose()
    return n


async def post_big(client, **kwargs):
    """A body over the limit: the gateway answers 413 without reading it all, so a client still
    writing a very large body may see the connection closed instead of the answer."""
    try:
        resp = await client.post("/webchat/messages", **kwargs)
    except aiohttp.ClientOSError:
        return None
    assert resp.status == 413
    (reply,) = await resp.json()
    assert reply["text"].startswith("Tin nhắn của anh/chị dài quá")
    return resp.status


async def test_a_body_over_a_few_kb_is_refused_unread_and_nothing_is_stored(db_url):
    client = await gateway(db_url)
    try:
        assert await post_big(client, json={"sender": web_id("c1"), "message": "x" * 20_000}) == 413
        await post_big(client, json={"sender": web_id("c1"), "message": "x" * 256_000})

        async def chunks():  # no Content-Length: the body is read only up to the limit
            yield b'{"sender": "' + web_id("c1").encode() + b'", "message": "'
            for _ in range(5):
                yield b"y" * 4096
            yield b'"}'
        assert await post_big(client, data=chunks(), headers={"Content-Type": "application/json"}) == 413
        resp = await client.post("/webchat/messages", json={"sender": web_id("c1"), "message": "xin chào"})
        assert resp.status == 200  # the gateway is still answering
    finally:
        await client.close()
    assert await stored(db_url) == 1


async def test_messages_per_client_address_per_minute_are_shared_by_every_gateway(db_url):
    first = await gateway(db_url, webchat_rate_per_minute=3)
    second = await gateway(db_url, webchat_rate_per_minute=3)
    try:
        statuses = []
        for i, client in enumerate([first, second, first, second, first]):
            resp = await client.post("/webchat/messages", json={"sender": web_id(f"s{i}"), "message": "xin chào"})
            statuses.append(resp.status)
            if resp.status == 429:
                assert await resp.json() == [{"text": messages.TOO_FAST}]
        # New senders do not help: the address is what is counted, across both gateways.
        assert statuses == [200, 200, 200, 429, 429]
    finally:
        await first.close()
        await second.close()
    assert await stored(db_url) == 3  # a refused message is not stored (the citizen is told to wait)


@pytest.mark.parametrize("proxies", [("127.0.0.1",), ("10.244.0.0/16", "127.0.0.0/8")], ids=["address", "range"])
async def test_the_client_address_comes_from_the_trusted_proxy_only(db_url, proxies):
    # Behind our proxy (127.0.0.1 here, named or in a range such as an ingress controller's pods'),
    # X-Forwarded-For names the client: two clients, two budgets.
    proxied = await gateway(db_url, webchat_rate_per_minute=1, trusted_proxies=proxies)
    try:
        for client_ip in ("203.0.113.5", "203.0.113.6"):
            resp = await proxied.post("/webchat/messages", json={"sender": web_id("p"), "message": "chào"},
                                      headers={"X-Forwarded-For": f"10.9.9.9, {client_ip}"})
            assert resp.status == 200
        resp = await proxied.post("/webchat/messages", json={"sender": web_id("p"), "message": "chào"},
                                  headers={"X-Forwarded-For": "203.0.113.5"})
        assert resp.status == 429
    finally:
        await proxied.close()
    # Without a trusted proxy the header is anyone's to forge: it is ignored, the peer is counted.
    direct = await gateway(db_url, webchat_rate_per_minute=1)
    try:
        first = await direct.post("/webchat/messages", json={"sender": web_id("d"), "message": "chào"},
                                  headers={"X-Forwarded-For": "198.51.100.1"})
        forged = await direct.post("/webchat/messages", json={"sender": web_id("d"), "message": "chào"},
                                   headers={"X-Forwarded-For": "198.51.100.2"})
        assert (first.status, forged.status) == (200, 429)
    finally:
        await direct.close()


def test_the_limits_are_read_from_the_environment():
    from motcua.settings import Settings

    s = Settings.from_env({"WEBCHAT_RATE_PER_MINUTE": "12", "TRUSTED_PROXIES": "10.0.0.1, 10.0.0.2"})
    assert s.webchat_rate_per_minute == 12 and s.trusted_proxies == ("10.0.0.1", "10.0.0.2")
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        Settings.from_env({"TRUSTED_PROXIES": "ingress-nginx"})
    assert Settings.from_env({}).webchat_rate_per_minute == 30 and Settings.from_env({}).webchat_max_body == 16384
