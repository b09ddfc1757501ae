"""Sent once, in the store (SQLite and PostgreSQL): receipts of what the platform accepted, the
outbox's claims, and messages in flight handed back to the outbox when their gateway died."""
import asyncio
from datetime import datetime, timedelta, timezone

from sqlalchemy import event, select, update

from motcua.store import Database, receipt_writer
from motcua.store import outbox as store
from motcua.store.conversations import record_message, record_replies, stored_replies
from motcua.store.deliveries import Receipt, mark_relayed, pushed_for, record, relayed
from motcua.store.inbox import beat
from motcua.store.models import GatewayHeartbeat, Message
from motcua.store.receipt_writer import ReceiptWriter


async def _db(url: str) -> Database:
    db = Database(url)
    await db.migrate()
    return db


async def _message(db: Database, message_id: int) -> Message:
    async with db.session() as s:
        return await s.get(Message, message_id)


async def test_receipts_record_each_part_then_the_whole_message(db_url):
    db = await _db(db_url)
    try:
        async with db.session() as s, s.begin():
            incoming = await record_message(s, "telegram", "1", "in", "xin chào", inbox_id=41)
            first, second = await record_replies(s, "telegram", "1", [("1/2", None), ("2/2 dài", [{"title": "Có",
                                                                                               "payload": "/affirm"}])])
        async with db.session() as s, s.begin():
            await record(s, [Receipt(first, ("1001",), True), Receipt(second, ("1002",), False)])
        m1, m2 = await _message(db, first), await _message(db, second)
        assert (m1.platform_ids, m1.delivered_at is not None) == ("1001", True)
        assert (m2.platform_ids, m2.delivered_at) == ("1002", None)  # one part of two taken
        async with db.session() as s, s.begin():
            await record(s, [Receipt(second, ("1002", "1003"), True)])
        assert (await _message(db, second)).platform_ids == "1002 1003"
        async with db.session() as s:
            replies = await stored_replies(s, 41)
            assert [(m.id, m.text, m.buttons) for m in replies] == [
                (first, "1/2", None), (second, "2/2 dài", [{"title": "Có", "payload": "/affirm"}])]
            assert not await relayed(s, 41)
        async with db.session() as s, s.begin():
            await mark_relayed(s, 41)
        async with db.session() as s:
            assert await relayed(s, 41) and (await s.get(Message, incoming)).direction == "in"
    finally:
        await db.dispose()


async def test_an_officials_update_pushes_its_message_once(db_url):
    db = await _db(db_url)
    try:
        async with db.session() as s, s.begin():
            assert not await pushed_for(s, 77)
            assert await record_message(s, "telegram", "2", "out", "Phản hồi", push=True, inbox_id=77) is not None
        async with db.session() as s, s.begin():
            assert await pushed_for(s, 77)
            assert await record_message(s, "telegram", "2", "out", "Phản hồi", push=True, inbox_id=77) is None
    finally:
        await db.dispose()


async def test_the_outbox_claims_once_and_records_what_was_sent(db_url):
    db = await _db(db_url)
    try:
        async with db.session() as s, s.begin():
            mid = await record_message(s, "zalo", "3", "out", "dài", push=True, claimed_by="gw1")
            await store.mark_for_retry(s, [mid])
        async with db.session() as s:
            (row,) = await store.waiting(s, 10)
        assert (row.id, row.channel, row.chat_id, row.platform_ids) == (mid, "zalo", "3", ())
        async with db.session() as s, s.begin():
            assert await store.claim(s, mid, "gw2")
            assert not await store.claim(s, mid, "gw1")  # one gateway sends it
        async with db.session() as s, s.begin():
            assert await store.record_sent(s, Receipt(mid, ("m1",), False), "gw2")
            assert not await store.record_sent(s, Receipt(mid, ("x",), False), "gw1")  # not its claim
            assert await store.release(s, mid, "gw2")  # the second part refused: back to the outbox
        async with db.session() as s:
            (row,) = await store.waiting(s, 10)
        assert row.platform_ids == ("m1",)  # the next pass sends only the rest
        async with db.session() as s, s.begin():
            assert await store.claim(s, mid, "gw1")
            assert await store.record_sent(s, Receipt(mid, ("m1", "m2"), True), "gw1")
        m = await _message(db, mid)
        assert (m.delivery, m.platform_ids, m.delivered_at is not None) == ("sent", "m1 m2", True)
        async with db.session() as s:
            assert await store.waiting(s, 10) == []
    finally:
        await db.dispose()


async def test_messages_in_flight_go_back_to_the_outbox_when_their_gateway_died(db_url):
    db = await _db(db_url)
    try:
        async with db.session() as s, s.begin():
            mine = await record_message(s, "telegram", "4", "out", "của tôi", push=True, claimed_by="gw1")
            done = await record_message(s, "telegram", "4", "out", "đã gửi", push=True, claimed_by="gw1")
            alive = await record_message(s, "telegram", "5", "out", "gw2 đang gửi", push=True, claimed_by="gw2")
            silent = await record_message(s, "telegram", "6", "out", "gw3 đã chết", push=True, claimed_by="gw3")
            claimed = await record_message(s, "telegram", "7", "out", "gw3 giữ", push=True, claimed_by="gw1")
            reply = await record_message(s, "telegram", "8", "out", "trả lời một lượt")  # the inbox's
            web = await record_message(s, "web", "9", "out", "trang web tự lấy", push=True)
            await record(s, [Receipt(done, ("1",), True)])
            await store.mark_for_retry(s, [claimed])
            assert await store.claim(s, claimed, "gw3")
            await beat(s, "gw2")
            await beat(s, "gw3")
            await s.execute(update(GatewayHeartbeat).where(GatewayHeartbeat.gateway_id == "gw3")
                            .values(last_seen=datetime.now(timezone.utc) - timedelta(minutes=5)))
        # At gw1's start: its own, only.
        async with db.session() as s, s.begin():
            assert await store.reclaim(s, "gw1") == 1
        # gw1's pass: gw3 stopped beating, gw2 did not.
        async with db.session() as s, s.begin():
            assert await store.reclaim(s, "gw1", timedelta(seconds=60)) == 2
            assert await store.reclaim(s, "gw1", timedelta(seconds=60)) == 0
        async with db.session() as s:
            delivery = dict((await s.execute(select(Message.id, Message.delivery))).all())
        assert delivery[mine] == delivery[silent] == delivery[claimed] == "retry"
        assert delivery[done] is delivery[alive] is delivery[reply] is delivery[web] is None
    finally:
        await db.dispose()


async def test_outbox_messages_stuck_sending_before_0014_go_back_to_the_outbox(db_url):
    """A gateway of before migration 0014 claimed outbox messages without naming itself; those it
    was sending when it stopped are handed back to the outbox by 0016, and nothing else is."""
    db = Database(db_url)
    try:
        await db.migrate("0015")
        async with db.session() as s, s.begin():
            stuck = await record_message(s, "telegram", "1", "out", "Phản ánh PA-2026-000001 đã có trả lời",
                                         push=True, delivery="sending")
            claimed = await record_message(s, "telegram", "2", "out", "b", push=True, delivery="sending",
                                           claimed_by="gw-live")
            sent = await record_message(s, "telegram", "3", "out", "c", push=True, delivery="sent")
        await db.migrate()
        assert [(await _message(db, m)).delivery for m in (stuck, claimed, sent)] == ["retry", "sending", "sent"]
        async with db.session() as s:
            assert [w.id for w in await store.waiting(s, 10)] == [stuck]
    finally:
        await db.dispose()


# --- the receipt writer (motcua/store/receipt_writer.py): the fast way to write them ---------

async def test_the_receipt_writer_commits_each_receipt_before_it_returns(db):
    async with db.session() as s, s.begin():
        first, second = await record_replies(s, "zalo", "z1", [("một", None), ("hai", None)])
    writer = ReceiptWriter(db)
    await writer.open()
    try:
        await writer.write([Receipt(first, ("7",), True), Receipt(second, ("8",), False)])
        m1, m2 = await _message(db, first), await _message(db, second)  # read on another connection
        assert (m1.platform_ids, m1.delivered_at is not None) == ("7", True)
        assert (m2.platform_ids, m2.delivered_at) == ("8", None)
        await writer.write([Receipt(second, ("8", "9"), True)])
        assert (await _message(db, second)).platform_ids == "8 9"
        assert (await _message(db, second)).delivered_at is not None
    finally:
        await writer.close()


async def _holding_the_write_lock(db: Database):
    """A transaction of the store's own that has written and not committed: SQLite's file lock."""
    conn = await db.engine.connect()
    transaction = await conn.begin()
    await record_message(conn, "telegram", "9", "in", "đang ghi")
    return conn, transaction


async def test_on_sqlite_receipts_that_find_the_file_locked_go_in_one_transaction_once_it_is_free(sqlite_url):
    db = Database(sqlite_url)
    async with db.session() as s, s.begin():
        ids = await record_replies(s, "telegram", "1", [(f"trả lời {i}", None) for i in range(5)])
    writer = ReceiptWriter(db)
    await writer.open()
    commits = []
    event.listen(writer._sqlite.engine, "commit", lambda conn: commits.append(1))
    conn, transaction = await _holding_the_write_lock(db)
    try:
        writes = [asyncio.ensure_future(writer.write([Receipt(i, (str(i),), True)])) for i in ids]
        await asyncio.sleep(0.1)
        assert not any(w.done() for w in writes)  # waiting, not failed
        await transaction.commit()
        await asyncio.wait_for(asyncio.gather(*writes), 1)
        assert commits == [1]  # the five in one transaction, once the holder committed
        assert [(await _message(db, i)).platform_ids for i in ids] == [str(i) for i in ids]
    finally:
        await conn.close()
        await writer.close()
        await db.dispose()


async def test_on_sqlite_a_receipt_locked_out_longer_than_its_patience_waits_in_an_ordinary_transaction(
        sqlite_url, monkeypatch):
    monkeypatch.setattr(receipt_writer, "LOCKED_PATIENCE_SECONDS", 0.05)
    db = Database(sqlite_url)
    async with db.session() as s, s.begin():
        (message_id,) = await record_replies(s, "telegram", "1", [("trả lời", None)])
    writer = ReceiptWriter(db)
    conn, transaction = await _holding_the_write_lock(db)
    try:
        write = asyncio.ensure_future(writer.write([Receipt(message_id, ("42",), True)]))
        await asyncio.sleep(0.3)  # past its patience: now in SQLite's busy wait, in aiosqlite's thread
        assert not write.done()
        await transaction.commit()
        await asyncio.wait_for(write, 5)
        assert (await _message(db, message_id)).platform_ids == "42"
    finally:
        await conn.close()
        await writer.close()
        await db.dispose()
